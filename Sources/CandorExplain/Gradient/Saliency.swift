import CandorModel
import CandorTensor

/// Saliency: the gradient of the target output with respect to the input, in absolute value
/// by default. Simonyan et al., "Deep Inside Convolutional Networks", 2013; Captum `Saliency`.
public struct Saliency: Explainer {
    public let descriptor = MethodDescriptor(
        name: "saliency", family: "gradient",
        summary: "∂f/∂x for the target output, in absolute value unless abs is false",
        reference: "Captum Saliency", requirement: .differentiable,
        checkedAgainst:
            "Captum 0.9 `Saliency` on the MLP, CNN and exporter-zoo fixtures (the Keras models against TensorFlow's gradients), and on the demo text model's word embeddings, per token; |w| on a linear model",
        details: """
            ∂f/∂x, the gradient of the target output with respect to each input element, in absolute
            value unless `abs` is false (Captum's default too). The exporter-zoo fixtures are models as
            PyTorch's dynamo and legacy exporters write them (MaxPool with `storage_order`,
            LayerNormalization, GELU, attention) and Keras 3 models converted by tf2onnx (an NHWC
            transpose, folded batch norm); their saliency is compared with Captum's, and with
            TensorFlow's `GradientTape` for the Keras models.
            """,
        parameters: [ParameterSpec("abs", .boolean, default: true, summary: "return |∂f/∂x| instead of ∂f/∂x")])

    public init() {}

    public func prepare(_ parameters: [String: JSONValue], for problem: ExplanationProblem) throws(ExplanationError) -> any ExplanationPlan
    {
        var reader = try ParameterReader(parameters, specs: descriptor.parameters, method: descriptor.name)
        let takesAbsoluteValue = try reader.bool("abs")
        return GradientPlan(model: try differentiable(problem.model), effectiveParameters: reader.effective) { input, gradient in
            takesAbsoluteValue ? gradient.map { Swift.abs($0) } : gradient
        }
    }
}
