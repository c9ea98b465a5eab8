import CandorExplain
import CandorModel
import CandorTensor
import CandorTestSupport
import Testing

@Suite struct ShapleyTests {
    func explain(
        _ model: any PredictiveModel, _ parameters: [String: JSONValue], inputs: Tensor, targets: [Int]
    ) throws -> [InstanceExplanation] {
        let problem = ExplanationProblem(model: model, inputs: [inputs], output: 0, targets: targets)
        let plan = try ExactShapley().prepare(parameters, for: problem)
        return try ExplanationRunner.run(plan, problem: problem, context: ExplanationContext())
    }

    /// Efficiency: the values sum to f(x) − f(x′), here on a nonlinear network.
    @Test(arguments: [[String: JSONValue](), ["baselines": 0.5], ["feature_mask": [0, 1, 1, 2, 0, 2]]])
    func valuesSumToTheOutputChange(_ parameters: [String: JSONValue]) throws {
        let model = try Fixtures.model("models/mlp_torchscript.onnx")
        let inputs = try Tensor(shape: [2, 6], scalars: [0.3, -1, 2, 0.5, 1, -0.7, 1, 1, -2, 0, 0.25, 3])
        let result = try explain(model, parameters, inputs: inputs, targets: [2, 0])
        let baselineValue: Float = if case .number(let value)? = parameters["baselines"] { Float(value) } else { 0 }
        let baseline = try model.predict([try Tensor(repeating: baselineValue, shape: [2, 6])])[0]
        for (row, explanation) in result.enumerated() {
            var scalars = explanation.attribution.attributions[0].scalars
            if case .array(let mask)? = parameters["feature_mask"] {
                // Each group's value is repeated on its elements: count it once.
                var seen: Set<JSONValue> = []
                scalars = zip(mask, scalars).compactMap { seen.insert($0).inserted ? $1 : nil }
            }
            let target = explanation.target
            let change = explanation.output.scalars[target] - baseline.scalars[row * 4 + target]
            #expect(abs(scalars.reduce(0, +) - change) < 1e-4, "Σφ = \(scalars.reduce(0, +)), f(x) − f(x′) = \(change)")
        }
    }

    @Test func moreThanTwentyGroupsAreRefusedWithAClearMessage() throws {
        let weights = (0..<21).map { [Float($0)] }
        let model = try ONNXModelLoader.load(try GraphFactory.linearModel(weights: weights, bias: [0]))
        let problem = ExplanationProblem(model: model, inputs: [try Tensor(repeating: 1, shape: [1, 21])], output: 0, targets: nil)
        #expect {
            _ = try ExactShapley().prepare([:], for: problem)
        } throws: { error in
            (error as? ExplanationError)?.message.contains("at most 20 feature groups") == true
        }
        // Grouped into 3, the same input is accepted.
        let mask: [JSONValue] = (0..<21).map { .number(Double($0 % 3)) }
        #expect(throws: Never.self) { _ = try ExactShapley().prepare(["feature_mask": .array(mask)], for: problem) }
    }
}

@Suite struct ShapleyValueSamplingTests {
    let model: ONNXModel
    let inputs: Tensor

    init() throws {
        model = try Fixtures.model("models/mlp_torchscript.onnx")
        inputs = try Tensor(shape: [2, 6], scalars: [0.3, -1, 2, 0.5, 1, -0.7, 1, 1, -2, 0, 0.25, 3])
    }

    func attributions(_ method: any Explainer, _ parameters: [String: JSONValue]) throws -> [Float] {
        let problem = ExplanationProblem(model: model, inputs: [inputs], output: 0, targets: [2, 0])
        let plan = try method.prepare(parameters, for: problem)
        return try ExplanationRunner.run(plan, problem: problem, context: ExplanationContext()).flatMap {
            $0.attribution.attributions[0].scalars
        }
    }

