/// A sidecar's declaration of how an image becomes a model input (decoded, converted, resized,
/// scaled, normalised, laid out) — torchvision-style.
///
/// The pipeline is the one a PIL/numpy preprocessing function writes:
/// `x = np.asarray(img.convert(mode).resize((width, height), Image.BILINEAR), dtype=np.float32)`,
/// `x = x / np.float32(scale)`, `x = (x - mean) / std` in float32, channels flipped for BGR,
/// transposed for NCHW. Doing it in that order in float32 gives the same bits numpy gives.
public struct ImagePreprocessing: Sendable, Equatable, Codable {
    public enum Channels: String, Sendable, Codable {
        case rgb
        case bgr
        case grey
    }

    public enum Layout: String, Sendable, Codable {
        /// Channels first: C×H×W per instance (PyTorch).
        case nchw
        /// Channels last: H×W×C per instance (TensorFlow/Keras).
        case nhwc
    }

    public var width: Int
    public var height: Int
    /// Default `.rgb`.
    public var channels: Channels
    /// Pixel values are divided by this (default 255: [0, 1]); 1 keeps 0...255.
    public var scale: Double
    /// Per channel, subtracted after scaling (in the model's channel order: B, G, R for `.bgr`).
    public var mean: [Double]?
    /// Per channel, divides after the mean is subtracted.
    public var std: [Double]?
    /// Default `.nchw`.
    public var layout: Layout

    public init(
        width: Int, height: Int, channels: Channels = .rgb, scale: Double = 255, mean: [Double]? = nil, std: [Double]? = nil,
        layout: Layout = .nchw
    ) {
        self.width = width
        self.height = height
        self.channels = channels
        self.scale = scale
        self.mean = mean
        self.std = std
        self.layout = layout
    }

    enum CodingKeys: String, CodingKey {
        case width, height, channels, scale, mean, std, layout
    }

