import CandorExplain
import CandorModel
import CandorTensor
import CandorTestSupport
import Foundation
import Synchronization
import Testing

/// A differentiable model that runs `onGradient` before every gradient pass of the model it
/// wraps (a test cancels a job from there), and `onPredict` before every forward-only pass.
struct ObservedModel: DifferentiableModel {
    let model: ONNXModel
    let onGradient: @Sendable () -> Void
    var onPredict: @Sendable () -> Void = {}

    var inputs: [TensorInfo] { model.inputs }
    var outputs: [TensorInfo] { model.outputs }
    var elementsPerInstance: Int { model.elementsPerInstance }
    var layers: [TensorInfo] { model.layers }
    var fixedBatchSize: Int? { model.fixedBatchSize }
    var lastConvolutionOutput: String? { model.lastConvolutionOutput }

    func predict(_ inputs: [Tensor]) throws(ModelError) -> [Tensor] {
        onPredict()
        return try model.predict(inputs)
    }
    func lrpRefusals(feeding output: Int) -> [LRPRefusal] { model.lrpRefusals(feeding: output) }

    func gradient(
        _ inputs: [Tensor], output: Int, pass: BackwardPass, seed: (Tensor, Range<Int>) throws(ModelError) -> Tensor
    ) throws(ModelError) -> GradientResult {
        onGradient()
        return try model.gradient(inputs, output: output, pass: pass, seed: seed)
    }
}

/// Loads the demo models and their data once per suite.
enum DemoData {
    /// The shapes CNN and its sidecar's 8 background images, [8, 3, 32, 32].
    static func shapes() throws -> (model: ONNXModel, images: Tensor) {
        let model = try AnalysisRun.repositoryModel("models/shapes_cnn.onnx")
        let rows = try #require(try AnalysisRun.repositoryJSON("models/shapes_mlp.background.json") as? [[[[Double]]]])
        let scalars = rows.flatMap { $0.flatMap { $0.flatMap { $0.map(Float.init) } } }
        return (model, try Tensor(shape: [rows.count, 3, 32, 32], scalars: scalars))
    }

    /// The iris MLP and its 30 background rows, [30, 4].
    static func iris() throws -> (model: ONNXModel, rows: Tensor) {
        let model = try AnalysisRun.repositoryModel("models/iris_mlp.onnx")
        let rows = try #require(try AnalysisRun.repositoryJSON("models/iris_mlp.background.json") as? [[Double]])
        return (model, try Tensor(shape: [rows.count, 4], scalars: rows.flatMap { $0.map(Float.init) }))
    }
}

/// `activation_maximization`: gradient ascent on the input towards what a unit responds to.
@Suite struct ActivationMaximizationTests {
    let shapes: (model: ONNXModel, images: Tensor)
    let iris: (model: ONNXModel, rows: Tensor)

    init() throws {
        shapes = try DemoData.shapes()
        iris = try DemoData.iris()
    }

    static func objective(_ result: JSONValue) -> [Double] { AnalysisTesting.numbers(result.objectValue?["objective"]) }

