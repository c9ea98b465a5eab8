import CandorModel
import CandorTensor
import CandorTestSupport
import Foundation
import Synchronization
import Testing

@testable import CandorExplain

/// The methods whose first pass is a gradient pass at the instances (``FirstPassPlan``) learn
/// the outputs and targets in that pass: the model runs once, and the explanation, outputs,
/// targets and errors are those of a separate forward pass followed by the method.
@Suite struct FirstPassTests {
    /// How many forward-only and gradient passes (one per chunk) the model ran.
    final class CountedPasses: Sendable {
        let predictions = Atomic<Int>(0)
        let gradients = Atomic<Int>(0)
    }

    static let firstPassMethods = [
        "saliency", "input_x_gradient", "guided_backprop", "deconvolution", "grad_cam", "guided_grad_cam", "lrp",
    ]

    /// The CNN on three images, its passes counted.
    static func problem(targets: [Int]?, output: Int = 0) throws -> (CountedPasses, ExplanationProblem) {
        let passes = CountedPasses()
        let model = ObservedModel(
            model: try ONNXModelLoader.load(contentsOf: Fixtures.repository.appendingPathComponent("models/shapes_cnn.onnx")),
            onGradient: { passes.gradients.add(1, ordering: .relaxed) }, onPredict: { passes.predictions.add(1, ordering: .relaxed) })
        let images = try Tensor(shape: [3, 3, 32, 32], scalars: (0..<(3 * 3072)).map { Float(($0 * 7919) % 1000) / 1000 })
        return (passes, ExplanationProblem(model: model, inputs: [images], output: output, targets: targets))
    }

    /// With default and given targets, alone and with a lent worker (the pass then comes in
    /// chunks, each resolving its own rows), the one-pass run gives what a forward pass and
    /// then the method give, without a forward-only pass.
    @Test(arguments: firstPassMethods)
    func oneGradientPassExplainsAsAForwardPassAndTheMethodDo(method: String) throws {
        let explainer = try #require(MethodCatalog.standard.explainer(named: method))
        for targets in [nil, [2, 0, 1]] as [[Int]?] {
            for lent in [false, true] {
                let (passes, problem) = try Self.problem(targets: targets)
                let context = ExplanationContext(idleWorkers: lent ? LentThreads(available: 1) : nil)
                let plan = try explainer.prepare([:], for: problem)
                let explanations = try ExplanationRunner.run(plan, problem: problem, context: context)
                #expect(passes.predictions.load(ordering: .relaxed) == 0)
                #expect(passes.gradients.load(ordering: .relaxed) >= 1)

                let resolved = try ExplanationRunner.resolve(problem, context: ExplanationContext())
                let reference = try plan.run(resolved, context: ExplanationContext())
                #expect(passes.predictions.load(ordering: .relaxed) == 1)
                #expect(explanations.map(\.target) == resolved.targets)
                #expect(isClose(explanations.flatMap(\.output.scalars), resolved.outputValues.scalars, absolute: 1e-5, relative: 1e-5))
                #expect(
                    isClose(
                        explanations.flatMap { $0.attribution.attributions.flatMap(\.scalars) },
                        reference.flatMap { $0.attributions.flatMap(\.scalars) }, absolute: 1e-5, relative: 1e-4),
                    "\(method), targets \(String(describing: targets)), lent \(lent)")
            }
        }
    }

    /// A target out of range, a target count that is not the batch's and an output the model
    /// does not have are refused with the runner's own errors.
    @Test(arguments: firstPassMethods)
    func oneGradientPassRefusesWhatTheRunnerRefuses(method: String) throws {
        let explainer = try #require(MethodCatalog.standard.explainer(named: method))
        let cases: [([Int]?, Int, ExplanationError)] = [
            ([0, 5, 1], 0, ExplanationError(.invalidTarget, "target 5 of instance 1 is out of range: the output has 3 values (0…2)")),
            ([0, 1], 0, ExplanationError(.invalidTarget, "2 targets were given for 3 instances")),
            (nil, 4, ExplanationError(.unknownOutput, "the model has no output number 4")),
        ]
        for (targets, output, expected) in cases {
            let (_, problem) = try Self.problem(targets: targets, output: output)
            #expect(throws: expected) { try ExplanationRunner.resolve(problem, context: ExplanationContext()) }
            #expect(throws: expected) {
                try ExplanationRunner.run(try explainer.prepare([:], for: problem), problem: problem, context: ExplanationContext())
            }
        }
    }
}
