import CandorModel
import CandorTensor
import Foundation

/// Anchors (Ribeiro, Singh & Guestrin, AAAI 2018) for tabular instances, as Alibi's
/// `AnchorTabular`: the shortest rule over the features' quartile bins that keeps the
/// prediction (the argmax of the explained output stays the target) with precision at least
/// `threshold`. Predicates are one-sided, one per feature and quartile edge (`petal width (cm)
/// <= 0.30`, `sepal width (cm) > 2.80`), the same bins as LIME's; the search is
/// `AnchorSearch`. Samples and coverage come from reference rows — the request's `background`
/// or the sidecar's background file — and the bins from the sidecar's statistics or those rows.
///
/// The explanation's `rules` are the anchor, one condition per feature as Alibi words them
/// with its exact bounds (`lower` < x ≤ `upper`, null where open);
/// `precision`, `coverage` and `success` (false when no rule reached the threshold and the
/// most precise one found is returned); `attributions` are 1 on the anchored features and 0
/// elsewhere.
public struct Anchors: Explainer {
    /// The most samples drawn for one instance.
    public static let sampleBudget = 200_000

    public let descriptor = MethodDescriptor(
        name: "anchors", family: "rules",
        summary: "the shortest rule over quartile bins that keeps the prediction with precision ≥ threshold (KL-LUCB)",
        reference: "Alibi AnchorTabular; Ribeiro et al. 2018", requirement: .any,
        checkedAgainst:
            "Alibi 0.9.6 `AnchorTabular`: the candidate predicates string for string, Alibi's anchor where it is steady; precision ≥ 0.9 on 4,000 fresh draws",
        details: """
            The shortest rule over the features' quartile bins that keeps the prediction (the argmax
            stays the target) with precision ≥ `threshold`, grown one one-sided predicate at a time,
            each size's best candidate picked by the KL-LUCB bandit and sampled until its confidence
            bounds settle, as Alibi's `AnchorTabular` searches. Samples draw the anchored features
            together from a background row satisfying the rule and the rest from another random row.
            Each explanation has `rules` (one per anchored feature, with exact bounds), `precision`,
            `coverage` (the share of background rows covered) and `success`; attributions are 1 on
            anchored features. Tables only.

            Where Candor departs from Alibi: `precision` counts only the rule's own samples; Alibi
            also counts its parent rule's, which can overstate it.
            """,
        parameters: [
            ParameterSpec("threshold", .number, default: 0.95, minimum: 0.5, maximum: 1, summary: "the precision an anchor must reach"),
            ParameterSpec(
                "delta", .number, default: 0.1, minimum: 1e-6, maximum: 0.5, summary: "1 − the confidence of the precision bounds"),
            ParameterSpec(
                "tau", .number, default: 0.15, minimum: 1e-4, maximum: 1, summary: "the bandit's tolerance when picking the best candidate"),
            ParameterSpec("batch_size", .integer, default: 100, minimum: 1, maximum: 10_000, summary: "samples drawn at a time"),
            BackgroundRows.parameter("reference rows samples and coverage come from (omitted or \"model\": the sidecar's background)"),
            ParameterSpec.seed(of: "the samples"),
        ])

    public init() {}

    public func prepare(_ parameters: [String: JSONValue], for problem: ExplanationProblem) throws(ExplanationError) -> any ExplanationPlan
    {
        var reader = try ParameterReader(parameters, specs: descriptor.parameters, method: descriptor.name)
        guard problem.inputs.count == 1, let input = problem.inputs.first, input.rank == 2 else {
            throw ExplanationError(.methodNotApplicable, "anchors explains tabular instances: one input of flat feature vectors")
        }
        let width = input.shape[1]
        guard reader.isGiven("background") || problem.dataset.background != nil else {
            throw ExplanationError(
                .missingReferenceData,
                "anchors samples from reference rows, and this model's sidecar names no background file: send 'background' (a sample of training instances) in params"
            )
        }
        let reference = try BackgroundRows.resolve(&reader, problem: problem, method: descriptor.name)
        let requestRows = reader.isGiven("background") && reader.json("background") != .string("model") ? reference.rows[0] : nil
        guard let bins = QuartileBins.forTable(width: width, requestRows: requestRows, dataset: problem.dataset) else {
            throw ExplanationError(.missingReferenceData, "anchors could not bin the features: send more 'background' rows")
        }
        let names = problem.dataset.featureNames.flatMap { $0.count == width ? $0 : nil } ?? (0..<width).map { "feature \($0)" }
        let threshold = try reader.optionalDouble("threshold") ?? 0.95
        let delta = try reader.optionalDouble("delta") ?? 0.1
        let tau = try reader.optionalDouble("tau") ?? 0.15
        let batchSize = try reader.int("batch_size")
        let seed = try reader.seed()
        return Plan(
            model: problem.model, effectiveParameters: reader.effective, rows: reference.rows[0], bins: bins, names: names,
            threshold: threshold, delta: delta, tau: tau, batchSize: batchSize, seed: seed)
    }

    struct Plan: ExplanationPlan {
        let model: any PredictiveModel
        let effectiveParameters: [String: JSONValue]
        let rows: Tensor
        let bins: [QuartileBins]
        let names: [String]
        let threshold: Double
        let delta: Double
        let tau: Double
        let batchSize: Int
        let seed: UInt64

