import CandorModel
import CandorTensor

/// Grad-CAM: at a convolutional layer A, each channel weighted by the spatial mean of
/// ∂f/∂Aᵏ, summed over channels, ReLU'd if asked, and brought to the input's size.
/// Selvaraju et al., "Grad-CAM", ICCV 2017; Captum `LayerGradCam` followed by
/// `LayerAttribution.interpolate`. The attributions are one map per instance, [1, H, W]
/// (the layer's [1, h, w] with `upsample` none).
public struct GradCam: Explainer {
    public let descriptor = MethodDescriptor(
        name: "grad_cam", family: "gradient",
        summary: "Grad-CAM: channels of a convolutional layer weighted by their mean gradient, summed, upsampled to the input",
        reference: "Captum LayerGradCam + LayerAttribution.interpolate", requirement: .differentiable,
        checkedAgainst:
            "Captum 0.9 `LayerGradCam` + `LayerAttribution.interpolate` (none, bilinear, nearest) on the four CNN fixtures",
        details: """
            Σₖ mean(∂f/∂Aᵏ)·Aᵏ at a [N, C, h, w] layer (by default the output of the last Conv node),
            ReLU'd if asked, upsampled to the input as PyTorch's `interpolate` does (align_corners
            false): one [1, H, W] map per instance.
            """,
        parameters: [
            LayerSelection.parameter("the [N, C, h, w] layer (default: the output of the last Conv node)"),
            ParameterSpec("relu_attributions", .boolean, default: false, summary: "apply a ReLU to the map"),
            ParameterSpec.choice(
                "upsample", default: GradCamMap.Upsampling.bilinear,
                summary: "how the map is brought to the input's height and width (PyTorch's interpolate, align_corners false)"),
        ])

    public init() {}

    public func prepare(_ parameters: [String: JSONValue], for problem: ExplanationProblem) throws(ExplanationError) -> any ExplanationPlan
    {
        Plan(map: try GradCamMap(parameters, for: problem, method: self))
    }

    struct Plan: FirstPassPlan {
        let map: GradCamMap
        var effectiveParameters: [String: JSONValue] { map.effectiveParameters }

        func attribute(
            _ problem: ExplanationProblem, resolved: ResolvedProblem?, context: ExplanationContext
        ) throws(ExplanationError) -> (ResolvedProblem, [InstanceAttribution]) {
            let (resolved, maps) = try map.compute(problem, resolved: resolved, context: context)
            return (resolved, maps.map { InstanceAttribution(attributions: [$0]) })
        }
    }
}
