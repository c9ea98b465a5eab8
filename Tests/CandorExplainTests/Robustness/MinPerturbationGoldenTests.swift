import CandorModel
import CandorTensor
import CandorTestSupport
import Foundation
import Testing

@testable import CandorExplain

/// One case of `golden/min_perturbation.json` (`scripts/fixtures/make_min_perturbation_fixtures.py`):
/// Captum 0.9 `MinParamPerturbation` with the perturbations written in SciPy/numpy, on a
/// demo model and one instance.
struct MinPerturbationCase: CustomTestStringConvertible, Sendable {
    let name: String
    let model: String
    let instance: Int
    let parameters: [String: JSONValue]
    let target: Int
    let found: Bool
    let minParam: Double?
    /// Every amount Captum evaluated, in order, and whether it flipped.
    let trace: [(amount: Double, flipped: Bool)]
    let perturbedOutput: [Float]
    let perturbedPrediction: Int?
    let perturbed: [Float]?
    let perturbedSummary: [Double]?
    let position: [Int]?
    let feature: Int?
    let sign: Int?

    var testDescription: String { name }

    static func golden() throws -> [String: Any] {
        try #require(try Fixtures.json("golden/min_perturbation.json") as? [String: Any])
    }

    /// The numbers that must be exact (the searched amounts, min_param, the noise draws), read
    /// with `JSONDecoder`: Foundation's `JSONSerialization` rounds some decimals to a
    /// neighbouring double (0.060000000000000005 reads as 0.06000000000000002).
    struct Exact: Decodable {
        struct Step: Decodable {
            let param: Double
            let flipped: Bool
        }
        struct Case: Decodable {
            let params: [String: JSONValue]
            let minParam: Double?
            let trace: [Step]
            enum CodingKeys: String, CodingKey {
                case params, trace
                case minParam = "min_param"
            }
        }
        struct Transforms: Decodable {
            let noise: [Double]
            enum CodingKeys: String, CodingKey { case noise = "noise_seed_5" }
        }
        let cases: [Case]
        let transforms: Transforms

        static func load() throws -> Exact {
            try JSONDecoder().decode(Exact.self, from: Data(contentsOf: Fixtures.url("golden/min_perturbation.json")))
        }
    }

    static func all() throws -> [MinPerturbationCase] {
        let exact = try Exact.load().cases
        return try (try golden()["cases"] as? [[String: Any]] ?? []).enumerated().map { index, entry in
            let precise = try #require(index < exact.count ? exact[index] : nil)
            return MinPerturbationCase(
                name: entry["name"] as? String ?? "", model: entry["model"] as? String ?? "", instance: entry["instance"] as? Int ?? -1,
                parameters: precise.params, target: entry["target"] as? Int ?? -1, found: entry["found"] as? Bool ?? false,
                minParam: precise.minParam, trace: precise.trace.map { ($0.param, $0.flipped) },
                perturbedOutput: jsonNumbers(entry["perturbed_output"] as Any).map(Float.init),
                perturbedPrediction: entry["perturbed_prediction"] as? Int,
                perturbed: (entry["perturbed"] as? [Any]).map { jsonNumbers($0).map(Float.init) },
                perturbedSummary: (entry["perturbed_summary"] as? [Any]).map(jsonNumbers),
                position: entry["position"] as? [Int], feature: entry["feature"] as? Int, sign: entry["sign"] as? Int)
        }
    }

    /// Σx, Σx² and Σ(i+1)·x/n in double, as the script fingerprints a picture.
    static func summary(_ values: [Float]) -> [Double] {
        let doubles = values.map(Double.init)
        let weighted = doubles.enumerated().reduce(0.0) { $0 + Double($1.offset + 1) * $1.element }
        return [doubles.reduce(0, +), doubles.reduce(0) { $0 + $1 * $1 }, weighted / Double(max(doubles.count, 1))]
    }
}

@Suite struct MinPerturbationGoldenTests {
    static let cases = (try? MinPerturbationCase.all()) ?? []

    /// The demo model of a case with the instance it explains (and the sidecar's statistics).
    static func problem(_ golden: MinPerturbationCase) throws -> ExplanationProblem {
        let json = try MinPerturbationCase.golden()
        let isImage = golden.model == "shapes_cnn"
        let rows = try tensor(fromJSON: json[isImage ? "images" : "tables"] as Any)
        let indices = try #require(json[isImage ? "image_indices" : "table_indices"] as? [Int])
        let row = try #require(indices.firstIndex(of: golden.instance))
        let model = try ONNXModelLoader.load(contentsOf: Fixtures.repository.appendingPathComponent("models/\(golden.model).onnx"))
        let dataset = DatasetSummary(statistics: TrainingStatistics(std: jsonNumbers(json["std"] as Any)))
        return ExplanationProblem(model: model, inputs: [rows.rows(row..<row + 1)], output: 0, targets: nil, dataset: dataset)
    }

    @Test func theGoldenCoversEveryPerturbationInBothModes() {
        let covered = Set(Self.cases.map { "\($0.parameters["perturbation"]?.text ?? "") \($0.parameters["mode"]?.text ?? "")" })
        for kind in PerturbationKind.allCases {
            #expect(covered.contains("\(kind.rawValue) linear") && covered.contains("\(kind.rawValue) binary"), "\(kind.rawValue)")
        }
        #expect(Self.cases.contains { !$0.found })
        #expect(Self.cases.contains { $0.parameters["desired_class"] != nil })
    }

