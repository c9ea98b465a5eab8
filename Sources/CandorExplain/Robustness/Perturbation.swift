import CandorTensor

/// The perturbations `min_perturbation` searches, each parametrised by one real number (the
/// amount) and defined exactly in ``MinPerturbation``'s details.
enum PerturbationKind: String, CaseIterable, Sendable {
    case rotation
    case translation
    case gaussianNoise = "gaussian_noise"
    case gaussianBlur = "gaussian_blur"
    case brightness
    case contrast
    case occlusion
    case featureShift = "feature_shift"

    /// Whether the perturbation needs image instances ([C, H, W] or [H, W]).
    var needsImages: Bool {
        switch self {
        case .gaussianNoise, .featureShift: false
        default: true
        }
    }

    /// The perturbation's own parameters (beside the search's), refused with any other.
    var ownParameters: Set<String> {
        switch self {
        case .rotation: ["baselines", "direction"]
        case .translation: ["baselines", "direction", "axis"]
        case .gaussianNoise: ["seed"]
        case .gaussianBlur: []
        case .brightness, .contrast: ["direction"]
        case .occlusion: ["baselines", "strides"]
        case .featureShift: []
        }
    }

    /// The search range the request may leave out: (arg_min, arg_max, arg_step), for an image
    /// whose smaller side is `side` pixels.
    func defaultRange(side: Int) -> (Double, Double, Double) {
        switch self {
        case .rotation: (0, 180, 1)
        case .translation: (0, Double(side), 1)
        case .gaussianNoise: (0, 1, 0.01)
        case .gaussianBlur: (0, 10, 0.1)
        case .brightness, .contrast: (0, 1, 0.01)
        case .occlusion: (1, Double(side + 1), 1)
        case .featureShift: (0, 10, 0.1)
        }
    }
}

/// Which axes `translation` moves the image along.
enum TranslationAxis: String, CaseIterable, Sendable {
    case both
    case x
    case y
}

/// Whether the amount is applied as +p or −p (rotation, translation, brightness, contrast).
enum PerturbationDirection: String, CaseIterable, Sendable {
    case positive
    case negative
}

/// One perturbation with its settings, ready to apply to the instances of one input of
/// `shape` (without the batch axis). At amount p an instance yields one perturbed copy, or
/// several for `occlusion` (one per patch position) and `feature_shift` (one per feature and
/// sign); the search counts p as flipping when any copy flips.
struct Perturbation: Sendable {
    let kind: PerturbationKind
    let shape: [Int]
    /// The fill value of rotation, translation and occlusion.
    var fill: Float = 0
    /// +1 or −1: the sign of the amount for rotation, translation, brightness and contrast.
    var sign: Double = 1
    var axis: TranslationAxis = .both
    var seed: UInt64 = 0
    /// Occlusion's step down and across.
    var strides: [Int] = [1, 1]
    /// feature_shift: each feature's training standard deviation.
    var standardDeviations: [Double] = []

    /// (channels, height, width) of an image instance.
    var imageShape: (channels: Int, height: Int, width: Int) {
        shape.count == 3 ? (shape[0], shape[1], shape[2]) : (1, shape.first ?? 1, shape.last ?? 1)
    }

    /// What the perturbation needs of one instance besides its values, computed once.
    struct Instance: Sendable {
        let values: [Float]
        /// gaussian_noise: the one standard-normal direction z, reused for every σ.
        let noise: [Double]
        /// contrast: the mean of the instance's values.
        let mean: Double
    }

    func instance(_ values: [Float]) -> Instance {
        var noise: [Double] = []
        if kind == .gaussianNoise {
            var random = SeededRandom(seed: seed)
            noise = values.map { _ in random.standardNormal() }
        }
        let mean = kind == .contrast ? values.reduce(0.0) { $0 + Double($1) } / Double(max(values.count, 1)) : 0
        return Instance(values: values, noise: noise, mean: mean)
    }

    /// How many perturbed copies one instance yields at amount `amount`.
    func copies(at amount: Double) -> Int {
        switch kind {
        case .occlusion:
            let (_, height, width) = imageShape
            let side = Int(amount)
            return Occlusion.windowPositions(extent: height, window: side, stride: strides[0])
                * Occlusion.windowPositions(extent: width, window: side, stride: strides[1])
        case .featureShift: return 2 * standardDeviations.count
        default: return 1
        }
    }

    /// Copy `copy` of `instance` perturbed by `amount`.
    func perturbed(_ instance: Instance, copy: Int, at amount: Double) -> [Float] {
        let values = instance.values
        switch kind {
        case .rotation, .translation, .gaussianBlur:
            let (channels, height, width) = imageShape
            let size = height * width
            var result: [Float] = []
            result.reserveCapacity(values.count)
            for channel in 0..<channels {
                let plane = ImagePlane(height: height, width: width, values: Array(values[channel * size..<(channel + 1) * size]))
                result += transformed(plane, amount: amount).values
            }
            return result
        case .gaussianNoise:
            return zip(values, instance.noise).map { Float(Double($0) + amount * $1) }
        case .brightness:
            let factor = 1 + sign * amount
            return values.map { Float(Double($0) * factor) }
        case .contrast:
            let factor = 1 + sign * amount
            return values.map { Float(instance.mean + factor * (Double($0) - instance.mean)) }
        case .occlusion:
            let (channels, height, width) = imageShape
            let (top, left, side) = occlusionPatch(copy: copy, at: amount)
            var result = values
            for channel in 0..<channels {
                for row in top..<min(top + side, height) {
                    for column in left..<min(left + side, width) {
                        result[(channel * height + row) * width + column] = fill
                    }
                }
            }
            return result
        case .featureShift:
            let (feature, direction) = (copy / 2, copy % 2 == 0 ? 1.0 : -1.0)
            var result = values
            result[feature] = Float(Double(values[feature]) + direction * amount * standardDeviations[feature])
            return result
        }
    }

    private func transformed(_ plane: ImagePlane, amount: Double) -> ImagePlane {
        switch kind {
        case .rotation:
            return plane.rotated(by: sign * amount, fill: fill)
        case .translation:
            let shift = sign * amount
            switch axis {
            case .both: return plane.shifted(rows: shift, columns: shift, fill: fill)
            case .x: return plane.shifted(rows: 0, columns: shift, fill: fill)
            case .y: return plane.shifted(rows: shift, columns: 0, fill: fill)
            }
        default:
            return plane.blurred(sigma: amount)
        }
    }

    /// The top row, left column and side of occlusion copy `copy` (row-major positions).
    private func occlusionPatch(copy: Int, at amount: Double) -> (Int, Int, Int) {
        let (_, _, width) = imageShape
        let side = Int(amount)
        let across = Occlusion.windowPositions(extent: width, window: side, stride: strides[1])
        return (copy / across * strides[0], copy % across * strides[1], side)
    }

    /// The fields that say which copy flipped: occlusion's `position` [top, left]; the
    /// shifted `feature` (and its name when known) and its `sign`.
    func detail(copy: Int, at amount: Double, featureNames: [String]?) -> [String: JSONValue] {
        switch kind {
        case .occlusion:
            let (top, left, _) = occlusionPatch(copy: copy, at: amount)
            return ["position": .array([.number(Double(top)), .number(Double(left))])]
        case .featureShift:
            var detail: [String: JSONValue] = ["feature": .number(Double(copy / 2)), "sign": .number(copy % 2 == 0 ? 1 : -1)]
            if let names = featureNames, copy / 2 < names.count { detail["feature_name"] = .string(names[copy / 2]) }
            return detail
        default:
            return [:]
        }
    }
}
