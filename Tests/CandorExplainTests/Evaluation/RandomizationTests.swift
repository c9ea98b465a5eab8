import CandorTensor
import CandorTestSupport
import Foundation
import Testing

@testable import CandorExplain
@testable import CandorModel

/// One case of `golden/randomization.json` (`scripts/fixtures/make_randomization_fixtures.py`):
/// Quantus 0.6 `MPRT` of a Captum method on the MLP fixture's logits, its layers re-drawn with
/// Candor's draws, with the randomized logits and attributions at every stage.
struct RandomizationCase: CustomTestStringConvertible, Sendable {
    let method: String
    let parameters: [String: JSONValue]
    let seed: Int
    let targets: [Int]
    /// Per stage (from the output down), Quantus's correlation per instance.
    let stages: [[Double]]
    /// Quantus's `return_average_correlation`, which counts the unrandomized model's 1 as a stage.
    let quantusAverage: [Double]
    let stageOutputs: [[Float]]
    let stageAttributions: [[Float]]

    var testDescription: String { "\(method) seed \(seed)" }

    static func golden() throws -> [String: Any] {
        try #require(try Fixtures.json("golden/randomization.json") as? [String: Any])
    }

    static func inputs() throws -> Tensor { try tensor(fromJSON: try golden()["inputs"] as Any) }

    static func all() throws -> [RandomizationCase] {
        try (try golden()["cases"] as? [[String: Any]] ?? []).map { entry in
            let parameterData = try JSONSerialization.data(withJSONObject: entry["params"] ?? [:])
            return RandomizationCase(
                method: entry["method"] as? String ?? "",
                parameters: try JSONDecoder().decode([String: JSONValue].self, from: parameterData),
                seed: entry["seed"] as? Int ?? -1, targets: entry["targets"] as? [Int] ?? [],
                stages: (entry["stages"] as? [Any] ?? []).map(jsonNumbers),
                quantusAverage: jsonNumbers(entry["quantus_average_correlation"] as Any),
                stageOutputs: (entry["stage_outputs"] as? [Any] ?? []).map { flattenedNumbers($0).map(Float.init) },
                stageAttributions: (entry["stage_attributions"] as? [Any] ?? []).map { flattenedNumbers($0).map(Float.init) })
        }
    }
}

@Suite struct RandomizationTests {
    static let cases = (try? RandomizationCase.all()) ?? []
    let mlp: ONNXModel

    init() throws {
        mlp = try Fixtures.model("models/mlp_torchscript.onnx")
    }

    /// Explains `inputs` with `method` and evaluates `randomization` on the result.
    func evaluate(
        _ model: ONNXModel, inputs: Tensor, targets: [Int], output: Int = 0, method: String,
        methodParameters: [String: JSONValue] = [:], parameters: [String: JSONValue] = [:]
    ) throws -> [InstanceExplanation] {
        let problem = ExplanationProblem(model: model, inputs: [inputs], output: output, targets: targets)
        let explainer = try #require(MethodCatalog.standard.explainer(named: method))
        let metric = try #require(MetricCatalog.standard.metric(named: "randomization")).prepare(parameters, for: problem)
        return try ExplanationRunner.run(
            try explainer.prepare(methodParameters, for: problem), problem: problem, context: ExplanationContext(),
            metrics: [NamedMetricPlan(name: "randomization", plan: metric)],
            method: MethodCall(explainer: explainer, parameters: methodParameters))
    }

    /// The stages of `quality["randomization"]`: (layer, spearman).
    func stages(_ explanation: InstanceExplanation) -> [(layer: String, spearman: Double)] {
        let object = explanation.quality["randomization"]?.objectValue
        guard case .array(let stages)? = object?["stages"] else { return [] }
        return stages.map { stage in
            guard case .string(let layer)? = stage.objectValue?["layer"] else { return ("", .nan) }
            return (layer, stage.objectValue?["spearman"]?.doubleValue ?? .nan)
        }
    }

    func value(_ explanation: InstanceExplanation) -> Double? {
        explanation.quality["randomization"]?.objectValue?["value"]?.doubleValue
    }

    @Test func everyCaseOfTheGoldenIsRead() {
        #expect(Self.cases.count == 3)
        #expect(Self.cases.allSatisfy { $0.stages.count == 5 && $0.stageOutputs.count == 5 && $0.stageAttributions.count == 5 })
    }

