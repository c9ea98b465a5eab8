import CandorModel
import CandorTensor

/// One gradient pass over the batch (under a backward rule, if any), each input's gradient
/// then transformed per element.
struct GradientPlan: FirstPassPlan {
    let model: any DifferentiableModel
    let effectiveParameters: [String: JSONValue]
    var pass = BackwardPass.plain
    /// Maps (input, ∂f/∂input) to the attribution, both batched.
    let transform: @Sendable (Tensor, Tensor) throws(TensorError) -> Tensor

    func attribute(
        _ problem: ExplanationProblem, resolved: ResolvedProblem?, context: ExplanationContext
    ) throws(ExplanationError) -> (ResolvedProblem, [InstanceAttribution]) {
        let (resolved, result) = try TargetGradients.atInstances(problem, resolved: resolved, model: model, pass: pass, context: context)
        let perInput: [[Tensor]]
        do {
            perInput = try zip(problem.inputs, result.inputGradients).map { input, gradient throws(TensorError) in
                try transform(input, gradient).unstacked()
            }
        } catch {
            throw ExplanationError(.modelFailure, "\(error)")
        }
        return (resolved, (0..<problem.batchSize).map { row in InstanceAttribution(attributions: perInput.map { $0[row] }) })
    }
}
