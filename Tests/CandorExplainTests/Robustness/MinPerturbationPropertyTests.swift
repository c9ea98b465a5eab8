import CandorModel
import CandorTensor
import CandorTestSupport
import Foundation
import Testing

@testable import CandorExplain

/// Properties of `min_perturbation` that hold whatever the model: the perturbations' own
/// geometry, the search's reports, and the limits on what a client may ask.
@Suite struct MinPerturbationPropertyTests {
    static func image(_ shape: [Int], seed: UInt64) -> [Float] {
        var random = SeededRandom(seed: seed)
        return (0..<shape.reduce(1, *)).map { _ in Float(random.uniform()) }
    }

    static func run(
        _ parameters: [String: JSONValue], model: any PredictiveModel, inputs: Tensor, dataset: DatasetSummary = .none,
        context: ExplanationContext = ExplanationContext()
    ) throws -> [InstanceExplanation] {
        let problem = ExplanationProblem(model: model, inputs: [inputs], output: 0, targets: nil, dataset: dataset)
        return try ExplanationRunner.run(try MinPerturbation().prepare(parameters, for: problem), problem: problem, context: context)
    }

    static func smallCNN() throws -> ONNXModel { try ONNXModelLoader.load(try GraphFactory.smallConvolutionalNetwork()) }

    static func images(count: Int) throws -> Tensor {
        try Tensor.concatenatingRows((0..<count).map { try Tensor(shape: [1, 1, 6, 6], scalars: image([36], seed: UInt64($0 + 1))) })
    }

    /// A linear classifier over three features: class 1 once x₀ exceeds x₁ + 1.
    static func linear() throws -> ONNXModel {
        try ONNXModelLoader.load(try GraphFactory.linearModel(weights: [[0, 1], [0, -1], [0, 0]], bias: [1, 0]))
    }

    static func code(_ body: () throws -> Void) -> ErrorCode? {
        do { try body() } catch let error as ExplanationError { return error.code } catch { return nil }
        return nil
    }

    /// At amount 0 every perturbation but occlusion leaves the instance as it is.
    @Test(arguments: [PerturbationKind.rotation, .translation, .gaussianNoise, .gaussianBlur, .brightness, .contrast, .featureShift])
    func amountZeroIsTheIdentity(_ kind: PerturbationKind) {
        let shape = kind == .featureShift ? [5] : [3, 6, 5]
        let values = Self.image(shape, seed: 3)
        var perturbation = Perturbation(kind: kind, shape: shape, fill: 0.5, sign: -1, seed: 9)
        perturbation.standardDeviations = [1, 2, 0, 4, 5]
        let instance = perturbation.instance(values)
        for copy in 0..<perturbation.copies(at: 0) {
            #expect(perturbation.perturbed(instance, copy: copy, at: 0) == values)
        }
    }

    /// SciPy's rotation by 90° of a square plane is a transposition and a flip:
    /// out[i][j] = in[j][n − 1 − i]; by 180°, both axes reversed — exactly.
    @Test func quarterTurnsArePermutations() {
        let n = 5
        let values = Self.image([n, n], seed: 4)
        let plane = ImagePlane(height: n, width: n, values: values)
        let quarter = plane.rotated(by: 90, fill: 9).values
        let half = plane.rotated(by: 180, fill: 9).values
        let back = plane.rotated(by: -270, fill: 9).values
        for i in 0..<n {
            for j in 0..<n {
                #expect(quarter[i * n + j] == values[j * n + (n - 1 - i)])
                #expect(half[i * n + j] == values[(n - 1 - i) * n + (n - 1 - j)])
            }
        }
        #expect(back == quarter)
    }

    /// A whole-pixel shift moves the values and fills what it uncovers.
    @Test func wholePixelShiftsMoveValues() {
        let values = Self.image([4, 6], seed: 5)
        let shifted = ImagePlane(height: 4, width: 6, values: values).shifted(rows: 1, columns: -2, fill: -1).values
        for i in 0..<4 {
            for j in 0..<6 {
                let source = (i - 1, j + 2)
                let expected = (0..<4).contains(source.0) && (0..<6).contains(source.1) ? values[source.0 * 6 + source.1] : -1
                #expect(shifted[i * 6 + j] == expected)
            }
        }
    }

