import CandorModel
import CandorTensor

/// One gradient pass over the batch (under a backward rule, if any), each input's gradient
/// then transformed per element.
struct GradientPlan: ExplanationPlan {
    let model: any DifferentiableModel
    let effectiveParameters: [String: JSONValue]
    var pass = BackwardPass.plain
    /// Maps (input, ∂f/∂input) to the attribution, both batched.
    let transform: @Sendable (Tensor, Tensor) throws(TensorError) -> Tensor

    func run(_ problem: ResolvedProblem, context: ExplanationContext) throws(ExplanationError) -> [InstanceAttribution] {
        let inputs = problem.problem.inputs
        let gradients = try TargetGradients.compute(
            model: model, inputs: inputs, output: problem.problem.output, targets: problem.targets, pass: pass, context: context
        ).inputGradients
        let perInput: [[Tensor]]
        do {
            perInput = try zip(inputs, gradients).map { input, gradient throws(TensorError) in try transform(input, gradient).unstacked() }
        } catch {
            throw ExplanationError(.modelFailure, "\(error)")
        }
        return (0..<problem.problem.batchSize).map { row in
            InstanceAttribution(attributions: perInput.map { $0[row] })
        }
    }
}
