import CandorModel
import CandorTensor

/// Guided backpropagation: the gradient with each ReLU passing back only positive gradient
/// where its input is positive. Springenberg et al., "Striving for Simplicity", 2015; Captum
/// `GuidedBackprop`.
public struct GuidedBackprop: Explainer {
    public let descriptor = MethodDescriptor(
        name: "guided_backprop", family: "gradient",
        summary: "the gradient with each ReLU passing back only positive gradient at positive input",
        reference: "Captum GuidedBackprop", requirement: .differentiable,
        checkedAgainst:
            "Captum 0.9 `GuidedBackprop` on the four CNN fixtures",
        details: """
            Springenberg et al., 2015: the gradient, except that each `Relu` passes back only the
            positive part of its gradient, and only where its input was positive; as in Captum, no
            other operator is changed.
            """,
        parameters: [])

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
