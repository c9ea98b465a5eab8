import CandorModel
import CandorTensor

/// Layer gradient × activation: A ⊙ ∂f/∂A at an intermediate tensor A, shaped like the layer.
/// Captum `LayerGradientXActivation`.
public struct LayerGradientXActivation: Explainer {
    public let descriptor = MethodDescriptor(
        name: "layer_gradient_x_activation", family: "layer",
        summary: "A ⊙ ∂f/∂A at an intermediate tensor A (attributions shaped like the layer)",
        reference: "Captum LayerGradientXActivation", requirement: .differentiable,
        checkedAgainst:
            "Captum 0.9 `LayerGradientXActivation` on the four CNN fixtures and on the demo text model's word embeddings, per token",
        parameters: [LayerSelection.parameter("the intermediate tensor A (required, except for text instances: the word embeddings)")])

    public init() {}

    public func prepare(_ parameters: [String: JSONValue], for problem: ExplanationProblem) throws(ExplanationError) -> any ExplanationPlan
    {
        var reader = try ParameterReader(parameters, specs: descriptor.parameters, method: descriptor.name)
        let model = try differentiable(problem.model)
        let layer = try LayerSelection.resolve(&reader, model: model, fallback: nil, method: descriptor.name, batchSize: problem.batchSize)
        return Plan(model: model, layer: layer, effectiveParameters: reader.effective)
    }

    struct Plan: ExplanationPlan {
        let model: any DifferentiableModel
        let layer: String
        let effectiveParameters: [String: JSONValue]

        func run(_ problem: ResolvedProblem, context: ExplanationContext) throws(ExplanationError) -> [InstanceAttribution] {
            let result = try TargetGradients.compute(
                model: model, inputs: problem.problem.inputs, output: problem.problem.output, targets: problem.targets,
                pass: BackwardPass(layers: [layer], needsInputGradients: false), context: context)
            do {
                return try result.layerValues[0].zipMap(result.layerGradients[0]) { $0 * $1 }.unstacked().map {
                    InstanceAttribution(attributions: [$0])
                }
            } catch {
                throw ExplanationError(.modelFailure, "\(error)")
            }
        }
    }
}
