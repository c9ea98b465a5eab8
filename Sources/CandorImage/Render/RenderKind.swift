/// How attributions are drawn: the `method` argument of Captum's
/// `captum.attr.visualization.visualize_image_attr`, spelled as Captum spells it.
public enum RenderKind: String, Sendable, CaseIterable {
    /// The normalised attributions through a colormap.
    case heatMap = "heat_map"
    /// The heat map at `alphaOverlay` over a greyscale version of the original.
    case blendedHeatMap = "blended_heat_map"
    /// The original multiplied pixel by pixel by the normalised attributions.
    case maskedImage = "masked_image"
    /// The original with its alpha set to the normalised attributions.
    case alphaScaling = "alpha_scaling"
    /// The original alone.
    case originalImage = "original_image"
}