        /// The instance's predicates, per feature and quartile edge k: `x <= e_k` (bins 0…k)
        /// when the instance's bin is at most k, else `x > e_k` (bins k+1…).
        static func predicates(bins: [QuartileBins], instance: [Double]) -> [AnchorSearch.Predicate] {
            bins.enumerated().flatMap { feature, featureBins in
                let own = featureBins.bin(of: instance[feature])
                return featureBins.edges.indices.map { edge in
                    own <= edge
                        ? AnchorSearch.Predicate(feature: feature, lowerBin: 0, upperBin: edge)
                        : AnchorSearch.Predicate(feature: feature, lowerBin: edge + 1, upperBin: featureBins.edges.count)
                }
            }
        }

        /// A predicate as Alibi names it.
        func name(_ predicate: AnchorSearch.Predicate) -> String {
            let edges = bins[predicate.feature].edges
            let feature = names[predicate.feature]
            return predicate.lowerBin == 0
                ? "\(feature) <= \(String(format: "%.2f", edges[predicate.upperBin]))"
                : "\(feature) > \(String(format: "%.2f", edges[predicate.lowerBin - 1]))"
        }

        /// The anchor's conditions merged per feature, in the order features entered it: the
        /// wording, and the bounds lower < x ≤ upper (nil where open).
        func rules(_ anchor: [AnchorSearch.Predicate]) -> [(feature: Int, rule: String, lower: Double?, upper: Double?)] {
            var order: [Int] = []
            var bounds: [Int: (Int, Int)] = [:]
            for predicate in anchor {
                if bounds[predicate.feature] == nil { order.append(predicate.feature) }
                let (lower, upper) = bounds[predicate.feature] ?? (0, bins[predicate.feature].edges.count)
                bounds[predicate.feature] = (max(lower, predicate.lowerBin), min(upper, predicate.upperBin))
            }
            return order.map { feature in
                let edges = bins[feature].edges
                let (lower, upper) = bounds[feature] ?? (0, edges.count)
                let name = names[feature]
                func format(_ value: Double) -> String { String(format: "%.2f", value) }
                let low = lower > 0 ? edges[lower - 1] : nil
                let high = upper < edges.count ? edges[upper] : nil
                let rule =
                    switch (low, high) {
                    case (let low?, let high?): "\(format(low)) < \(name) <= \(format(high))"
                    case (let low?, nil): "\(name) > \(format(low))"
                    case (nil, let high?): "\(name) <= \(format(high))"
                    case (nil, nil): name
                    }
                return (feature, rule, low, high)
            }
        }

        func run(_ problem: ResolvedProblem, context: ExplanationContext) throws(ExplanationError) -> [InstanceAttribution] {
            let width = bins.count
            let count = rows.shape[0]
            let rowBins = (0..<(count * width)).map { bins[$0 % width].bin(of: Double(rows.scalars[$0])) }
            var results: [InstanceAttribution] = []
            for row in 0..<problem.problem.batchSize {
                let instance = problem.problem.inputs[0].scalars[(row * width)..<((row + 1) * width)].map(Double.init)
                let predicates = Self.predicates(bins: bins, instance: instance)
                let target = problem.targets[row]
                let search = AnchorSearch(
                    threshold: threshold, delta: delta, tau: tau, batchSize: batchSize, rows: rows.scalars, rowBins: rowBins,
                    rowCount: count,
                    width: width, predicates: predicates, bins: bins,
                    keepsPrediction: { values throws(ExplanationError) in
                        try keepsPrediction(values, target: target, width: width, problem: problem, context: context)
                    }, sampleBudget: Anchors.sampleBudget)
                var random = SeededRandom(seed: seed, stream: row)
                let result = try search.run(random: &random, context: context)
                let anchor = result.anchor.map { predicates[$0] }
                let merged = rules(anchor)
                var mask = [Float](repeating: 0, count: width)
                for rule in merged { mask[rule.feature] = 1 }
                var attribution = InstanceAttribution(attributions: [try problem.problem.instanceTensor(mask, input: 0)])
                attribution.extras["rules"] = .array(
                    merged.map { rule in
                        .object([
                            "feature": .string(names[rule.feature]), "rule": .string(rule.rule),
                            "lower": rule.lower.map(JSONValue.number) ?? .null, "upper": rule.upper.map(JSONValue.number) ?? .null,
                        ])
                    })
                attribution.extras["precision"] = .number(result.precision)
                attribution.extras["coverage"] = .number(result.coverage)
                attribution.extras["success"] = .bool(result.success)
                results.append(attribution)
            }
            return results
        }

        /// Whether the model's argmax over the explained output is still `target` for each
        /// sampled instance.
        private func keepsPrediction(
            _ values: [Float], target: Int, width: Int, problem: ResolvedProblem, context: ExplanationContext
        ) throws(ExplanationError) -> [Bool] {
            let count = values.count / width
            let perRow = problem.outputsPerInstance
            // Every output row's argmax, in passes within the memory budget.
            let outputs = try SampleEvaluation(model: model, problem: problem, row: 0)
                .outputRows(
                    count: count, context: context,
                    fill: .concurrent { sample, _, destination in
                        for feature in 0..<width { destination[feature] = values[sample * width + feature] }
                    })
            return (0..<count).map { sample in
                let slice = outputs[(sample * perRow)..<((sample + 1) * perRow)]
                return (slice.indices.max { slice[$0] < slice[$1] } ?? 0) - sample * perRow == target
            }
        }
    }
}
