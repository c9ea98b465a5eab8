import CandorModel
import CandorTensor

/// Input × gradient: x ⊙ ∂f/∂x, a first-order estimate of each feature's contribution.
/// Shrikumar et al., 2016; Captum `InputXGradient`.
public struct InputXGradient: Explainer {
    public let descriptor = MethodDescriptor(
        name: "input_x_gradient", family: "gradient",
        summary: "x ⊙ ∂f/∂x for the target output", reference: "Captum InputXGradient",
        requirement: .differentiable,
        checkedAgainst:
            "Captum 0.9 `InputXGradient` on the MLP and CNN fixtures and on the demo text model's word embeddings, per token; a dummy feature gets 0 and symmetric features equal credit",
        parameters: [])

    public init() {}

    public func prepare(_ parameters: [String: JSONValue], for problem: ExplanationProblem) throws(ExplanationError) -> any ExplanationPlan
    {
        let reader = try ParameterReader(parameters, specs: descriptor.parameters, method: descriptor.name)
        return GradientPlan(model: try differentiable(problem.model), effectiveParameters: reader.effective) {
            input, gradient throws(TensorError) in try input.zipMap(gradient) { $0 * $1 }
        }
    }
}
