import CandorModel
import CandorTensor

/// Occlusion: a window slides over the instance; each element's attribution is the mean, over
/// the windows covering it, of f(x) − f(x with the window set to the baseline). Zeiler &
/// Fergus, "Visualizing and Understanding Convolutional Networks", 2014; Captum `Occlusion`.
public struct Occlusion: Explainer {
    public let descriptor = MethodDescriptor(
        name: "occlusion", family: "perturbation",
        summary: "mean over the sliding windows covering an element of f(x) − f(x occluded)",
        reference: "Captum Occlusion", requirement: .any,
        checkedAgainst:
            "Captum 0.9 `Occlusion` (windows, strides, baselines) on the three MLP fixtures and per token on the demo text model; the window average computed by hand on a linear model",
        details: """
            A window slides over the instance from 0 on every axis, in steps of `strides`, cut off at
            the edge; each element gets the mean, over the windows covering it, of f(x) − f(x
            occluded).
            """,
        parameters: [
            ParameterSpec(
                "sliding_window_shapes", .integers, minimum: 1, maximum: 1_000_000,
                summary: "the window's extent on each instance axis (required)"),
            ParameterSpec("strides", .integers, default: 1, minimum: 1, maximum: 1_000_000, summary: "the window's step on each axis"),
            ParameterSpec.baselines("the values an occluded element takes"),
            ParameterSpec.perturbationsPerEval(of: "window positions"),
        ])

    /// The most (window position, element) pairs one request may occlude.
    public static let maximumWindowElements = 1 << 24

    public init() {}

    public func prepare(_ parameters: [String: JSONValue], for problem: ExplanationProblem) throws(ExplanationError) -> any ExplanationPlan
    {
        var reader = try ParameterReader(parameters, specs: descriptor.parameters, method: descriptor.name)
        guard problem.inputs.count == 1, let input = problem.inputs.first else {
            throw ExplanationError(
                .methodNotApplicable, "occlusion slides one window over one input; this model has \(problem.inputs.count)")
        }
        let shape = Array(input.shape.dropFirst())
        guard let window = try reader.integers("sliding_window_shapes", count: shape.count) else {
            throw ExplanationError(
                .invalidParameter,
                "parameter 'sliding_window_shapes' of occlusion is required: the window's extent on each of the instance's \(shape.count) axes"
            )
        }
        if let axis = shape.indices.first(where: { window[$0] > shape[$0] }) {
            throw ExplanationError(
                .invalidParameter,
                "parameter 'sliding_window_shapes' is larger than the instance on axis \(axis) (\(window[axis]) > \(shape[axis]))")
        }
        let strides = try reader.integers("strides", count: shape.count) ?? Array(repeating: 1, count: shape.count)
        // A step longer than the window would leave elements no window covers (Captum refuses it too).
        if let axis = shape.indices.first(where: { strides[$0] > window[$0] && window[$0] < shape[$0] }) {
            throw ExplanationError(
                .invalidParameter,
                "parameter 'strides' is longer than the window on axis \(axis) (\(strides[axis]) > \(window[axis])), which would leave elements unexplained"
            )
        }
        // Window positions × window size elements are listed up front: bounded before building.
        let positions = shape.indices.reduce(1) { $0 * Self.windowPositions(extent: shape[$1], window: window[$1], stride: strides[$1]) }
        let listed = positions.multipliedReportingOverflow(by: window.reduce(1, *))
        guard !listed.overflow, listed.partialValue <= Self.maximumWindowElements else {
            throw ExplanationError(
                .tooLarge,
                "occlusion with these windows and strides would occlude \(positions) windows of \(window.reduce(1, *)) elements, more than the \(Self.maximumWindowElements) allowed: use larger strides or a smaller window"
            )
        }
        let groups = FeatureGroups.slidingWindows(shape: shape, window: window, strides: strides, input: 0)
        let baselines = try Baselines.resolve(reader.json("baselines"), for: problem)
        let groupsPerPass = try reader.optionalInt("perturbations_per_eval")
        return AblationPlan(
            model: problem.model, effectiveParameters: reader.effective, baselines: baselines, groups: groups, groupsPerPass: groupsPerPass)
    }

    /// Window positions along an axis of `extent`: from 0 in steps of `stride`, the last one
    /// cut off at the edge.
    static func windowPositions(extent: Int, window: Int, stride: Int) -> Int {
        (extent - window + stride - 1) / stride + 1
    }
}
