import CandorModel
import CandorTensor
import CandorTestSupport
import Foundation
import Testing

@testable import CandorExplain

/// The TCAV golden (`Tests/Fixtures/analyses/tcav.json`, written by
/// `scripts/fixtures/make_concept_fixtures.py`): images described by a few numbers and
/// rendered here as the script renders them, Captum's results over seeds and the exact-SVM
/// results.
struct ConceptGolden {
    let golden: [String: Any]

    init() throws {
        golden = try #require(try Fixtures.json("analyses/tcav.json") as? [String: Any])
    }

    var images: [String: Any] { golden["images"] as? [String: Any] ?? [:] }
    var cases: [[String: Any]] { golden["cases"] as? [[String: Any]] ?? [] }

    /// Images [N, 3, 32, 32] from their descriptions [shape, cx, cy, s, background rgb, colour
    /// rgb]: train_image_demo_model.py's `render` without noise.
    static func render(_ descriptions: [[Double]]) throws -> Tensor {
        var scalars: [Float] = []
        for description in descriptions {
            let (shape, cx, cy, side) = (Int(description[0]), description[1], description[2], description[3])
            var plane = [Bool](repeating: false, count: 32 * 32)
            for row in 0..<32 {
                for column in 0..<32 {
                    let (x, y) = (Double(column) + 0.5, Double(row) + 0.5)
                    switch shape {
                    case 0: plane[row * 32 + column] = (x - cx) * (x - cx) + (y - cy) * (y - cy) <= (side / 2) * (side / 2)
                    case 1: plane[row * 32 + column] = abs(x - cx) <= side / 2 && abs(y - cy) <= side / 2
                    default:
                        let top = cy - side / 2
                        plane[row * 32 + column] = y >= top && y <= top + side && abs(x - cx) <= (y - top) / 2
                    }
                }
            }
            for channel in 0..<3 {
                scalars += plane.map { Float($0 ? description[7 + channel] : description[4 + channel]) }
            }
        }
        return try Tensor(shape: [descriptions.count, 3, 32, 32], scalars: scalars)
    }

    func tensor(_ key: String) throws -> Tensor {
        try Self.render(try #require(images[key] as? [[Double]]))
    }

    /// The request's concepts as JSON instance arrays.
    func concepts() throws -> JSONValue {
        let byName = try #require(images["concepts"] as? [String: [[Double]]])
        var result: [String: JSONValue] = [:]
        for (name, descriptions) in byName { result[name] = TensorJSON.value(of: try Self.render(descriptions)) }
        return .object(result)
    }
}

/// `tcav`: concept activation vectors, their sensitivities and the t-test.
@Suite struct TCAVTests {
    let model: ONNXModel
    let golden: ConceptGolden
    let inputs: Tensor
    let random: Tensor

    init() throws {
        model = try AnalysisRun.repositoryModel("models/shapes_cnn.onnx")
        golden = try ConceptGolden()
        inputs = try golden.tensor("inputs")
        random = try golden.tensor("random")
    }

    func parameters(layer: String, classifier: String, seed: Int = 0) throws -> [String: JSONValue] {
        [
            "concepts": try golden.concepts(), "random": TensorJSON.value(of: random), "n_random": 5, "random_set_size": 20,
            "layer": .string(layer), "classifier": .string(classifier), "seed": .number(Double(seed)),
        ]
    }

    func concepts(_ result: JSONValue) -> [String: [String: JSONValue]] {
        guard case .array(let items)? = result.objectValue?["concepts"] else { return [:] }
        var byName: [String: [String: JSONValue]] = [:]
        for item in items.compactMap(\.objectValue) {
            if case .string(let name)? = item["concept"] { byName[name] = item }
        }
        return byName
    }