    /// Blurring keeps a constant plane constant and the kernel sums to one.
    @Test func blurKeepsConstantsAndMass() {
        let plane = ImagePlane(height: 5, width: 4, values: [Float](repeating: 0.25, count: 20))
        for sigma in [0.3, 1.0, 7.5] {
            #expect(plane.blurred(sigma: sigma).values.allSatisfy { abs($0 - 0.25) < 1e-6 })
            let kernel = ImagePlane.gaussianKernel(sigma: sigma)
            #expect(abs(kernel[0] + 2 * kernel.dropFirst().reduce(0, +) - 1) < 1e-12)
        }
        #expect(
            ImagePlane.reflect(-1, 4) == 0 && ImagePlane.reflect(4, 4) == 3 && ImagePlane.reflect(-9, 4) == 0
                && ImagePlane.reflect(11, 4) == 3)
    }

    /// Captum's grid and Python's float floor division, quirks included.
    @Test func captumGridArithmetic() throws {
        #expect(ParameterSearch.floorDivide(1.0, 0.1) == 9)
        #expect(ParameterSearch.floorDivide(-7, 2) == -4)
        #expect(ParameterSearch.floorDivide(7, 2) == 3)
        #expect(ParameterSearch.floorDivide(0.5, 1) == 0)
        // arg_max is excluded, but ten additions of 0.1 fall short of 1.0, so 0.9999999999999999 is tried.
        let grid = try #require(ParameterSearch.linearGrid(from: 0, to: 1, step: 0.1))
        #expect(grid.count == 11 && grid[3] == 0.30000000000000004)
        #expect(try #require(ParameterSearch.linearGrid(from: 0, to: 180, step: 1)).count == 180)
        #expect(ParameterSearch.linearGrid(from: 0, to: 1, step: 1e-6) == nil)
        #expect(ParameterSearch.isClose(1, 1 + 1e-12) && !ParameterSearch.isClose(0, 1e-300))
    }

    /// Binary search on a monotone decision finds the same grid value as the linear one.
    @Test func binarySearchOnAMonotoneDecisionFindsTheThreshold() throws {
        for threshold in [0.0, 0.3, 3.0, 7.25, 9.5, 20] {
            var search = ParameterSearch.Binary(from: 0, to: 10, step: 0.25)
            while let amount = search.next() { search.record(flipped: amount >= threshold) }
            let linear = try #require(ParameterSearch.linearGrid(from: 0, to: 10, step: 0.25)).first { $0 >= threshold }
            #expect(search.best == linear, "threshold \(threshold)")
        }
    }

    /// The linear answer flips, no smaller grid value does, and the answer does not depend on
    /// how many copies share a forward pass.
    @Test(arguments: ["rotation", "translation", "gaussian_blur", "gaussian_noise", "occlusion", "contrast"])
    func theLinearAnswerIsTheFirstFlipWhateverTheBatching(_ kind: String) throws {
        let model = try Self.smallCNN()
        let inputs = try Self.images(count: 4)
        let occludes = kind == "occlusion"
        let parameters: [String: JSONValue] = [
            "perturbation": .string(kind), "arg_max": .number(occludes ? 7 : 4), "arg_step": .number(occludes ? 1 : 0.5),
        ]
        let wide = try Self.run(parameters, model: model, inputs: inputs)
        let narrow = try Self.run(parameters, model: model, inputs: inputs, context: ExplanationContext(maxBatchElements: 1))
        for (a, b) in zip(wide, narrow) {
            #expect(a.attribution.extras == b.attribution.extras)
            guard a.attribution.extras["found"] == .bool(true), case .number(let amount)? = a.attribution.extras["min_param"] else {
                continue
            }
            let prediction = try #require(a.attribution.extras["perturbed_prediction"]?.doubleValue)
            #expect(Int(prediction) != a.target)
            #expect(amount >= 0)
        }
    }

    /// With desired_class the answer, when found, is predicted as that class.
    @Test func desiredClassIsRespected() throws {
        let model = try Self.smallCNN()
        let inputs = try Self.images(count: 3)
        for desired in 0..<3 {
            for explanation in try Self.run(
                ["perturbation": "rotation", "desired_class": .number(Double(desired)), "arg_step": 5, "mode": "linear"], model: model,
                inputs: inputs)
            where explanation.attribution.extras["found"] == .bool(true) {
                #expect(explanation.attribution.extras["perturbed_prediction"]?.doubleValue == Double(desired))
            }
        }
    }

    /// Nothing flips: found false, min_param null, the searched range, zero attributions.
    @Test func notFoundReportsTheRange() throws {
        let model = try Self.linear()
        let inputs = try Tensor(shape: [1, 3], scalars: [0, 0, 0])
        let dataset = DatasetSummary(statistics: TrainingStatistics(std: [1, 1, 1]))
        let explanation = try #require(
            try Self.run(
                ["perturbation": "feature_shift", "arg_min": 0, "arg_max": 0.5, "arg_step": 0.1], model: model, inputs: inputs,
                dataset: dataset
            )
            .first)
        #expect(explanation.target == 0)
        #expect(explanation.attribution.extras["found"] == .bool(false))
        #expect(explanation.attribution.extras["min_param"] == .null)
        #expect(explanation.attribution.extras["searched"] == .array([0, 0.5]))
        #expect(explanation.attribution.extras["perturbed"] == nil)
        #expect(explanation.attribution.attributions[0].scalars == [0, 0, 0])
        // Far enough, feature 0 up (or feature 1 down) by one std flips it: feature 0 comes first.
        let found = try #require(
            try Self.run(
                ["perturbation": "feature_shift", "arg_min": 0, "arg_max": 3, "arg_step": 0.5], model: model, inputs: inputs,
                dataset: dataset
            )
            .first)
        #expect(found.attribution.extras["min_param"] == .number(1.5))
        #expect(found.attribution.extras["feature"] == .number(0) && found.attribution.extras["sign"] == .number(1))
        #expect(found.attribution.attributions[0].scalars == [1.5, 0, 0])
    }

    /// Client mistakes are 400s that name what is wrong, found before any computation.
    @Test func refusals() throws {
        let cnn = try Self.smallCNN()
        let images = try Self.images(count: 1)
        let table = try Tensor(shape: [1, 3], scalars: [0, 0, 0])
        func prepare(_ parameters: [String: JSONValue], _ model: any PredictiveModel, _ inputs: Tensor, dataset: DatasetSummary = .none)
            -> ErrorCode?
        {
            Self.code {
                _ = try MinPerturbation().prepare(
                    parameters, for: ExplanationProblem(model: model, inputs: [inputs], output: 0, targets: nil, dataset: dataset))
            }
        }
        let linear = try Self.linear()
        #expect(prepare([:], cnn, images) == .invalidParameter)
        #expect(prepare(["perturbation": "rotation"], linear, table) == .methodNotApplicable)
        #expect(prepare(["perturbation": "feature_shift"], cnn, images) == .methodNotApplicable)
        #expect(prepare(["perturbation": "feature_shift"], linear, table) == .missingReferenceData)
        #expect(prepare(["perturbation": "rotation", "arg_step": 0.000_01], cnn, images) == .invalidParameter)
        #expect(prepare(["perturbation": "rotation", "arg_min": 0, "arg_max": 1, "arg_step": 1], cnn, images) == .invalidParameter)
        #expect(prepare(["perturbation": "rotation", "seed": 3], cnn, images) == .invalidParameter)
        #expect(prepare(["perturbation": "gaussian_blur", "arg_max": 1000], cnn, images) == .invalidParameter)
        #expect(prepare(["perturbation": "gaussian_noise", "arg_min": -1], cnn, images) == .invalidParameter)
        #expect(prepare(["perturbation": "occlusion", "arg_max": 8], cnn, images) == .invalidParameter)
        #expect(prepare(["perturbation": "occlusion", "arg_step": 0.5], cnn, images) == .invalidParameter)
        #expect(prepare(["perturbation": "rotation", "desired_class": 3], cnn, images) == .invalidParameter)
        #expect(prepare(["perturbation": "rotation", "mode": "ternary"], cnn, images) == .invalidParameter)
        #expect(prepare(["perturbation": "rotation", "arg_max": .number(1e300)], cnn, images) == .invalidParameter)
        // The copies are bounded too: 100 000 amounts of 60 shifted copies each.
        let thirty = try ONNXModelLoader.load(
            try GraphFactory.linearModel(weights: (0..<30).map { _ in [0, 1] }, bias: [1, 0]))
        let statistics = DatasetSummary(statistics: TrainingStatistics(std: [Double](repeating: 1, count: 30)))
        let row = try Tensor(shape: [1, 30], scalars: [Float](repeating: 0, count: 30))
        #expect(
            prepare(["perturbation": "feature_shift", "arg_max": 10, "arg_step": 0.0001], thirty, row, dataset: statistics)
                == .invalidParameter)
        #expect(prepare(["perturbation": "feature_shift", "arg_max": 10, "arg_step": 0.001], thirty, row, dataset: statistics) == nil)
    }

    /// gaussian_noise's direction is one seeded draw per instance, whatever its place in the batch.
    @Test func noiseIsTheSameForAnInstanceAnywhereInTheBatch() throws {
        let model = try Self.smallCNN()
        let inputs = try Self.images(count: 3)
        let parameters: [String: JSONValue] = ["perturbation": "gaussian_noise", "arg_max": 2, "arg_step": 0.05, "seed": 7]
        let all = try Self.run(parameters, model: model, inputs: inputs)
        let last = try Self.run(parameters, model: model, inputs: inputs.rows(2..<3))
        #expect(all[2].attribution.extras == last[0].attribution.extras)
    }

    /// Forward passes only: on a tree ensemble (scikit-learn gradient boosting through ONNX),
    /// every answer is checked by a fresh prediction of the perturbed instance.
    @Test(arguments: ["feature_shift", "gaussian_noise"])
    func treeEnsemblesAreProbedAndEveryAnswerRepredicts(_ kind: String) throws {
        let root = try #require(try Fixtures.json("golden/onnx_trees.json") as? [String: Any])
        let entry = try #require((root["models"] as? [[String: Any]])?.first { $0["name"] as? String == "skl_gbt_binary" })
        let ensemble = try ONNXTreeEnsembleLoader.load(
            try Data(contentsOf: Fixtures.repository.appendingPathComponent(entry["file"] as? String ?? "")))
        let rows = (entry["inputs"] as? [Any] ?? []).map(jsonNumbers)
        let inputs = try Tensor(shape: [rows.count, rows[0].count], scalars: rows.flatMap { $0.map(Float.init) })
        let output = try #require(ensemble.outputs.firstIndex { $0.name == "probabilities" })
        let dataset = DatasetSummary(statistics: TrainingStatistics(std: [Double](repeating: 1, count: rows[0].count)))
        let problem = ExplanationProblem(model: ensemble, inputs: [inputs], output: output, targets: nil, dataset: dataset)
        let parameters: [String: JSONValue] = ["perturbation": .string(kind), "arg_max": 5, "arg_step": 0.05]
        let explanations = try ExplanationRunner.run(
            try MinPerturbation().prepare(parameters, for: problem), problem: problem, context: ExplanationContext())
        #expect(explanations.contains { $0.attribution.extras["found"] == .bool(true) })
        for explanation in explanations where explanation.attribution.extras["found"] == .bool(true) {
            let perturbed = try TensorJSON.tensor(from: try #require(explanation.attribution.extras["perturbed"]), name: "perturbed")
            let again = try ensemble.predict([try Tensor(shape: [1] + perturbed.shape, scalars: perturbed.scalars)])[output].scalars
            let reported = try TensorJSON.tensor(from: try #require(explanation.attribution.extras["perturbed_output"]), name: "output")
            #expect(again == reported.scalars)
            #expect(CopyEvaluator.prediction(again) != explanation.target)
        }
    }
}