    /// Omitted keys take the defaults of `init`; `width` and `height` are required.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        self.init(
            width: try container.decode(Int.self, forKey: .width),
            height: try container.decode(Int.self, forKey: .height),
            channels: try container.decodeIfPresent(Channels.self, forKey: .channels) ?? .rgb,
            scale: try container.decodeIfPresent(Double.self, forKey: .scale) ?? 255,
            mean: try container.decodeIfPresent([Double].self, forKey: .mean),
            std: try container.decodeIfPresent([Double].self, forKey: .std),
            layout: try container.decodeIfPresent(Layout.self, forKey: .layout) ?? .nchw)
    }

    /// 1 for grey, 3 for RGB and BGR.
    public var channelCount: Int { channels == .grey ? 1 : 3 }

    /// The input shape one instance has: [C, H, W] or [H, W, C].
    public var instanceShape: [Int] {
        layout == .nchw ? [channelCount, height, width] : [height, width, channelCount]
    }

    /// Rejects declarations that cannot describe an input: the error names the key.
    ///
    /// width/height 1...4096 (an input larger than that is not a model Candor serves, and the
    /// bound keeps a typo from allocating gigabytes), mean/std one value per channel, std > 0,
    /// scale > 0, every number finite — all as the float32 `tensorValues` computes in: 1e39 is
    /// infinite as a Float and 1e-50 is 0, and a scale or std must moreover be a normal Float
    /// (≥ 1.2e-38), since a subnormal one such as 1e-40 turns 0...255 into infinities.
    public func validate() throws {
        for (key, value) in [("width", width), ("height", height)] where !(1...4096).contains(value) {
            throw ImagePreprocessingError(key: key, "image preprocessing: \(key) must be 1...4096, not \(value)")
        }
        guard Self.isNormalPositiveFloat(scale) else {
            throw ImagePreprocessingError(
                key: "scale", "image preprocessing: scale must be a finite number > 0 as a 32-bit float (at least 1.2e-38), not \(scale)")
        }
        for (key, values) in [("mean", mean), ("std", std)] {
            guard let values else { continue }
            guard values.count == channelCount else {
                throw ImagePreprocessingError(
                    key: key,
                    "image preprocessing: \(key) needs \(channelCount) value\(channelCount == 1 ? "" : "s") (one per channel of \(channels.rawValue)), not \(values.count)"
                )
            }
            guard key == "mean" ? values.allSatisfy({ Float($0).isFinite }) : values.allSatisfy(Self.isNormalPositiveFloat)
            else {
                throw ImagePreprocessingError(
                    key: key,
                    "image preprocessing: every \(key) value must be finite\(key == "std" ? " and > 0 (at least 1.2e-38)" : "") as a 32-bit float, not \(values)"
                )
            }
        }
    }

    /// Whether `value`, rounded to the Float it is used as, is finite, > 0 and not subnormal.
    static func isNormalPositiveFloat(_ value: Double) -> Bool {
        let rounded = Float(value)
        return rounded.isNormal && rounded > 0
    }

    /// One instance's values in `layout` order (C·H·W or H·W·C), float32, exactly as numpy
    /// computes them (see the type's documentation): convert, resize, divide by `scale`,
    /// subtract `mean`, divide by `std`, flip to BGR, lay out.
    ///
    /// `image` has 1, 3 or 4 channels and `width * height * channels` pixels, as every image
    /// `ImageDecoder` returns has. Another `RasterImage` (2 channels, or pixels that do not fit
    /// its size) cannot be converted and gives zeros of the right count.
    public func tensorValues(_ image: RasterImage) -> [Float] {
        let count = channelCount
        let prepared = image.converted(toChannels: count).resizedBilinear(width: width, height: height)
        let scale32 = Float(scale)
        let mean32 = (mean ?? []).map { Float($0) }
        let std32 = (std ?? []).map { Float($0) }
        let plane = width * height
        var out = [Float](repeating: 0, count: plane * count)
        // Conversion to 1 or 3 channels and resizing to width×height always give plane·count
        // pixels for an image as documented; only one built by hand outside that reaches this.
        guard prepared.channels == count, prepared.pixels.count == plane * count else { return out }
        for index in 0..<plane {
            for c in 0..<count {
                // The model's channel c: BGR reads the RGB image's channel 2 − c; the mean and
                // std are in the model's order.
                let sourceChannel = channels == .bgr ? 2 - c : c
                var x = Float(prepared.pixels[index * count + sourceChannel]) / scale32
                if c < mean32.count { x = x - mean32[c] }
                if c < std32.count { x = x / std32[c] }
                out[layout == .nchw ? c * plane + index : index * count + c] = x
            }
        }
        return out
    }

    /// The inverse for display: an instance's values (layout order, width·height·channelCount)
    /// back to an RGB (or grey) image in [0, 1] as Float H·W·C — x·std + mean, ·scale/255,
    /// BGR → RGB, clamped to [0, 1]. Used to draw heatmaps over the input.
    ///
    /// Values missing from a short array count as 0.
    public func displayImage(_ values: [Float]) -> (width: Int, height: Int, channels: Int, values: [Float]) {
        let count = channelCount
        let plane = width * height
        let toUnit = Float(scale / 255)
        var out = [Float](repeating: 0, count: plane * count)
        for index in 0..<plane {
            for c in 0..<count {
                let position = layout == .nchw ? c * plane + index : index * count + c
                var x = position < values.count ? values[position] : 0
                if let std, c < std.count { x *= Float(std[c]) }
                if let mean, c < mean.count { x += Float(mean[c]) }
                x *= toUnit
                let displayChannel = channels == .bgr ? 2 - c : c
                out[index * count + displayChannel] = x.isNaN ? 0 : min(max(x, 0), 1)
            }
        }
        return (width, height, count, out)
    }
}

/// An `ImagePreprocessing` declaration that cannot be used, naming the offending key.
public struct ImagePreprocessingError: Error, Sendable, CustomStringConvertible {
    /// The sidecar key at fault (`width`, `height`, `scale`, `mean`, `std`).
    public let key: String
    public let description: String

    public init(key: String, _ description: String) {
        self.key = key
        self.description = description
    }
}
