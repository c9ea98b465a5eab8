import CandorModel
import CandorTensor

/// Deconvolution: the gradient with each ReLU passing back the positive part of the incoming
/// gradient, whatever its input. Zeiler & Fergus, "Visualizing and Understanding
/// Convolutional Networks", 2014; Captum `Deconvolution`.
public struct Deconvolution: Explainer {
    public let descriptor = MethodDescriptor(
        name: "deconvolution", family: "gradient",
        summary: "the gradient with each ReLU passing back relu(incoming gradient)",
        reference: "Captum Deconvolution", requirement: .differentiable,
        checkedAgainst:
            "Captum 0.9 `Deconvolution` on the four CNN fixtures",
        details: """
            Zeiler & Fergus, 2014: the gradient, except that each `Relu` passes back the positive
            part of the incoming gradient whatever its input; as in Captum, no other operator is
            changed.
            """,
        parameters: [])

    public init() {}

    public func prepare(_ parameters: [String: JSONValue], for problem: ExplanationProblem) throws(ExplanationError) -> any ExplanationPlan
    {
        let reader = try ParameterReader(parameters, specs: descriptor.parameters, method: descriptor.name)
        return GradientPlan(
            model: try differentiable(problem.model), effectiveParameters: reader.effective,
            pass: BackwardPass(rule: ModifiedReluRule(.deconvolution))
        ) { _, gradient in gradient }
    }
}