    /// Every step raises J when the learning rate is small, with both penalties and clamping on,
    /// for a class output and for a channel of a convolution (the CNN) and for a tabular MLP.
    @Test(
        arguments: [
            ["target": 1, "learning_rate": 0.02, "l2": 0.001, "total_variation": 0.01],
            ["layer": "/net/net.9/Relu_output_0", "neuron": 5, "learning_rate": 0.02, "l2": 0.001, "total_variation": 0.01],
        ] as [[String: JSONValue]])
    func theObjectiveRisesAtEveryStepOnTheCNN(_ parameters: [String: JSONValue]) throws {
        var parameters = parameters
        let target = parameters.removeValue(forKey: "target")?.doubleValue.map(Int.init)
        parameters["steps"] = 24
        let problem = AnalysisProblem(model: shapes.model, rows: [shapes.images], output: 0, target: target)
        let (result, _, progress) = try AnalysisTesting.run("activation_maximization", parameters, problem: problem)
        let objective = Self.objective(result)
        #expect(objective.count == 24)
        #expect(progress.done == 24 && progress.total == 24)
        for (before, after) in zip(objective, objective.dropFirst()) { #expect(after >= before - 1e-5 * abs(before)) }
        #expect((result.objectValue?["final_objective"]?.doubleValue ?? -.infinity) > objective[0])
    }

    @Test func theObjectiveRisesAtEveryStepOnATabularMLP() throws {
        for target in 0..<3 {
            let problem = AnalysisProblem(model: iris.model, rows: [iris.rows], output: 0, target: target)
            let (result, _, _) = try AnalysisTesting.run(
                "activation_maximization", ["steps": 100, "learning_rate": 0.01, "l2": 0.05, "clamp": false], problem: problem)
            let objective = Self.objective(result)
            for (before, after) in zip(objective, objective.dropFirst()) { #expect(after >= before - 1e-6 * abs(before)) }
            #expect((result.objectValue?["final_objective"]?.doubleValue ?? -.infinity) > objective[0])
        }
    }

    /// With the default settings the class's logit ends far above its values over the dataset:
    /// more than its largest there by more than the dataset's whole range of it.
    @Test func theTargetEndsFarAboveItsValuesOverTheDataset() throws {
        let logits = try shapes.model.predict([shapes.images])[0]
        for target in 0..<3 {
            let column = (0..<shapes.images.shape[0]).map { Double(logits.scalars[$0 * 3 + target]) }
            let problem = AnalysisProblem(model: shapes.model, rows: [shapes.images], output: 0, target: target)
            let (result, _, _) = try AnalysisTesting.run("activation_maximization", ["steps": 64, "learning_rate": 0.5], problem: problem)
            let final = try #require(result.objectValue?["final_activation"]?.doubleValue)
            let (low, high) = (column.min() ?? 0, column.max() ?? 0)
            #expect(final > high + (high - low), "class \(target): \(final) vs the dataset's \(low)…\(high)")
            #expect(result.objectValue?["target"] == .number(Double(target)))
            // Clamped to each element's range over the dataset.
            let pixels = AnalysisTesting.numbers(result.objectValue?["input"])
            #expect(pixels.count == 3 * 32 * 32)
            #expect(pixels.allSatisfy { $0 >= 0 && $0 <= 1 })
        }
    }

    /// On a linear unit a·x + b with no clamping, each step is x ← x + η(w − 2λ(x − μ)): after T
    /// steps x − μ = (x₀ − μ)(1 − 2ηλ)ᵀ + w (1 − (1 − 2ηλ)ᵀ)/(2λ), and without L2, J rises by η‖w‖² a step.
    @Test func aLinearUnitsAscentIsTheClosedFormStep() throws {
        let weights: [Float] = [3, 0, -1]
        let model = try ONNXModelLoader.load(try GraphFactory.linearModel(weights: weights.map { [$0] }, bias: [0.5]))
        let data = try Tensor(shape: [4, 3], scalars: [1, 2, 3, -1, 0, 1, 2, 2, -2, 0.5, 1, 4])
        let mean: [Float] = [0.625, 1.25, 1.5]
        let problem = AnalysisProblem(model: model, rows: [data])
        let (plain, _, _) = try AnalysisTesting.run(
            "activation_maximization", ["steps": 10, "learning_rate": 0.1, "clamp": false], problem: problem)
        let objective = Self.objective(plain)
        for (before, after) in zip(objective, objective.dropFirst()) { #expect(abs(after - before - 0.1 * 10) < 1e-4) }

        let (penalised, _, _) = try AnalysisTesting.run(
            "activation_maximization", ["steps": 200, "learning_rate": 0.1, "l2": 0.5, "clamp": false], problem: problem)
        let input = AnalysisTesting.numbers(penalised.objectValue?["input"])
        // (1 − 2ηλ)²⁰⁰ = 0.9²⁰⁰ ≈ 7e-10: x = μ + w/(2λ).
        for index in 0..<3 { #expect(abs(input[index] - Double(mean[index] + weights[index])) < 1e-4) }
    }

    @Test func theSameSeedGivesTheSameInputAndAnotherSeedAnother() throws {
        let problem = AnalysisProblem(model: shapes.model, rows: [shapes.images], output: 0, target: 2)
        let parameters: [String: JSONValue] = ["steps": 6, "jitter": 2, "total_variation": 0.01, "seed": 7]
        let first = try AnalysisTesting.run("activation_maximization", parameters, problem: problem).result
        let second = try AnalysisTesting.run("activation_maximization", parameters, problem: problem).result
        #expect(first == second)
        var other = parameters
        other["seed"] = 8
        let third = try AnalysisTesting.run("activation_maximization", other, problem: problem).result
        #expect(first.objectValue?["input"] != third.objectValue?["input"])
    }

    /// A job cancelled during the ascent stops before its next step.
    @Test func cancellationStopsBetweenSteps() throws {
        let cancellation = CancellationFlag()
        let passes = Mutex(0)
        let model = ObservedModel(model: iris.model) {
            let count = passes.withLock { (value: inout Int) -> Int in
                value += 1
                return value
            }
            if count == 5 { cancellation.cancel() }
        }
        let problem = AnalysisProblem(model: model, rows: [iris.rows], output: 0, target: 0)
        let plan = try ActivationMaximization().prepare(["steps": 100], for: problem)
        let progress = AnalysisProgress(total: plan.progressTotal, unit: plan.progressUnit)
        #expect(plan.progressTotal == 100 && plan.progressUnit == "steps")
        let context = AnalysisContext(explanation: ExplanationContext(cancellation: cancellation), progress: progress)
        let error = AnalysisRun.error { _ = try plan.run(problem, context: context) }
        #expect(error?.code == .cancelled)
        #expect(progress.done == 5)
        #expect(passes.withLock { $0 } == 5)
    }

    @Test(
        arguments: [
            (["layer": "no_such_tensor", "neuron": 0], "no_such_tensor"),
            (["layer": "/net/net.9/Relu_output_0"], "'neuron'"),
            (["layer": "/net/net.9/Relu_output_0", "neuron": 16], "16 channels"),
            (["layer": "/net/net.11/Flatten_output_0", "neuron": 16], "16 values per instance"),
            (["neuron": 3], "'neuron'"),
            (["learning_rate": 0], "'learning_rate'"),
            (["steps": 10_001], "'steps'"),
            (["jitter": 17], "'jitter'"),
            (["target_typo": 1], "target_typo"),
        ] as [([String: JSONValue], String)])
    func badParametersAreRefusedByName(_ parameters: [String: JSONValue], _ named: String) throws {
        let problem = AnalysisProblem(model: shapes.model, rows: [shapes.images], output: 0, target: 0)
        let error = try #require(AnalysisRun.error { _ = try ActivationMaximization().prepare(parameters, for: problem) })
        #expect(error.code == .invalidParameter)
        #expect(error.message.contains(named), "\(error.message)")
    }

    @Test func imagePenaltiesAreRefusedOnTabularModelsAndGradientFreeModelsAreRefused() throws {
        let problem = AnalysisProblem(model: iris.model, rows: [iris.rows], output: 0, target: 0)
        for parameter in ["total_variation", "jitter"] {
            let error = AnalysisRun.error { _ = try ActivationMaximization().prepare([parameter: 1], for: problem) }
            #expect(error?.code == .invalidParameter)
            #expect(error?.message.contains(parameter) == true)
        }
        #expect(
            AnalysisRun.error { _ = try ActivationMaximization().prepare([:], for: AnalysisProblem(model: iris.model, rows: [iris.rows])) }?
                .code == .invalidTarget)
        let function = FunctionModel(features: 2) { [$0[0] + $0[1]] }
        let error = AnalysisRun.error {
            _ = try ActivationMaximization().prepare(
                [:], for: AnalysisProblem(model: function, rows: [try AnalysisTesting.rows([[1, 2]])]))
        }
        #expect(error?.code == .methodNotApplicable)
    }
}
