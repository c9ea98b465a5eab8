/// Image attributions as the picture Captum's `captum.attr.visualization.visualize_image_attr`
/// (Captum 0.9.0, drawn by matplotlib 3.11's Agg backend) shows, one image pixel per
/// attribution pixel.
///
/// The arithmetic follows Captum's and numpy's types so the results are the same numbers, not
/// merely close: attributions are float32 there as here, so the channel sum, the cumulative
/// sums of the threshold and the division are done in `Float`; the original image becomes
/// integers by `_prepare_image` (truncation, clipped to 0…255) and the pictures are matplotlib's
/// lookups and Agg's 8-bit blend. `Tests/Fixtures/render/visualize_image_attr.json`
/// (`scripts/fixtures/make_render_fixtures.py`) holds Captum's results, checked there against
/// actual Agg renders.
public enum AttributionRendering {
    /// Captum's `_normalize_attr` of the attributions summed over their channels: H·W values,
    /// row-major.
    ///
    /// The channels are summed (Captum's `np.sum(attr, axis=2)`; `channelsFirst` says whether
    /// `attribution` is C×H×W or H×W×C), the sign selected (`positive`: max(a, 0), `negative`:
    /// min(a, 0), `absolute_value`: |a|, `all`: a), and the result divided by
    /// `_cumulative_sum_threshold(|a|, 100 − outlierPercent)` — the smallest of the sorted
    /// magnitudes whose cumulative sum reaches that percentage of the total, negated for
    /// `negative` so its values come out in [0, 1] — then clipped to [-1, 1].
    ///
    /// Where Captum would fail this returns something instead: a threshold of 0 (all selected
    /// attributions zero — e.g. sign `negative` with no negative attribution), on which Captum
    /// asserts, gives zeros; a target the float32 cumulative sums never reach (possible with
    /// `outlierPercent` 0, where Captum raises an IndexError) takes the largest magnitude.
    /// Non-finite attributions (and channel sums that overflow) count as 0.
    ///
    /// Throws `RenderError.Code.shapeMismatch` when `attribution` does not hold
    /// height × width × channels values or a size is not positive.
    public static func normalized(
        _ attribution: [Float], height: Int, width: Int, channels: Int, channelsFirst: Bool, sign: RenderSign,
        outlierPercent: Double
    ) throws -> [Double] {
        try normalizedFloats(
            attribution, height: height, width: width, channels: channels, channelsFirst: channelsFirst, sign: sign,
            outlierPercent: outlierPercent
        ).map(Double.init)
    }

