import CandorModel
import CandorTensor

/// `slic`: the SLIC superpixels of each image instance (see `SlicSegmentation`), returned as
/// a segment id per element — shaped like the instance, every channel of a pixel carrying the
/// pixel's segment — so that it can be sent back as the `feature_mask` of `lime`,
/// `kernel_shap`, `feature_ablation` or `exact_shapley`. Images are [channels, height, width]
/// (three channels are taken as RGB and compared in CIELAB, as scikit-image does) or
/// [height, width].
public struct Slic: Explainer {
    /// The most pixels one request may segment (each iteration visits every pixel a few times).
    public static let maximumPixels = 1 << 22

    public let descriptor = MethodDescriptor(
        name: "slic", family: "segmentation",
        summary: "SLIC superpixels of an image, as a segment id per element (usable as feature_mask)",
        reference: "scikit-image slic", requirement: .any,
        checkedAgainst:
            "scikit-image 0.26 `slic`: identical label maps on 8 images, connectivity corner cases included",
        details: """
            SLIC superpixels (Achanta et al., 2012) of each image as scikit-image's `slic` computes
            them with its defaults (rescaled to [0, 1], RGB compared in CIELAB, ten k-means rounds,
            connectivity enforced). The attributions are each pixel's segment id (from 1, the same in
            every channel), to send back as a `feature_mask`, and `n_segments` says how many there are.
            `slic` only reads the image; its answer still carries the model's `output` and `target`.
            """,
        parameters: [
            ParameterSpec("n_segments", .integer, default: 100, minimum: 1, maximum: 100_000, summary: "approximate number of superpixels"),
            ParameterSpec(
                "compactness", .number, default: 10, minimum: 1e-6, maximum: 1e6,
                summary: "weight of closeness in space against closeness in colour (CIELAB units for RGB)"),
        ])

    public init() {}

    public func prepare(_ parameters: [String: JSONValue], for problem: ExplanationProblem) throws(ExplanationError) -> any ExplanationPlan
    {
        var reader = try ParameterReader(parameters, specs: descriptor.parameters, method: descriptor.name)
        let segmenter = try Superpixels(
            segments: try reader.int("n_segments"), compactness: try reader.optionalDouble("compactness") ?? 10, problem: problem,
            method: descriptor.name)
        return Plan(effectiveParameters: reader.effective, segmenter: segmenter)
    }

    struct Plan: ExplanationPlan {
        let effectiveParameters: [String: JSONValue]
        let segmenter: Superpixels

        func run(_ problem: ResolvedProblem, context: ExplanationContext) throws(ExplanationError) -> [InstanceAttribution] {
            var results: [InstanceAttribution] = []
            for row in 0..<problem.problem.batchSize {
                try context.checkCancellation()
                let labels = segmenter.labels(row: row, of: problem.problem)
                let values = (0..<segmenter.channels).flatMap { _ in labels.map(Float.init) }
                var attribution = InstanceAttribution(attributions: [try problem.problem.instanceTensor(values, input: 0)])
                attribution.extras["n_segments"] = .number(Double(Set(labels).count))
                results.append(attribution)
            }
            return results
        }
    }
}

/// SLIC applied to a batch of image instances: where the image's pixels and channels are.
struct Superpixels: Sendable {
    let segments: Int
    let compactness: Double
    let channels: Int
    let height: Int
    let width: Int

    /// Checks that the problem's single input holds images ([channels, height, width] or
    /// [height, width]) of a size SLIC may take.
    init(segments: Int, compactness: Double, problem: ExplanationProblem, method: String) throws(ExplanationError) {
        guard problem.inputs.count == 1, let input = problem.inputs.first, (3...4).contains(input.rank) else {
            throw ExplanationError(
                .methodNotApplicable,
                "\(method) segments images: one input of instances shaped [channels, height, width] or [height, width]; this model's inputs are \(problem.inputs.map { Array($0.shape.dropFirst()) })"
            )
        }
        let shape = Array(input.shape.dropFirst())
        (channels, height, width) = shape.count == 3 ? (shape[0], shape[1], shape[2]) : (1, shape[0], shape[1])
        guard height * width <= Slic.maximumPixels, channels <= 64 else {
            throw ExplanationError(
                .invalidInput, "\(method) accepts images of at most \(Slic.maximumPixels) pixels and 64 channels; these are \(shape)")
        }
        self.segments = segments
        self.compactness = compactness
    }

    /// The segment of each pixel of instance `row`, row-major, numbered from 1.
    func labels(row: Int, of problem: ExplanationProblem) -> [Int] {
        let size = channels * height * width
        let scalars = problem.inputs[0].scalars[(row * size)..<((row + 1) * size)]
        let plane = height * width
        var pixels = [Double](repeating: 0, count: size)
        for channel in 0..<channels {
            for position in 0..<plane {
                pixels[position * channels + channel] = Double(scalars[scalars.startIndex + channel * plane + position])
            }
        }
        return SlicSegmentation(height: height, width: width, pixels: pixels, channels: channels)
            .labels(segments: segments, compactness: compactness)
    }

    /// The superpixels of instance `row` as feature groups, every channel of a pixel in its
    /// pixel's group.
    func groups(row: Int, of problem: ExplanationProblem) -> FeatureGroups {
        let labels = labels(row: row, of: problem)
        var byLabel: [Int: [FeatureGroups.Element]] = [:]
        let plane = height * width
        for channel in 0..<channels {
            for (position, label) in labels.enumerated() {
                byLabel[label, default: []].append(FeatureGroups.Element(input: 0, index: channel * plane + position))
            }
        }
        return FeatureGroups(groups: byLabel.keys.sorted().compactMap { byLabel[$0] })
    }
}
