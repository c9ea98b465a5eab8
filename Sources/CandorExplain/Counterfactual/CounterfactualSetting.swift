import CandorModel
import CandorTensor

/// The parameters every counterfactual method shares, validated against the problem: the
/// outcome to reach, the feature space (what may vary, within which ranges, at which scale)
/// and how many counterfactuals to return.
struct CounterfactualSetting: Sendable {
    let outcome: DesiredOutcome
    let space: FeatureSpace
    let total: Int
    /// The reference rows (`background`, else the sidecar's), [rows, features]: the MADs'
    /// data, and the training data `dice` starts its search from.
    let background: Tensor

    /// The shared declarations; `maximumTotal` bounds `total_cfs` for the method.
    static func parameters(maximumTotal: Int) -> [ParameterSpec] {
        [
            ParameterSpec(
                "desired_class", .classLabel,
                summary:
                    "the class the counterfactuals must reach, by index or by the sidecar's class name (default: any class but the prediction)"
            ),
            ParameterSpec(
                "desired_range", .interval,
                summary: "for a model with one output value (a regressor or a score): the range [low, high] it must reach"),
            ParameterSpec("features_to_vary", .features, default: "all", summary: "the features a counterfactual may change"),
            ParameterSpec(
                "immutable", .features,
                summary: "features that must keep their values, besides the sidecar's immutable_features (default: none)"),
            ParameterSpec(
                "permitted_range", .featureRanges,
                summary:
                    "[low, high] per feature a counterfactual may move it in (default: the training min and max from the sidecar, else the background's)"
            ),
            ParameterSpec(
                "total_cfs", .integer, default: 1, minimum: 1, maximum: Double(maximumTotal), summary: "how many counterfactuals to return"),
            BackgroundRows.parameter(
                "the rows each feature's median absolute deviation (the distance's scale) is taken over, and dice's starting rows (default: the model's sidecar background)"
            ),
        ]
    }

    init(_ reader: inout ParameterReader, problem: ExplanationProblem, method: String) throws(ExplanationError) {
        guard problem.inputs.count == 1, problem.inputs[0].rank == 2 else {
            throw ExplanationError(
                .methodNotApplicable, "\(method) searches tabular inputs: it needs a model with one input of [batch, features]")
        }
        let count = problem.inputs[0].shape[1]
        let names = problem.dataset.featureNames?.count == count ? problem.dataset.featureNames : nil
        outcome = try Self.outcome(&reader, problem: problem, method: method)
        background = try BackgroundRows.resolve(&reader, problem: problem, method: method).rows[0]
        let rows = background.scalars
        let toVary = try reader.features("features_to_vary", count: count, names: names) ?? Array(0..<count)
        let immutable = Set(try reader.features("immutable", count: count, names: names) ?? []).union(problem.dataset.domains.immutable)
        let varying = toVary.filter { !immutable.contains($0) }
        guard !varying.isEmpty else {
            throw ExplanationError(.invalidParameter, "\(method) may change no feature: features_to_vary leaves none that is not immutable")
        }
        let permitted = try reader.featureRanges("permitted_range", count: count, names: names) ?? [:]
        let statistics = problem.dataset.statistics
        let ranges = (0..<count).map { feature -> ClosedRange<Double> in
            if let range = permitted[feature] { return range }
            if let low = statistics?.minimum?[feature], let high = statistics?.maximum?[feature] { return low...high }
            let column = stride(from: feature, to: rows.count, by: count).map { Double(rows[$0]) }
            return (column.min() ?? 0)...(column.max() ?? 0)
        }
        space = FeatureSpace(
            count: count, names: names, varying: varying, ranges: ranges, domains: problem.dataset.domains,
            scale: FeatureSpace.medianAbsoluteDeviations(rows, count: count))
        total = try reader.int("total_cfs")
    }

    /// `desired_class` or `desired_range`, whichever fits the explained output: a class for
    /// an output of several values, a range for one value.
    private static func outcome(_ reader: inout ParameterReader, problem: ExplanationProblem, method: String) throws(ExplanationError)
        -> DesiredOutcome
    {
        let dimensions = problem.model.outputs.indices.contains(problem.output) ? problem.model.outputs[problem.output].instanceShape : []
        let fixed = dimensions.compactMap(\.fixedValue)
        let values = fixed.count == dimensions.count ? fixed.reduce(1, *) : nil
        let desiredClass = try reader.classLabel("desired_class", classCount: values ?? Int.max, classNames: problem.dataset.classNames)
        let desiredRange = try reader.interval("desired_range")
        switch (desiredClass, desiredRange) {
        case (.some, .some):
            throw ExplanationError(
                .invalidParameter, "give \(method) either desired_class (a classifier) or desired_range (one output value), not both")
        case (let desired?, nil):
            guard values != 1 else {
                throw ExplanationError(
                    .invalidParameter,
                    "the explained output holds one value, not classes: give desired_range [low, high] instead of desired_class")
            }
            return .classIndex(desired)
        case (nil, let range?):
            guard values == 1 || values == nil else {
                throw ExplanationError(
                    .invalidParameter, "the explained output holds \(values ?? 0) class values: give desired_class instead of desired_range"
                )
            }
            return .range(range)
        case (nil, nil):
            guard values != 1 else {
                throw ExplanationError(
                    .invalidParameter, "the explained output holds one value: give desired_range [low, high], the values it must reach")
            }
            return .otherClass
        }
    }

    /// The most numbers a search may hold for its candidates at once (rows × features): 8 Mi
    /// doubles, 64 MiB.
    static let maximumCandidateNumbers = 1 << 23

    /// How many candidate rows of this input fit ``maximumCandidateNumbers``.
    var candidateCapacity: Int { Self.maximumCandidateNumbers / max(1, space.count) }

    /// Refuses a search that would hold `rows` candidates of this input at once (the value of
    /// `parameter`) beyond ``maximumCandidateNumbers``.
    func checkCandidates(_ rows: Int, parameter: String, method: String) throws(ExplanationError) {
        guard rows <= candidateCapacity else {
            throw ExplanationError(
                .tooLarge,
                "\(method) would hold \(rows) candidates of \(space.count) features at once, more than the \(Self.maximumCandidateNumbers) numbers allowed: lower '\(parameter)' to at most \(candidateCapacity)"
            )
        }
    }

    /// Checks the outcome against the output the model actually produced (its size is known
    /// only after a pass when the model declares it symbolically).
    func check(outputsPerInstance: Int) throws(ExplanationError) {
        switch outcome {
        case .classIndex(let desired) where desired >= outputsPerInstance:
            throw ExplanationError(
                .invalidParameter, "desired_class \(desired) is out of range: the explained output has \(outputsPerInstance) values")
        case .range where outputsPerInstance != 1:
            throw ExplanationError(
                .invalidParameter, "desired_range needs an output of one value; the explained output has \(outputsPerInstance)")
        case .otherClass where outputsPerInstance < 2:
            throw ExplanationError(.invalidParameter, "the explained output holds one value: give desired_range [low, high]")
        default: return
        }
    }
}