    /// The picture Captum's figure shows at native resolution (one image pixel per attribution
    /// pixel), row-major, top row first.
    ///
    /// - `heat_map`: the colormap (`options.colormap`, else Captum's default for the sign) of the
    ///   normalised values mapped from Captum's vmin…vmax ([-1, 1] for sign all, else [0, 1]). RGB.
    /// - `blended_heat_map`: the channel mean of the original drawn with 'gray' — autoscaled to
    ///   its own min…max, as `imshow` does without vmin/vmax — with the heat map over it at
    ///   `alphaOverlay`, blended as Agg does: alpha becomes the byte ⌊255·alpha⌋ and each channel
    ///   Agg's integer plain-RGBA blend over the opaque grey. RGB. (The float formula
    ///   alpha·heat + (1 − alpha)·grey differs from what matplotlib shows by up to 1.5.)
    /// - `masked_image`: Captum's `_prepare_image(original · norm)` (the original as integers
    ///   0…255 times the normalised value, truncated). RGB.
    /// - `alpha_scaling`: the original with alpha `_prepare_image(norm · 255)`. RGBA (the figure
    ///   shows it over white).
    /// - `original_image`: the original as `_prepare_image(original · 255)`. RGB.
    ///
    /// A 1-channel original is shown, for `original_image` and `masked_image`, as matplotlib
    /// shows the H×W array Captum hands it: through the default colormap (viridis) autoscaled to
    /// the data's min…max. For `alpha_scaling` Captum cannot show one (matplotlib refuses an
    /// H×W×2 image); here the grey is repeated into RGB.
    ///
    /// - Parameters:
    ///   - original: the input image, H×W×C values in [0, 1] (values outside are clamped, NaN is
    ///     0), C = 1 or 3; may be nil only for `heat_map`. Captum also accepts 0…255 images;
    ///     callers scale those to [0, 1] first.
    /// - Throws: `RenderError` for options Captum refuses (`RenderOptions.validate()`), sizes
    ///   that do not match the values given, or a missing original.
    public static func render(
        _ attribution: [Float], height: Int, width: Int, channels: Int, channelsFirst: Bool,
        original: (values: [Float], channels: Int)?, options: RenderOptions
    ) throws -> RasterImage {
        try options.validate()
        let norm = try normalizedFloats(
            attribution, height: height, width: width, channels: channels, channelsFirst: channelsFirst,
            sign: options.sign, outlierPercent: options.outlierPercent)
        let pixelCount = norm.count
        let image: PreparedImage?
        if let original {
            guard original.channels == 1 || original.channels == 3 else {
                throw RenderError(.shapeMismatch, "The original image must have 1 or 3 channels, not \(original.channels).")
            }
            guard original.values.count == pixelCount * original.channels else {
                throw RenderError(
                    .shapeMismatch,
                    "The original image must hold \(height)×\(width)×\(original.channels) values, "
                        + "not \(original.values.count).")
            }
            image = PreparedImage(values: original.values, channels: original.channels)
        } else {
            image = nil
        }
        if options.kind == .heatMap {
            return RasterImage(width: width, height: height, channels: 3, pixels: heatMap(norm, options: options))
        }
        guard let image else {
            throw RenderError(.missingOriginal, "\(options.kind.rawValue) needs the original image; only heat_map can do without.")
        }
        switch options.kind {
        case .heatMap, .blendedHeatMap:  // heat_map returned above, without an original

            let heat = heatMap(norm, options: options)
            let grey = autoscaled(image.channelMeans, through: .generated("gray"))
            let alpha = agg8BitAlpha(options.alphaOverlay)
            let pixels = zip(heat, grey).map { aggBlend(source: $0, destination: $1, alpha: alpha) }
            return RasterImage(width: width, height: height, channels: 3, pixels: pixels)
        case .maskedImage:
            var products = [Int](repeating: 0, count: image.bytes.count)
            for pixel in 0..<pixelCount {
                let factor = Double(norm[pixel])
                for channel in 0..<image.channels {
                    let index = pixel * image.channels + channel
                    products[index] = prepared(Double(image.bytes[index]) * factor)
                }
            }
            return RasterImage(width: width, height: height, channels: 3, pixels: shown(products, channels: image.channels))
        case .alphaScaling:
            var pixels = [UInt8]()
            pixels.reserveCapacity(pixelCount * 4)
            for pixel in 0..<pixelCount {
                for channel in 0..<3 {
                    pixels.append(UInt8(clamping: image.bytes[pixel * image.channels + (image.channels == 1 ? 0 : channel)]))
                }
                pixels.append(UInt8(clamping: prepared(Double(norm[pixel] * 255))))
            }
            return RasterImage(width: width, height: height, channels: 4, pixels: pixels)
        case .originalImage:
            return RasterImage(width: width, height: height, channels: 3, pixels: shown(image.bytes, channels: image.channels))
        }
    }
}

extension AttributionRendering {
    /// The original as Captum holds it after `_prepare_image(original · 255)`: integers 0…255
    /// (the float32 product truncated), H×W×C.
    struct PreparedImage {
        let bytes: [Int]
        let channels: Int

        init(values: [Float], channels: Int) {
            bytes = values.map { value in
                let clamped: Float = value.isNaN ? 0 : min(max(value, 0), 1)
                return AttributionRendering.prepared(Double(clamped * 255))
            }
            self.channels = channels
        }

        /// numpy's `np.mean(image, axis=2)` of the integers: the exact sum over 1 or 3 channels,
        /// divided in float64.
        var channelMeans: [Double] {
            stride(from: 0, to: bytes.count, by: channels).map { start in
                Double(bytes[start..<start + channels].reduce(0, +)) / Double(channels)
            }
        }
    }

    /// Captum's `_prepare_image` of one value: `astype(int)` (truncation toward zero), clipped
    /// to 0…255.
    static func prepared(_ value: Double) -> Int {
        guard value.isFinite else { return value > 0 ? 255 : 0 }
        return Int(min(max(value.rounded(.towardZero), 0), 255))
    }

    /// How `imshow` shows integer pixels: RGB as they are; a single channel as the H×W array it
    /// is squeezed to, through the default colormap autoscaled to its min…max.
    static func shown(_ values: [Int], channels: Int) -> [UInt8] {
        if channels == 3 { return values.map { UInt8(clamping: $0) } }
        return autoscaled(values.map(Double.init), through: .generated("viridis"))
    }

