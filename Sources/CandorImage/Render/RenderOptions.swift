/// How to draw image attributions, with the defaults of Captum's `visualize_image_attr`.
public struct RenderOptions: Sendable, Equatable {
    /// Captum's `method`; default `heat_map`.
    public var kind: RenderKind
    /// Captum's `sign`; default `absolute_value`.
    public var sign: RenderSign
    /// Captum's `outlier_perc`: the top values making up this percentage of the total absolute
    /// attribution are clipped to 1 and the rest scaled by the smallest of them; default 2.
    public var outlierPercent: Double
    /// Captum's `cmap`; `nil` is Captum's default for the sign (`RenderSign.defaultColormap`).
    /// Used only by the kinds that draw a heat map.
    public var colormap: Colormap?
    /// Captum's `alpha_overlay`: the heat map's opacity in `blended_heat_map`; default 0.5.
    public var alphaOverlay: Double

    public init(
        kind: RenderKind = .heatMap, sign: RenderSign = .absoluteValue, outlierPercent: Double = 2,
        colormap: Colormap? = nil, alphaOverlay: Double = 0.5
    ) {
        self.kind = kind
        self.sign = sign
        self.outlierPercent = outlierPercent
        self.colormap = colormap
        self.alphaOverlay = alphaOverlay
    }

    /// The colormap the heat map is drawn with: the one given, else Captum's default for the sign.
    public var resolvedColormap: Colormap { colormap ?? sign.defaultColormap }

    /// Throws a sentence when a combination Captum refuses (`masked_image` and `alpha_scaling`
    /// cannot show signed values, so Captum asserts on sign `all`), or a value out of range:
    /// `outlierPercent` in 0..<100 (Captum's percentile 100 − outlier must leave something to
    /// scale by), `alphaOverlay` in 0...1.
    public func validate() throws {
        if sign == .all && (kind == .maskedImage || kind == .alphaScaling) {
            throw RenderError(
                .invalidOptions,
                "\(kind.rawValue) cannot show positive and negative attributions together; "
                    + "choose sign positive, negative or absolute_value."
            )
        }
        guard outlierPercent >= 0 && outlierPercent < 100 else {
            throw RenderError(.invalidOptions, "outlier_perc must be at least 0 and below 100, not \(outlierPercent).")
        }
        guard alphaOverlay >= 0 && alphaOverlay <= 1 else {
            throw RenderError(.invalidOptions, "alpha_overlay must be between 0 and 1, not \(alphaOverlay).")
        }
    }
}
