import CandorModel
import CandorTensor

/// Guided backpropagation: the gradient with each ReLU passing back only positive gradient
/// where its input is positive. Springenberg et al., "Striving for Simplicity", 2015; Captum
/// `GuidedBackprop`.
public struct GuidedBackprop: Explainer {
    public let descriptor = MethodDescriptor(
        name: "guided_backprop", family: "gradient",
        summary: "the gradient with each ReLU passing back only positive gradient at positive input",
        reference: "Captum GuidedBackprop", requirement: .differentiable, parameters: [])

    public init() {}

    public func prepare(_ parameters: [String: JSONValue], for problem: ExplanationProblem) throws(ExplanationError) -> any ExplanationPlan
    {
        let reader = try ParameterReader(parameters, specs: descriptor.parameters, method: descriptor.name)
        return GradientPlan(
            model: try differentiable(problem.model), effectiveParameters: reader.effective,
            pass: BackwardPass(rule: ModifiedReluRule(.guidedBackpropagation))
        ) { _, gradient in gradient }
    }
}