    /// Gemm, Conv and MatMul layers with their biases (a MatMul's in the Add after it), and the
    /// normalizations' scale and shift but not their running statistics, from the output down.
    @Test func parameterisedLayersRunFromTheOutputDown() throws {
        #expect(mlp.parameterisedLayers.map(\.name) == [4, 3, 2, 1, 0].map { "/net/net.\(2 * $0)/Gemm" })
        #expect(mlp.parameterisedLayers.map(\.parameters) == [8, 6, 4, 2, 0].map { ["net.\($0).weight", "net.\($0).bias"] })
        #expect(mlp.parameterisedLayers.map(\.parameterCount) == [36, 88, 130, 156, 84])

        let handBuilt = try Fixtures.model("models/mlp_handbuilt.onnx")
        #expect(handBuilt.parameterisedLayers.map(\.parameters) == [["W3", "b3"], ["W2", "b2"], ["W1", "b1"]])

        let normalized = try Fixtures.model("models/cnn_bn_relu.onnx")
        #expect(normalized.parameterisedLayers.map(\.operatorType) == ["Gemm", "BatchNormalization", "Conv", "BatchNormalization", "Conv"])
        #expect(normalized.parameterisedLayers[1].parameters == ["bn2.weight", "bn2.bias"])
    }

    /// Candor's randomized MLP computes the logits of the reference's randomized torch twin at
    /// every stage — both drew the same parameters — and each stage's outputs differ from the
    /// model's and from the stage before.
    @Test(arguments: cases)
    func randomizedOutputsMatchTheReferenceAndDifferAtEveryStage(_ golden: RandomizationCase) throws {
        let inputs = try RandomizationCase.inputs()
        var previous = try mlp.predict([inputs])[0].scalars
        for (stage, expected) in golden.stageOutputs.enumerated() {
            let randomized = try mlp.randomizingParameters(ofTopLayers: stage + 1, seed: UInt64(golden.seed))
            let outputs = try randomized.predict([inputs])[0].scalars
            #expect(isClose(outputs, expected, absolute: 1e-5, relative: 1e-4), "stage \(stage + 1)")
            #expect(maxAbsoluteDifference(outputs, previous) > 1e-3, "stage \(stage + 1) changed nothing")
            previous = outputs
        }
    }

    /// The golden: Quantus's per-stage correlations of the randomized attributions, computed
    /// again here; `value` is their mean; each stage's attributions are the method's on the
    /// randomized model (Captum's), and its correlations are recomputed from them exactly.
    @Test(arguments: cases)
    func stageCorrelationsEqualQuantusMPRT(_ golden: RandomizationCase) throws {
        let inputs = try RandomizationCase.inputs()
        let explained = try evaluate(
            mlp, inputs: inputs, targets: golden.targets, method: golden.method, methodParameters: golden.parameters,
            parameters: ["seed": .number(Double(golden.seed))])
        for (row, explanation) in explained.enumerated() {
            let stages = stages(explanation)
            #expect(stages.map(\.layer) == mlp.parameterisedLayers.map(\.name))
            let expected = golden.stages.map { $0[row] }
            #expect(zip(stages.map(\.spearman), expected).allSatisfy { abs($0 - $1) < 1e-9 }, "instance \(row): \(stages) vs \(expected)")
            let mean = expected.reduce(0, +) / Double(expected.count)
            let measured = try #require(value(explanation))
            #expect(abs(measured - mean) < 1e-9)
            // Quantus's average is over the stages and the unrandomized model's correlation, 1.
            #expect(abs(golden.quantusAverage[row] - (measured * 5 + 1) / 6) < 1e-9)
        }

        // The stages themselves: attributions as the reference's, correlations recomputed.
        let problem = ExplanationProblem(model: mlp, inputs: [inputs], output: 0, targets: golden.targets)
        let explainer = try #require(MethodCatalog.standard.explainer(named: golden.method))
        let resolved = try ExplanationRunner.resolve(problem, context: ExplanationContext())
        let original = try explainer.prepare(golden.parameters, for: problem).run(resolved, context: ExplanationContext())
        let subject = EvaluationSubject(
            problem: resolved, attributions: original.map(\.attributions),
            method: MethodCall(explainer: explainer, parameters: golden.parameters))
        let plan = Randomization.Plan(stages: 5, seed: UInt64(golden.seed), effectiveParameters: [:])
        var seen = 0
        try plan.cascade(subject, context: ExplanationContext()) { stage in
            let attributions = stage.attributions.flatMap { $0.flatMap(\.scalars) }
            #expect(isClose(attributions, golden.stageAttributions[seen], absolute: 1e-5, relative: 1e-3), "stage \(seen + 1)")
            for row in 0..<3 {
                let recomputed = Self.naiveSpearman(
                    original[row].attributions[0].scalars.map(abs), stage.attributions[row][0].scalars.map(abs))
                #expect(abs(stage.spearman[row] - recomputed) < 1e-12)
            }
            seen += 1
        }
        #expect(seen == 5)
    }

