import CandorModel
import CandorTensor

/// Permutation feature importance over a dataset (Breiman, "Random Forests", 2001; Fisher,
/// Rudin & Dominici, "All Models are Wrong, but Many are Useful", JMLR 2019), as
/// scikit-learn 1.9.1's `sklearn.inspection.permutation_importance` computes it: the drop of a
/// score when one feature's column — or a group of columns, shuffled by one permutation — is
/// shuffled across the rows, `n_repeats` times. A model that does not use a feature loses
/// nothing when it is shuffled; one that relies on it loses what it learned from it.
///
/// Without labels in the dataset the score is taken against the model's own answers on the
/// unshuffled rows (its argmax class, or the analysed value), so the importance measures how
/// much the model's answer depends on the feature rather than how much its accuracy does.
public struct PermutationImportance: Analysis {
    public let descriptor = MethodDescriptor(
        name: "permutation_importance", family: "global",
        summary:
            "the drop of a score (accuracy, R², log loss, MSE) when each feature, or group of features, is shuffled across the dataset's rows, with its spread over repeats",
        reference: "scikit-learn 1.9.1 permutation_importance (Breiman 2001; Fisher, Rudin & Dominici 2019)", requirement: .any,
        checkedAgainst:
            "scikit-learn 1.9.1 permutation_importance on breast-cancer and iris MLPs (accuracy, neg_log_loss, feature groups) and a diabetes MLP regressor (r2, neg_mean_squared_error, labels from the model): the same baseline score, each mean importance within 3 standard deviations of scikit-learn's over 20 random states; property tests (an ignored feature scores exactly 0, a seed reproduces)",
        details: """
            Each feature (or each group of `groups`, whose columns are shuffled by one shared row
            permutation) is shuffled across the rows `n_repeats` times; each time the score is taken
            again, and the importance is the baseline score minus the shuffled one. The result gives each
            repeat's importance, their mean and their population standard deviation (numpy's default,
            ddof 0), as scikit-learn does. The score is taken against the dataset's labels, or, when it has
            none, against the model's own answers on the unshuffled rows (`"labels": "model"`): then it
            measures how much the model's answer depends on a feature. `neg_log_loss` reads the output as
            class probabilities (each row must sum to 1; clipped to [ε, 1 − ε] with float32's ε, as
            scikit-learn's log_loss does on float32 predictions). Feature i's shuffles come from stream i of
            `seed` (a group's from the stream of its first feature), so a feature is shuffled alike whether
            asked for alone or among others; they are not numpy's draws, so the agreement with
            scikit-learn is statistical.
            """,
        parameters: [
            ParameterSpec.choice(
                "scoring", ImportanceScoring.allCases, default: nil,
                summary: "the score whose drop is measured (default: accuracy for an output with more than one value per row, r2 otherwise)"
            ),
            ParameterSpec("n_repeats", .integer, default: 5, minimum: 1, maximum: 1000, summary: "shuffles of each feature"),
            ParameterSpec.seed(of: "the shuffles"),
            ParameterSpec(
                "features", .features, default: "all",
                summary: "the features to shuffle, each alone, reported in the order given (default: all)"),
            ParameterSpec(
                "groups", .featureGroups,
                summary: "instead of features: groups of features, each group's columns shuffled together by one permutation"),
        ])

    public init() {}

    public func prepare(_ parameters: [String: JSONValue], for problem: AnalysisProblem) throws(ExplanationError) -> any AnalysisPlan {
        var reader = try ParameterReader(parameters, specs: descriptor.parameters, method: descriptor.name)
        let repeats = try reader.int("n_repeats")
        let scores = try ShuffledScores(&reader, problem: problem, analysis: descriptor.name, repeats: repeats, repeatsName: "n_repeats")
        return Plan(effectiveParameters: reader.effective, scores: scores)
    }

    struct Plan: AnalysisPlan {
        let effectiveParameters: [String: JSONValue]
        let scores: ShuffledScores
        var progressTotal: Int { scores.evaluatedRows }
        var progressUnit: String { "rows" }

        func run(_ problem: AnalysisProblem, context: AnalysisContext) throws(ExplanationError) -> JSONValue {
            let outcome = try scores.run(problem, context: context, analysis: "permutation_importance")
            let entries: [JSONValue] = zip(scores.units, outcome.importances).map { columns, values in
                let mean = values.reduce(0, +) / Double(values.count)
                let variance = values.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(values.count)
                var entry = scores.label(columns, problem: problem)
                entry["importances_mean"] = .number(mean)
                entry["importances_std"] = .number(variance.squareRoot())
                entry["importances"] = .array(values.map { .number($0) })
                return .object(entry)
            }
            return .object([
                "scoring": .string(scores.scoring.rawValue), "labels": .string(outcome.labelSource),
                "baseline_score": .number(outcome.baseline), "n_repeats": .number(Double(scores.repeats)),
                "features": .array(entries),
            ])
        }
    }
}