    /// The test renders the script's images exactly (pixel sums to float32 rounding).
    @Test func theImagesAreTheScriptsImages() throws {
        let checksums = try #require(golden.golden["checksums"] as? [String: [Double]])
        for (key, tensor) in [("inputs", inputs), ("random", random)] {
            let sums = (0..<tensor.shape[0]).map { row in tensor.scalars[(row * 3072)..<((row + 1) * 3072)].reduce(0.0) { $0 + Double($1) }
            }
            for (sum, expected) in zip(sums, checksums[key] ?? []) { #expect(abs(sum - expected) < 1e-3, "\(key)") }
        }
    }

    /// Without the shuffle, the SGD is scikit-learn's SGDClassifier step for step.
    @Test func theSGDClassifierIsScikitLearnsStepForStep() throws {
        let check = try #require(golden.golden["sgd_check"] as? [String: Any])
        let rows = try #require(check["x"] as? [[Double]])
        let labels = try #require(check["y"] as? [Double])
        let coefficients = try #require(check["coef"] as? [Double])
        var random = SeededRandom(seed: 0)
        let sgd = try HingeSGD(
            features: rows.flatMap { $0.map(Float.init) }, width: rows[0].count, rows: Array(rows.indices), labels: labels, alpha: 0.01,
            random: &random, shuffles: false, checkCancellation: {})
        #expect(sgd.epochs == check["n_iter"] as? Int)
        for (value, expected) in zip(sgd.weights, coefficients) { #expect(abs(value - expected) <= 1e-5 * Swift.max(1, abs(expected))) }
        #expect(abs(sgd.intercept - (check["intercept"] as? Double ?? .nan)) < 1e-5)
    }

    /// With `classifier: "svm"`, the CAVs are LIBSVM's (scikit-learn's SVC with C = 1/(αn)):
    /// the same scores, magnitudes and p-values as the script computes with them.
    @Test func theSVMClassifierReproducesLIBSVMsCAVs() throws {
        for golden in golden.cases {
            let layer = try #require(golden["layer"] as? String)
            let exact = try #require(golden["exact"] as? [String: [String: Any]])
            let problem = AnalysisProblem(model: model, rows: [inputs], output: 0, target: 0)
            let (result, _, progress) = try AnalysisTesting.run("tcav", try parameters(layer: layer, classifier: "svm"), problem: problem)
            #expect(progress.done == progress.total)
            #expect(progress.total == 60 + 100 + 24 + 3 * 5)
            let actual = concepts(result)
            for (name, expected) in exact {
                let concept = try #require(actual[name], "\(name)")
                let scores = AnalysisTesting.numbers(concept["scores"])
                for (value, reference) in zip(scores, expected["scores"] as? [Double] ?? []) {
                    #expect(abs(value - reference) <= 1.0 / 24 + 1e-9, "\(layer) \(name) scores \(scores)")
                }
                for (value, reference) in zip(AnalysisTesting.numbers(concept["magnitudes"]), expected["magnitudes"] as? [Double] ?? []) {
                    // Magnitudes lie in [−1, 1]; the CAV is solved from activations whose last
                    // bits depend on the matrix-product kernel OpenBLAS picks for the CPU.
                    #expect(abs(value - reference) <= 1e-3 * abs(reference) + 2e-4, "\(layer) \(name) magnitude")
                }
                if let p = expected["p_value"] as? Double, let value = concept["p_value"]?.doubleValue,
                    scores == expected["scores"] as? [Double]
                {
                    #expect(abs(value - p) <= 1e-6 * Swift.max(p, 1e-12) + 1e-12, "\(layer) \(name) p")
                }
            }
        }
    }

    /// With Captum's classifier (the default), Candor's results over seeds are distributed as
    /// Captum's over its 50 seeds: per layer and concept, the TCAV scores and magnitudes of 6
    /// seeds pass a Mann–Whitney rank test against Captum's (|z| < 3; the magnitudes are
    /// heavy-tailed, even bimodal, as SGD stops at different epochs), and every seed lies within
    /// Captum's range widened by half its width on each side.
    @Test func theSGDScoresFollowCaptumsDistributionOverSeeds() throws {
        for golden in golden.cases {
            let layer = try #require(golden["layer"] as? String)
            let captum = try #require(golden["captum"] as? [String: [String: [String: Any]]])
            let problem = AnalysisProblem(model: model, rows: [inputs], output: 0, target: 0)
            var values: [String: [String: [Double]]] = [:]
            for seed in 0..<6 {
                let parameters = try parameters(layer: layer, classifier: "sgd", seed: seed)
                for (name, concept) in concepts(try AnalysisTesting.run("tcav", parameters, problem: problem).result) {
                    for key in ["tcav_score", "magnitude"] {
                        values[name, default: [:]][key, default: []].append(try #require(concept[key]?.doubleValue))
                    }
                }
            }
            for (name, byKey) in values {
                for (key, samples) in byKey {
                    let reference = try #require(captum[name]?[key])
                    let perSeed = (reference["per_seed"] as? [Double]) ?? []
                    let (low, high) = (perSeed.min() ?? 0, perSeed.max() ?? 0)
                    let z = Self.rankStatistic(samples, perSeed)
                    let label = "\(layer) \(name) \(key): Candor \(samples), Captum in [\(low), \(high)], z = \(z)"
                    #expect(abs(z) < 3, "\(label)")
                    for sample in samples { #expect(sample >= low - (high - low) / 2 && sample <= high + (high - low) / 2, "\(label)") }
                }
            }
        }
    }

    /// The Mann–Whitney statistic of `first` against `second` as a z-score (ties counted half,
    /// without the tie correction of the variance, which makes it conservative).
    static func rankStatistic(_ first: [Double], _ second: [Double]) -> Double {
        let u = first.reduce(0.0) { sum, value in sum + second.reduce(0.0) { $0 + ($1 < value ? 1 : $1 == value ? 0.5 : 0) } }
        let (n1, n2) = (Double(first.count), Double(second.count))
        return (u - n1 * n2 / 2) / (n1 * n2 * (n1 + n2 + 1) / 12).squareRoot()
    }

    /// A concept whose activations differ from the random ones along the layer's gradient scores
    /// 1 (every sensitivity positive; p = 0 against the random sets' 0), and against it 0.
    @Test func aConceptAlongTheGradientScoresOne() throws {
        let linear = try ONNXModelLoader.load(try GraphFactory.linearModel(weights: [[1, 0], [0, 1], [0, 0]], bias: [0, 0]))
        var random = SeededRandom(seed: 3)
        func rows(_ count: Int, first: ClosedRange<Double>) -> JSONValue {
            .array(
                (0..<count).map { _ in
                    .array([
                        .number(first.lowerBound + random.uniform() * (first.upperBound - first.lowerBound)),
                        .number(random.uniform() * 4 - 2),
                        .number(random.uniform()),
                    ])
                })
        }
        let data = try AnalysisRun.rows(12, features: 3, values: [-1, 0, 1])
        let problem = AnalysisProblem(model: linear, rows: [data], output: 0, target: 0)
        for classifier in ["sgd", "svm"] {
            let (result, _, _) = try AnalysisTesting.run(
                "tcav",
                [
                    "concepts": .object(["high": rows(10, first: 2...3), "low": rows(10, first: -6 ... -5)]),
                    "random": rows(40, first: -2...1), "n_random": 4, "layer": "xw", "classifier": .string(classifier),
                ], problem: problem)
            let byName = concepts(result)
            #expect(byName["high"]?["tcav_score"] == 1 && byName["high"]?["significant"] == true && byName["high"]?["p_value"] == 0)
            #expect(byName["low"]?["tcav_score"] == 0 && byName["low"]?["significant"] == true)
            #expect(AnalysisTesting.numbers(byName["high"]?["random_scores"]) == [0, 0, 0, 0])
            #expect(result.objectValue?["layer"] == "xw" && result.objectValue?["target"] == 0)
        }
    }

    @Test func theSameSeedGivesTheSameResult() throws {
        let problem = AnalysisProblem(model: model, rows: [inputs.rows(0..<8)], output: 0, target: 0)
        var parameters = try parameters(layer: "/net/net.8/Conv_output_0", classifier: "sgd", seed: 5)
        parameters["random"] = nil
        parameters["random_set_size"] = 3
        parameters["n_random"] = 2
        let first = try AnalysisTesting.run("tcav", parameters, problem: problem).result
        let second = try AnalysisTesting.run("tcav", parameters, problem: problem).result
        #expect(first == second)
    }

    /// Student's t-test is SciPy's `ttest_ind` (values from SciPy 1.x).
    @Test func theTTestIsSciPys() {
        let cases: [([Double], [Double], Double)] = [
            ([1, 2, 3, 4], [2, 4, 6, 8.5], 0.13759737553385215),
            ([0.9, 0.95, 1.0], [0.1, 0.05, 0.0, 0.2], 2.0933012778765616e-05),
            ([0.5, 0.6, 0.55, 0.52, 0.58], [0.5, 0.4, 0.45, 0.48, 0.42], 0.0049836561324690725),
        ]
        for (first, second, expected) in cases {
            let p = StudentTTest.pValue(first, second) ?? .nan
            #expect(abs(p - expected) <= 1e-10 * expected + 1e-15, "\(p) vs \(expected)")
        }
        #expect(StudentTTest.pValue([1, 1], [0, 0]) == 0)
        #expect(StudentTTest.pValue([1, 1], [1, 1]) == 1)
        #expect(StudentTTest.pValue([1], [0, 0]) == nil)
    }

    @Test(
        arguments: [
            (["concepts": .object(["a": .array([])])], "concept 'a'"),
            (["n_random": 1], "'n_random'"),
            (["layer": "no_such_tensor"], "no_such_tensor"),
            (["random": .array([.array([1, 2])])], "'random'"),
            (["random_set_size": 1000], "random_set_size"),
            (["classifier": "lda"], "'classifier'"),
        ] as [([String: JSONValue], String)])
    func badParametersAreRefusedByName(_ overrides: [String: JSONValue], _ named: String) throws {
        let problem = AnalysisProblem(model: model, rows: [inputs], output: 0, target: 0)
        var parameters = try parameters(layer: "/net/net.8/Conv_output_0", classifier: "sgd")
        parameters["random"] = nil
        parameters["random_set_size"] = nil
        for (key, value) in overrides { parameters[key] = value }
        let error = try #require(AnalysisRun.error { _ = try TCAV().prepare(parameters, for: problem) })
        #expect(error.code == .invalidParameter)
        #expect(error.message.contains(named), "\(error.message)")
    }

    @Test func missingConceptsAndAnUnspecifiedTargetAreRefused() throws {
        let problem = AnalysisProblem(model: model, rows: [inputs], output: 0, target: 0)
        #expect(AnalysisRun.error { _ = try TCAV().prepare([:], for: problem) }?.message.contains("'concepts'") == true)
        var parameters = try parameters(layer: "/net/net.8/Conv_output_0", classifier: "sgd")
        let untargeted = AnalysisProblem(model: model, rows: [inputs], output: 0)
        #expect(AnalysisRun.error { _ = try TCAV().prepare(parameters, for: untargeted) }?.code == .invalidTarget)
        // The default layer is the last convolution's output.
        parameters["layer"] = nil
        let plan = try TCAV().prepare(parameters, for: problem)
        #expect(plan.effectiveParameters["layer"] == "/net/net.8/Conv_output_0")
    }
}
