/// Which attributions are shown: the `sign` argument of Captum's `visualize_image_attr`.
public enum RenderSign: String, Sendable, CaseIterable {
    /// Positive and negative attributions, normalised by their absolute values to [-1, 1].
    case all
    /// Only positive attributions (negative ones become 0).
    case positive
    /// Only negative attributions, shown by magnitude in [0, 1].
    case negative
    /// The absolute values.
    case absoluteValue = "absolute_value"

    /// The colormap Captum draws this sign with when none is given
    /// (`_initialize_cmap_and_vmin_vmax`): red–white–green for all, Greens, Reds, Blues.
    public var defaultColormap: Colormap {
        switch self {
        case .all: .generated("RdWhGn")
        case .positive: .generated("Greens")
        case .negative: .generated("Reds")
        case .absoluteValue: .generated("Blues")
        }
    }

    /// The range Captum maps onto the colormap (its `vmin`/`vmax`): [-1, 1] for all, else [0, 1].
    public var colorRange: ClosedRange<Float> {
        self == .all ? -1...1 : 0...1
    }
}