    /// Spearman's correlation the long way: rank = 1 + (values below) + (other equal values) / 2.
    static func naiveSpearman(_ a: [Float], _ b: [Float]) -> Double {
        func ranks(_ values: [Float]) -> [Double] {
            values.map { value in
                1 + Double(values.count(where: { $0 < value })) + Double(values.count(where: { $0 == value }) - 1) / 2
            }
        }
        let (x, y) = (ranks(a), ranks(b))
        let n = Double(x.count)
        let (mx, my) = (x.reduce(0, +) / n, y.reduce(0, +) / n)
        let covariance = zip(x, y).reduce(0.0) { $0 + ($1.0 - mx) * ($1.1 - my) }
        let vx = x.reduce(0.0) { $0 + ($1 - mx) * ($1 - mx) }
        let vy = y.reduce(0.0) { $0 + ($1 - my) * ($1 - my) }
        return covariance / (vx * vy).squareRoot()
    }

    /// SciPy's `spearmanr` (what Quantus's `correlation_spearman` calls) on arrays with ties.
    @Test func rankCorrelationMatchesSciPyWithTies() throws {
        let cases = try #require(try RandomizationCase.golden()["spearman"] as? [[String: Any]])
        #expect(cases.count == 5)
        for entry in cases {
            let a = jsonNumbers(entry["a"] as Any).map(Float.init)
            let b = jsonNumbers(entry["b"] as Any).map(Float.init)
            let expected = try #require(entry["spearman"] as? Double)
            #expect(abs(Correlation.spearman(a, b) - expected) < 1e-12)
            #expect(abs(Self.naiveSpearman(a, b) - expected) < 1e-12)
        }
        #expect(Correlation.spearman([1, 1, 1], [1, 2, 3]) == 0)
        #expect(Correlation.averageRanks([3, 1, 3, 2, 1]) == [4.5, 1.5, 4.5, 3, 1.5])
    }

