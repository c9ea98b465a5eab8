import CandorModel
import CandorTensor

/// A hypothesis test per feature — does the model's score depend on this feature more than
/// chance would make it? — with the features selected at a false discovery rate. For feature
/// j the null hypothesis is that its column is exchangeable across rows given the score: the
/// score with the real column is then one more draw among the scores with the column
/// permuted, so with K permutations p = (1 + #{k : score_k ≥ score}) / (K + 1) is a valid
/// permutation p-value (Phipson & Smyth 2010; the permutation form of the conditional
/// randomization test of Candès et al. 2018, exact when the feature is independent of the
/// others). Features are then selected by the Benjamini–Hochberg procedure at level `q`.
public struct ImportanceTest: Analysis {
    public let descriptor = MethodDescriptor(
        name: "importance_test", family: "global",
        summary:
            "a permutation p-value per feature for \"the score does not depend on this feature\", and the features selected at false discovery rate q by Benjamini–Hochberg",
        reference: "permutation test (Phipson & Smyth 2010) with Benjamini–Hochberg FDR control (1995)", requirement: .any,
        checkedAgainst:
            "simulation: over repeated draws of data whose label depends on 3 of 10 features, through a model with small weights on the other 7, the false discovery proportion averages at most q and the power is reported; a feature the model ignores gets p = 1; the Benjamini–Hochberg adjustment equals R's p.adjust(\"BH\") on worked cases",
        details: """
            Each feature (or group of `groups`) is permuted across the rows `n_permutations` times and the
            score taken again, as `permutation_importance` does with `n_repeats`. Ties count against the
            feature (a shuffled score equal to the real one is as extreme), so a feature the model ignores has
            p = 1, and the smallest p-value possible is 1/(n_permutations + 1): with m features, BH can only
            select anything when n_permutations + 1 > m/q. Without labels the score is against the model's
            own answers, and the test then asks whether the model's answer depends on the feature at all. The
            p-values of different features share the data and the model, so their independence, which BH's
            guarantee assumes, is approximate; the simulation in the test suite measures the false discovery
            rate this gives.
            """,
        parameters: [
            ParameterSpec(
                "n_permutations", .integer, default: 100, minimum: 1, maximum: 100_000, summary: "permutations of each feature"),
            ParameterSpec("q", .number, default: 0.1, minimum: 0.0001, maximum: 0.5, summary: "the false discovery rate to control"),
            ParameterSpec.choice(
                "scoring", ImportanceScoring.allCases, default: nil,
                summary: "the score compared (default: accuracy for an output with more than one value per row, r2 otherwise)"),
            ParameterSpec.seed(of: "the permutations"),
            ParameterSpec("features", .features, default: "all", summary: "the features tested, each alone (default: all)"),
            ParameterSpec("groups", .featureGroups, summary: "instead of features: groups of features, each tested as one"),
        ])

    public init() {}

    public func prepare(_ parameters: [String: JSONValue], for problem: AnalysisProblem) throws(ExplanationError) -> any AnalysisPlan {
        var reader = try ParameterReader(parameters, specs: descriptor.parameters, method: descriptor.name)
        let permutations = try reader.int("n_permutations")
        let q = try reader.double("q")
        let scores = try ShuffledScores(
            &reader, problem: problem, analysis: descriptor.name, repeats: permutations, repeatsName: "n_permutations")
        return Plan(effectiveParameters: reader.effective, scores: scores, q: q)
    }

    struct Plan: AnalysisPlan {
        let effectiveParameters: [String: JSONValue]
        let scores: ShuffledScores
        let q: Double
        var progressTotal: Int { scores.evaluatedRows }
        var progressUnit: String { "rows" }

        func run(_ problem: AnalysisProblem, context: AnalysisContext) throws(ExplanationError) -> JSONValue {
            let outcome = try scores.run(problem, context: context, analysis: "importance_test")
            // A shuffled score at least as good as the real one is a drop ≤ 0.
            let pValues = outcome.importances.map { drops in
                Double(1 + drops.filter { $0 <= 0 }.count) / Double(drops.count + 1)
            }
            let adjusted = BenjaminiHochberg.adjusted(pValues)
            let entries: [JSONValue] = scores.units.indices.map { unit in
                var entry = scores.label(scores.units[unit], problem: problem)
                let drops = outcome.importances[unit]
                entry["importance_mean"] = .number(drops.reduce(0, +) / Double(Swift.max(drops.count, 1)))
                entry["p_value"] = .number(pValues[unit])
                entry["adjusted_p_value"] = .number(adjusted[unit])
                entry["selected"] = .bool(adjusted[unit] <= q)
                return .object(entry)
            }
            let selected = scores.units.indices.filter { adjusted[$0] <= q }.compactMap { unit in
                scores.label(scores.units[unit], problem: problem).values.first
            }
            return .object([
                "scoring": .string(scores.scoring.rawValue), "labels": .string(outcome.labelSource),
                "baseline_score": .number(outcome.baseline), "n_permutations": .number(Double(scores.repeats)),
                "q": .number(q), "p_values": .array(pValues.map { .number($0) }),
                "adjusted_p_values": .array(adjusted.map { .number($0) }), "selected": .array(selected),
                "features": .array(entries),
            ])
        }
    }
}