    @Test func aFixedSeedReproducesAndAnotherSeedDiffers() throws {
        let first = try attributions(ShapleyValueSampling(), ["n_samples": 10, "seed": 3])
        #expect(first == (try attributions(ShapleyValueSampling(), ["n_samples": 10, "seed": 3])))
        #expect(first != (try attributions(ShapleyValueSampling(), ["n_samples": 10, "seed": 4])))
    }

    /// Every ordering's credits telescope to f(x) − f(x′): efficiency is exact at any n_samples.
    @Test func eachEstimateIsEfficient() throws {
        let sampled = try attributions(ShapleyValueSampling(), ["n_samples": 3])
        let exact = try attributions(ExactShapley(), [:])
        for row in 0..<2 {
            let sampledTotal = sampled[row * 6..<(row + 1) * 6].reduce(0, +)
            let exactTotal = exact[row * 6..<(row + 1) * 6].reduce(0, +)
            #expect(abs(sampledTotal - exactTotal) < 1e-4)
        }
    }

    /// The estimate converges to the exact values: its error shrinks as samples grow.
    @Test func theEstimateConvergesToExactShapleyValues() throws {
        let exact = try attributions(ExactShapley(), [:])
        func error(_ samples: Int) throws -> Float {
            let estimate = try attributions(ShapleyValueSampling(), ["n_samples": .number(Double(samples)), "seed": 11])
            return maxAbsoluteDifference(estimate, exact)
        }
        let coarse = try error(4)
        let fine = try error(4000)
        let scale = exact.map(abs).max() ?? 1
        #expect(fine < coarse / 4, "error with 4 samples \(coarse), with 4000 samples \(fine)")
        #expect(fine < 0.02 * scale)
    }

    /// On the hand-built MLP, whose features interact enough for the orderings to disagree
    /// (on the exported one the contributions barely vary at these inputs).
    func calibration(samples: Int, _ parameters: [String: JSONValue] = [:]) throws -> StandardErrorCalibration {
        StandardErrorCalibration(
            ShapleyValueSampling(), model: try Fixtures.model("models/mlp_handbuilt.onnx"),
            inputs: [try Tensor(shape: [2, 4], scalars: [0.3, -1, 2, 0.5, 1, -0.7, 1, 1])], targets: [0, 1],
            parameters: parameters.merging(["n_samples": .number(Double(samples))]) { $1 })
    }

    @Test func intervalsCoverTheExactShapleyValues() throws {
        let handbuilt = try Fixtures.model("models/mlp_handbuilt.onnx")
        let problem = ExplanationProblem(
            model: handbuilt, inputs: [try Tensor(shape: [2, 4], scalars: [0.3, -1, 2, 0.5, 1, -0.7, 1, 1])], output: 0,
            targets: [0, 1])
        let exact = try ExplanationRunner.run(
            try ExactShapley().prepare([:], for: problem), problem: problem, context: ExplanationContext()
        )
        .flatMap { $0.attribution.attributions[0].scalars }
        let coverage = try calibration(samples: 50).coverage(of: exact)
        #expect(StandardErrorCalibration.acceptedCoverage.contains(coverage), "coverage \(coverage)")
    }

    /// A group's standard error is reported on each of its elements, as its value is; one
    /// ordering has none.
    @Test func aGroupsStandardErrorCoversItsElements() throws {
        let errors = try #require(try calibration(samples: 10, ["feature_mask": [0, 1, 1, 0]]).run(seed: 1).standardError)
        for row in 0..<2 {
            let instance = Array(errors[(row * 4)..<((row + 1) * 4)])
            #expect(instance[0] == instance[3] && instance[1] == instance[2])
            #expect(instance.allSatisfy { $0 > 0 })
        }
        #expect(try calibration(samples: 1).run(seed: 1).standardError == nil)
    }

    @Test func theStandardErrorHalvesWhenTheSamplesQuadruple() throws {
        let ratio = try calibration(samples: 50).shrinkageWhenSamplesQuadruple("n_samples", from: 50)
        #expect(StandardErrorCalibration.halves(ratio), "stderr ratio \(ratio)")
    }
}