    /// SSIM equals Quantus's `ssim` (scikit-image's `structural_similarity`) on |attribution|
    /// maps; identical maps score 1, and maps smaller than the window have none.
    @Test func structuralSimilarityMatchesScikitImage() throws {
        let cases = try #require(try RandomizationCase.golden()["ssim"] as? [[String: Any]])
        #expect(cases.count == 3)
        for entry in cases {
            let a = try #require(entry["a"] as? [[Double]])
            let b = try #require(entry["b"] as? [[Double]])
            let expected = try #require(entry["ssim"] as? Double)
            let value = try #require(
                StructuralSimilarity.mean(a.flatMap { $0 }, b.flatMap { $0 }, height: a.count, width: a[0].count))
            #expect(abs(value - expected) < 1e-7, "\(value) vs \(expected)")  // scikit-image filters in running sums
            #expect(
                abs((StructuralSimilarity.mean(a.flatMap { $0 }, a.flatMap { $0 }, height: a.count, width: a[0].count) ?? 0) - 1) < 1e-12)
        }
        #expect(StructuralSimilarity.mean([Double](repeating: 1, count: 36), [Double](repeating: 2, count: 36), height: 6, width: 6) == nil)
    }

    /// Randomizing layer by layer gives the model that randomizing them together does, and a
    /// seed gives the same model every time.
    @Test func cascadingOneLayerAtATimeEqualsRandomizingThemTogether() throws {
        let inputs = try RandomizationCase.inputs()
        var cascaded = mlp
        for count in 1...mlp.parameterisedLayers.count {
            cascaded = try cascaded.randomizingParameters(ofLayers: (count - 1)..<count, seed: 3)
            let together = try mlp.randomizingParameters(ofTopLayers: count, seed: 3)
            #expect(try cascaded.predict([inputs])[0] == together.predict([inputs])[0])
            #expect(try together.predict([inputs])[0] == mlp.randomizingParameters(ofTopLayers: count, seed: 3).predict([inputs])[0])
            #expect(try together.predict([inputs])[0] != mlp.randomizingParameters(ofTopLayers: count, seed: 4).predict([inputs])[0])
        }
        #expect(throws: ModelError.self) { try mlp.randomizingParameters(ofTopLayers: 6, seed: 0) }
    }

    /// Each re-drawn tensor is centred on 0 with its original's spread (1600 weights of the
    /// dynamo MLP's middle layer); untouched layers keep their values, and a constant tensor
    /// (a BatchNormalization's unit scale) is drawn with its root mean square.
    @Test func reDrawnParametersKeepEachTensorsScale() throws {
        let model = try Fixtures.model("models/mlp_dynamo.onnx")
        let layer = try #require(model.parameterisedLayers.first { $0.parameterCount > 1600 })
        let position = try #require(model.parameterisedLayers.firstIndex(of: layer))
        let randomized = try model.randomizingParameters(ofTopLayers: position + 1, seed: 0)
        func values(_ model: ONNXModel, _ slot: Int) -> [Double] {
            (model.graph.constants[slot]?.floatTensor?.scalars ?? []).map(Double.init)
        }
        func moments(_ values: [Double]) -> (mean: Double, std: Double) {
            let mean = values.reduce(0, +) / Double(values.count)
            return (mean, (values.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(values.count)).squareRoot())
        }
        let weight = layer.slots[0]
        let (before, after) = (moments(values(model, weight)), moments(values(randomized, weight)))
        #expect(values(model, weight).count == 1600)
        #expect(abs(after.mean) < 0.1 * before.std)
        #expect(abs(after.std / before.std - 1) < 0.1)
        let below = try model.randomizingParameters(ofTopLayers: position, seed: 0)
        #expect(values(below, weight) == values(model, weight))

        let unit = try ONNXModelLoader.load(try Self.batchNormalization(scale: [1, 1, 1]))
        let scale = try unit.randomizingParameters(ofTopLayers: 1, seed: 0)
        let drawn = values(scale, try #require(unit.parameterisedLayers.first?.slots.first))
        #expect(drawn.count == 3 && Set(drawn).count == 3 && drawn.allSatisfy { abs($0) < 5 })
    }

    /// x [N, 3, 1, 1] → BatchNormalization(scale, shift 0, mean 0, var 1).
    static func batchNormalization(scale: [Float]) throws -> Data {
        let channels = scale.count
        let vector = { (values: [Float]) in try Tensor(shape: [channels], scalars: values) }
        return try GraphFactory.model(
            nodes: [GraphFactory.node("BatchNormalization", ["x", "scale", "shift", "mean", "var"], ["y"], name: "bn")],
            inputs: [GraphFactory.value("x", [nil, channels, 1, 1])], outputs: [GraphFactory.value("y", [nil, channels, 1, 1])],
            initializers: [
                GraphFactory.initializer("scale", try vector(scale)),
                GraphFactory.initializer("shift", try vector(Array(repeating: 0, count: channels))),
                GraphFactory.initializer("mean", try vector(Array(repeating: 0, count: channels))),
                GraphFactory.initializer("var", try vector(Array(repeating: 1, count: channels))),
            ])
    }

    /// The same seed gives the same stages; another seed other ones.
    @Test func theSeedDecidesTheStages() throws {
        let inputs = try RandomizationCase.inputs()
        let first = try evaluate(mlp, inputs: inputs, targets: [0, 3, 3], method: "saliency", parameters: ["seed": 5])
        let again = try evaluate(mlp, inputs: inputs, targets: [0, 3, 3], method: "saliency", parameters: ["seed": 5])
        let other = try evaluate(mlp, inputs: inputs, targets: [0, 3, 3], method: "saliency", parameters: ["seed": 6])
        #expect(first.map(\.quality) == again.map(\.quality))
        #expect(first.map(\.quality) != other.map(\.quality))
    }

    /// A linear model has one layer; its saliency is |w| for the target's column, and once w is
    /// re-drawn that ranking is gone: the correlation is far from 1.
    @Test func saliencyOfALinearModelLosesItsRankingWhenItsOneLayerIsRedrawn() throws {
        let features = 40
        let weights = (0..<features).map { i in [Float(i + 1) / 10 * (i.isMultiple(of: 2) ? 1 : -1), 0.5] }
        let model = try ONNXModelLoader.load(try GraphFactory.linearModel(weights: weights, bias: [0.25, -1]))
        #expect(model.parameterisedLayers.map(\.parameters) == [["W", "b"]])
        let inputs = try Tensor(shape: [2, features], scalars: (0..<(2 * features)).map { Float($0 % 7) - 3 })
        let explained = try evaluate(model, inputs: inputs, targets: [0, 0], method: "saliency")
        for explanation in explained {
            let stages = stages(explanation)
            #expect(stages.map(\.layer) == ["matmul"])
            let spearman = try #require(stages.first?.spearman)
            #expect(abs(spearman) < 0.5, "saliency kept its ranking: \(spearman)")
            #expect(value(explanation) == spearman)
        }
    }

    /// `max_layers` caps the stages (and is echoed); left out, every layer is a stage.
    @Test func maxLayersCapsTheStages() throws {
        let inputs = try RandomizationCase.inputs()
        let problem = ExplanationProblem(model: mlp, inputs: [inputs], output: 0, targets: nil)
        let metric = try #require(MetricCatalog.standard.metric(named: "randomization"))
        #expect(try metric.prepare([:], for: problem).effectiveParameters == ["max_layers": 5, "seed": 0])
        #expect(try metric.prepare(["max_layers": 9], for: problem).effectiveParameters == ["max_layers": 9, "seed": 0])
        let capped = try evaluate(mlp, inputs: inputs, targets: [0, 1, 2], method: "saliency", parameters: ["max_layers": 2])
        #expect(stages(capped[0]).map(\.layer) == ["/net/net.8/Gemm", "/net/net.6/Gemm"])
        #expect(throws: ExplanationError.self) { try metric.prepare(["max_layers": 0], for: problem) }
    }

    /// Convolutions and batch normalizations are randomized too: every stage of the
    /// normalized CNN changes its outputs and gives a correlation.
    @Test func convolutionalNetworksAreRandomizedLayerByLayer() throws {
        let model = try Fixtures.model("models/cnn_bn_relu.onnx")
        let shape = model.inputs[0].shape.dropFirst().map { $0.fixedValue ?? 1 }
        let count = shape.reduce(1, *)
        let inputs = try Tensor(shape: [1] + shape, scalars: (0..<count).map { Float(($0 * 37) % 11) / 5 - 1 })
        var previous = try model.predict([inputs])[0].scalars
        for stage in 1...model.parameterisedLayers.count {
            let outputs = try model.randomizingParameters(ofTopLayers: stage, seed: 0).predict([inputs])[0].scalars
            #expect(maxAbsoluteDifference(outputs, previous) > 1e-4, "stage \(stage) changed nothing")
            previous = outputs
        }
        let explained = try evaluate(model, inputs: inputs, targets: [0], method: "saliency")
        let stages = stages(explained[0])
        #expect(stages.count == 5 && stages.allSatisfy { $0.spearman.isFinite && abs($0.spearman) <= 1 })
        // Image instances are compared as pictures too: every stage has its SSIM.
        guard case .array(let figures)? = explained[0].quality["randomization"]?.objectValue?["stages"] else {
            Issue.record("no stages")
            return
        }
        let ssim = figures.compactMap { $0.objectValue?["ssim"]?.doubleValue }
        #expect(ssim.count == 5 && ssim.allSatisfy { abs($0) <= 1 }, "\(ssim)")
    }

    /// A model with nothing to randomize, and attributions without their method, are refused.
    @Test func modelsWithoutLayersAndAttributionsAloneAreRefused() throws {
        let relu = try ONNXModelLoader.load(
            try GraphFactory.model(
                nodes: [GraphFactory.node("Relu", ["x"], ["y"])], inputs: [GraphFactory.value("x", [nil, 3])],
                outputs: [GraphFactory.value("y", [nil, 3])]))
        let metric = try #require(MetricCatalog.standard.metric(named: "randomization"))
        let batch = try Tensor(shape: [1, 3], scalars: [1, 2, 3])
        #expect {
            try metric.prepare([:], for: ExplanationProblem(model: relu, inputs: [batch], output: 0, targets: nil))
        } throws: { ($0 as? ExplanationError)?.code == .methodNotApplicable }

        let problem = ExplanationProblem(model: mlp, inputs: [try RandomizationCase.inputs()], output: 0, targets: nil)
        let plan = try metric.prepare([:], for: problem)
        #expect {
            try EvaluationRunner.evaluate(
                attributions: Array(repeating: [try Tensor(shape: [6], scalars: [1, 2, 3, 4, 5, 6])], count: 3), problem: problem,
                metrics: [NamedMetricPlan(name: "randomization", plan: plan)], context: ExplanationContext())
        } throws: { ($0 as? ExplanationError)?.code == .invalidParameter }
    }
}