    /// min_param exactly (a grid value, the same doubles), the flipping copy and its output to
    /// float32 tolerance.
    @Test(arguments: cases)
    func matchesCaptum(_ golden: MinPerturbationCase) throws {
        let problem = try Self.problem(golden)
        let plan = try MinPerturbation().prepare(golden.parameters, for: problem)
        let explanation = try #require(try ExplanationRunner.run(plan, problem: problem, context: ExplanationContext()).first)
        #expect(explanation.target == golden.target)
        let extras = explanation.attribution.extras
        #expect(extras["found"] == .bool(golden.found))
        #expect(extras["min_param"]?.doubleValue == golden.minParam, "min_param \(String(describing: extras["min_param"]))")
        guard golden.found else {
            #expect(extras["perturbed"] == nil)
            #expect(explanation.attribution.attributions[0].scalars.allSatisfy { $0 == 0 })
            return
        }
        #expect(extras["perturbed_prediction"]?.doubleValue == golden.perturbedPrediction.map(Double.init))
        let output = try TensorJSON.tensor(from: try #require(extras["perturbed_output"]), name: "perturbed_output")
        #expect(isClose(output.scalars, golden.perturbedOutput), "\(output.scalars) vs \(golden.perturbedOutput)")
        let perturbed = try TensorJSON.tensor(from: try #require(extras["perturbed"]), name: "perturbed")
        #expect(perturbed.shape == Array(problem.inputs[0].shape.dropFirst()))
        if let expected = golden.perturbed {
            #expect(maxAbsoluteDifference(perturbed.scalars, expected) <= 2e-6)
        }
        if let expected = golden.perturbedSummary {
            let actual = MinPerturbationCase.summary(perturbed.scalars)
            for (a, e) in zip(actual, expected) { #expect(abs(a - e) <= 1e-3 + 1e-6 * abs(e), "summary \(actual) vs \(expected)") }
        }
        // The attributions are the change the perturbation made.
        let change = zip(perturbed.scalars, problem.inputs[0].scalars).map { $0 - $1 }
        #expect(maxAbsoluteDifference(explanation.attribution.attributions[0].scalars, change) <= 1e-6)
        if let position = golden.position {
            #expect(extras["position"] == .array(position.map { .number(Double($0)) }))
        }
        if let feature = golden.feature {
            #expect(extras["feature"]?.doubleValue == Double(feature))
            #expect(extras["sign"]?.doubleValue == golden.sign.map(Double.init))
        }
    }

    /// The search alone: fed Captum's decisions, it evaluates the same amounts in the same order.
    @Test(arguments: cases)
    func evaluatesTheAmountsCaptumEvaluates(_ golden: MinPerturbationCase) throws {
        let lower = try #require(golden.parameters["arg_min"]?.doubleValue)
        let upper = try #require(golden.parameters["arg_max"]?.doubleValue)
        let step = try #require(golden.parameters["arg_step"]?.doubleValue)
        if golden.parameters["mode"]?.text == "binary" {
            var search = ParameterSearch.Binary(from: lower, to: upper, step: step)
            var amounts: [Double] = []
            while let amount = search.next(), amounts.count < golden.trace.count + 5 {
                amounts.append(amount)
                search.record(flipped: golden.trace.first { $0.amount == amount }?.flipped ?? false)
            }
            #expect(amounts == golden.trace.map(\.amount))
            #expect(search.best == golden.minParam)
        } else {
            let grid = try #require(ParameterSearch.linearGrid(from: lower, to: upper, step: step))
            #expect(Array(grid.prefix(golden.trace.count)) == golden.trace.map(\.amount))
            #expect(golden.found || grid.count == golden.trace.count)
        }
    }

    /// The perturbations alone, on a small 2×5×7 image, against scipy.ndimage and numpy.
    @Test func perturbationsMatchSciPy() throws {
        let transforms = try #require(try MinPerturbationCase.golden()["transforms"] as? [String: Any])
        let image = try tensor(fromJSON: transforms["image"] as Any)
        let cases = try #require(transforms["cases"] as? [[String: Any]])
        #expect(cases.count >= 20)
        for entry in cases {
            let name = try #require(entry["perturbation"] as? String)
            let amount = try #require((entry["param"] as? NSNumber)?.doubleValue)
            let parameters = entry["params"] as? [String: Any] ?? [:]
            var perturbation = Perturbation(kind: try #require(PerturbationKind(rawValue: name)), shape: image.shape)
            perturbation.fill = Float((parameters["baselines"] as? NSNumber)?.doubleValue ?? 0)
            perturbation.sign = parameters["direction"] as? String == "negative" ? -1 : 1
            perturbation.axis = TranslationAxis(rawValue: parameters["axis"] as? String ?? "both") ?? .both
            perturbation.seed = UInt64((parameters["seed"] as? Int) ?? 0)
            let actual = perturbation.perturbed(perturbation.instance(image.scalars), copy: 0, at: amount)
            let expected = jsonNumbers(entry["perturbed"] as Any).map(Float.init)
            #expect(maxAbsoluteDifference(actual, expected) <= 1e-6, "\(name) \(amount): \(maxAbsoluteDifference(actual, expected))")
        }
        let noise = Perturbation(kind: .gaussianNoise, shape: [6], seed: 5).instance([Float](repeating: 0, count: 6)).noise
        #expect(noise == (try MinPerturbationCase.Exact.load().transforms.noise))
    }
}

extension JSONValue {
    /// The string of a `.string`, else nil.
    fileprivate var text: String? {
        if case .string(let string) = self { return string }
        return nil
    }
}
