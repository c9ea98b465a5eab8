import CandorModel
import CandorTensor

/// Guided Grad-CAM: guided backpropagation times the ReLU'd Grad-CAM map, upsampled and
/// broadcast over the input's channels. Selvaraju et al., 2017; Captum `GuidedGradCam`.
public struct GuidedGradCam: Explainer {
    public let descriptor = MethodDescriptor(
        name: "guided_grad_cam", family: "gradient",
        summary: "guided backpropagation ⊙ the ReLU'd Grad-CAM map upsampled to the input",
        reference: "Captum GuidedGradCam", requirement: .differentiable,
        checkedAgainst:
            "Captum 0.9 `GuidedGradCam` on the four CNN fixtures; equal to guided backpropagation ⊙ the ReLU'd Grad-CAM map",
        parameters: [
            LayerSelection.parameter("the [N, C, h, w] layer (default: the output of the last Conv node)"),
            ParameterSpec.choice(
                "upsample", [GradCamMap.Upsampling.nearest, .bilinear], default: .nearest,
                summary: "how the Grad-CAM map is brought to the input's size (Captum's interpolate_mode)"),
        ])

    public init() {}

    public func prepare(_ parameters: [String: JSONValue], for problem: ExplanationProblem) throws(ExplanationError) -> any ExplanationPlan
    {
        Plan(map: try GradCamMap(parameters, for: problem, method: self, relu: true))
    }

    struct Plan: FirstPassPlan {
        let map: GradCamMap
        var effectiveParameters: [String: JSONValue] { map.effectiveParameters }

        func attribute(
            _ problem: ExplanationProblem, resolved: ResolvedProblem?, context: ExplanationContext
        ) throws(ExplanationError) -> (ResolvedProblem, [InstanceAttribution]) {
            let (resolved, maps) = try map.compute(problem, resolved: resolved, context: context)
            let guided = try TargetGradients.compute(
                model: map.model, inputs: problem.inputs, output: problem.output, targets: resolved.targets,
                pass: BackwardPass(rule: ModifiedReluRule(.guidedBackpropagation)), context: context
            ).inputGradients[0].unstacked()
            return (
                resolved,
                zip(guided, maps).map { gradient, map in
                    // The [1, H, W] map broadcast over the input's C channels.
                    var product = gradient
                    let plane = map.count
                    for index in product.scalars.indices { product.scalars[index] *= map.scalars[index % plane] }
                    return InstanceAttribution(attributions: [product])
                }
            )
        }
    }
}