    /// matplotlib's `Normalize()` (vmin, vmax = the data's min and max; all values 0 when they
    /// are equal) followed by the colormap, as RGB bytes.
    static func autoscaled(_ values: [Double], through colormap: Colormap) -> [UInt8] {
        let low = values.min() ?? 0
        let high = values.max() ?? 0
        var pixels = [UInt8]()
        pixels.reserveCapacity(values.count * 3)
        for value in values {
            let (r, g, b) = colormap.color(low == high ? 0 : (value - low) / (high - low))
            pixels += [r, g, b]
        }
        return pixels
    }

    /// `cmap(Normalize(vmin, vmax)(norm), bytes=True)` RGB, computed in float32 as matplotlib
    /// does for float32 data.
    static func heatMap(_ norm: [Float], options: RenderOptions) -> [UInt8] {
        let colormap = options.resolvedColormap
        let range = options.sign.colorRange
        let span = range.upperBound - range.lowerBound
        var pixels = [UInt8]()
        pixels.reserveCapacity(norm.count * 3)
        for value in norm {
            let (r, g, b) = colormap.color(Double((value - range.lowerBound) / span))
            pixels += [r, g, b]
        }
        return pixels
    }

    /// The alpha byte Agg draws an image with `alpha` at: matplotlib scales the colormap's
    /// alpha by it and converts to bytes by truncating `· 255`.
    static func agg8BitAlpha(_ alpha: Double) -> Int {
        Int(min(max(alpha, 0), 1) * 255)
    }

    /// Agg's plain-RGBA blend (`fixed_blender_rgba_plain::blend_pix`) of one 8-bit channel with
    /// 8-bit alpha over an opaque destination: alpha 255 copies the source, 0 leaves the
    /// destination.
    static func aggBlend(source: UInt8, destination: UInt8, alpha: Int) -> UInt8 {
        if alpha <= 0 { return destination }
        if alpha >= 255 { return source }
        let d = Int(destination) * 255
        let total = ((alpha + 255) << 8) - alpha * 255
        return UInt8(clamping: (((Int(source) << 8) - d) * alpha + (d << 8)) / total)
    }

    /// `normalized` in float32, Captum's own precision for float32 attributions.
    static func normalizedFloats(
        _ attribution: [Float], height: Int, width: Int, channels: Int, channelsFirst: Bool, sign: RenderSign,
        outlierPercent: Double
    ) throws -> [Float] {
        guard height > 0, width > 0, channels > 0 else {
            throw RenderError(.shapeMismatch, "Height, width and channels must be positive, not \(height)×\(width)×\(channels).")
        }
        let (pixelCount, pixelOverflow) = height.multipliedReportingOverflow(by: width)
        let (count, countOverflow) = pixelCount.multipliedReportingOverflow(by: channels)
        guard !pixelOverflow, !countOverflow, attribution.count == count else {
            throw RenderError(
                .shapeMismatch, "The attributions must hold \(height)×\(width)×\(channels) values, not \(attribution.count).")
        }
        var values = [Float](repeating: 0, count: pixelCount)
        for pixel in 0..<pixelCount {
            var sum: Float = 0
            for channel in 0..<channels {
                let value = attribution[channelsFirst ? channel * pixelCount + pixel : pixel * channels + channel]
                sum += value.isFinite ? value : 0
            }
            let finite = sum.isFinite ? sum : 0
            switch sign {
            case .all: values[pixel] = finite
            case .positive: values[pixel] = max(finite, 0)
            case .negative: values[pixel] = min(finite, 0)
            case .absoluteValue: values[pixel] = abs(finite)
            }
        }
        var threshold = cumulativeSumThreshold(values.map(abs), percentile: 100 - outlierPercent)
        guard threshold > 0 else { return [Float](repeating: 0, count: pixelCount) }
        if sign == .negative { threshold = -threshold }
        return values.map { min(max($0 / threshold, -1), 1) }
    }

    /// Captum's `_cumulative_sum_threshold`: the first of the ascending magnitudes whose float32
    /// cumulative sum reaches `total · 0.01 · percentile` (numpy evaluates that product in
    /// float32, left to right); the largest magnitude when rounding leaves the target out of reach.
    static func cumulativeSumThreshold(_ magnitudes: [Float], percentile: Double) -> Float {
        let sorted = magnitudes.sorted()
        var cumulative = [Float]()
        cumulative.reserveCapacity(sorted.count)
        var running: Float = 0
        for value in sorted {
            running += value
            cumulative.append(running)
        }
        guard let total = cumulative.last else { return 0 }
        let target = total * Float(0.01) * Float(percentile)
        guard let index = cumulative.firstIndex(where: { $0 >= target }) else { return sorted.last ?? 0 }
        return sorted[index]
    }
}
