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
    /// The most rows the analysis may evaluate, rows × (1 + features × n_repeats): ten
    /// million rows take minutes on a small tabular model. Memory does not grow with it: the
    /// shuffled rows are built and scored a pass at a time.
    static let maximumEvaluatedRows = 10_000_000

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
        let name = descriptor.name
        var reader = try ParameterReader(parameters, specs: descriptor.parameters, method: name)
        let featureCount = try problem.featureCount(for: name)
        let rows = problem.rowCount
        guard rows >= 2 else {
            throw ExplanationError(
                .invalidInput, "\(name) shuffles features across rows: the dataset needs at least two rows, it has \(rows)")
        }
        let names = problem.dataset.featureNames
        let units: [[Int]]
        if reader.isGiven("groups") {
            guard !reader.isGiven("features") else {
                throw ExplanationError(.invalidParameter, "\(name) takes 'features' or 'groups', not both")
            }
            units = try reader.featureGroups("groups", count: featureCount, names: names) ?? []
        } else {
            let features = try reader.features("features", count: featureCount, names: names) ?? []
            units = Self.inRequestedOrder(features, reader.json("features"), names: names).map { [$0] }
        }
        guard !units.isEmpty else { throw ExplanationError(.invalidParameter, "parameter 'features' of \(name) names no feature") }
        let repeats = try reader.int("n_repeats")
        let seed = try reader.seed()

        let width = try problem.outputWidth(for: name)
        let scoring: ImportanceScoring
        if reader.isGiven("scoring") {
            scoring = try reader.choice("scoring", as: ImportanceScoring.self)
        } else {
            scoring = width > 1 ? .accuracy : .r2
            reader.record("scoring", .string(scoring.rawValue))
        }
        let target: Int
        if scoring.isClassification {
            guard width > 1 else {
                throw ExplanationError(
                    .invalidParameter,
                    "scoring '\(scoring.rawValue)' compares classes and the analysed output has one value per row: use r2 or neg_mean_squared_error"
                )
            }
            target = 0
        } else {
            target = try problem.target(outputsPerRow: width, analysis: name)
        }
        if let labels = problem.labels { try Self.check(labels, rows: rows, classes: scoring.isClassification ? width : nil) }

        let (perRepeat, overflow) = units.count.multipliedReportingOverflow(by: repeats)
        let (shuffled, overflowRows) = rows.multipliedReportingOverflow(by: perRepeat)
        guard !overflow, !overflowRows, shuffled < Self.maximumEvaluatedRows - rows else {
            throw ExplanationError(
                .invalidInput,
                "\(name) would evaluate rows × (1 + features × n_repeats) = \(rows) × (1 + \(units.count) × \(repeats)) rows, more than the \(Self.maximumEvaluatedRows) allowed: use fewer rows, features or repeats"
            )
        }
        return Plan(
            effectiveParameters: reader.effective, units: units, repeats: repeats, seed: seed, scoring: scoring, target: target,
            featureCount: featureCount, outputWidth: width, progressTotal: rows + shuffled)
    }

    /// The validated `features` (sorted) in the order the request lists them, so the result
    /// reads in that order; `"all"` keeps feature order.
    static func inRequestedOrder(_ features: [Int], _ requested: JSONValue?, names: [String]?) -> [Int] {
        guard case .array(let items)? = requested else { return features }
        var ordered: [Int] = []
        for item in items {
            let index: Int? =
                switch item {
                case .number(let number): Int(exactly: number)
                case .string(let label): names?.firstIndex(of: label)
                default: nil
                }
            if let index, features.contains(index), !ordered.contains(index) { ordered.append(index) }
        }
        return ordered.count == features.count ? ordered : features
    }

    /// Refuses labels that do not fit the dataset or the score: one finite label per row, and
    /// for a classification score a class index of the output.
    static func check(_ labels: [Double], rows: Int, classes: Int?) throws(ExplanationError) {
        guard labels.count == rows else {
            throw ExplanationError(.invalidInput, "the dataset has \(rows) rows but \(labels.count) labels")
        }
        for (row, label) in labels.enumerated() {
            guard label.isFinite else { throw ExplanationError(.invalidInput, "the label of row \(row) is not a finite number") }
            if let classes, label != label.rounded() || label < 0 || label >= Double(classes) {
                throw ExplanationError(
                    .invalidInput,
                    "the label of row \(row), \(label), is not a class index of the analysed output (0 to \(classes - 1))")
            }
        }
    }

    struct Plan: AnalysisPlan {
        let effectiveParameters: [String: JSONValue]
        /// The features shuffled together, in the order reported.
        let units: [[Int]]
        let repeats: Int
        let seed: UInt64
        let scoring: ImportanceScoring
        /// The analysed output value of the regression scores.
        let target: Int
        let featureCount: Int
        /// Values per row of the analysed output, as prepared for.
        let outputWidth: Int
        /// The rows evaluated: the dataset once, then once per unit and repeat.
        let progressTotal: Int
        var progressUnit: String { "rows" }

        func run(_ problem: AnalysisProblem, context: AnalysisContext) throws(ExplanationError) -> JSONValue {
            let rows = problem.rowCount
            let baselineOutputs = try problem.outputs(context: context)
            try baselineOutputs.checkWidth(outputWidth, analysis: "permutation_importance")
            let truth: [Double]
            let labelSource: String
            if let labels = problem.labels {
                truth = labels
                labelSource = "dataset"
            } else {
                truth =
                    scoring.isClassification
                    ? (0..<rows).map { Double(ImportanceScoring.predictedClass(baselineOutputs, row: $0)) }
                    : baselineOutputs.column(target)
                labelSource = "model"
            }
            let baseline = try scoring.score(baselineOutputs, first: 0, truth: truth, target: target)
            let importances = try shuffledImportances(problem, truth: truth, baseline: baseline, context: context)
            let entries: [JSONValue] = zip(units, importances).map { columns, values in
                let mean = values.reduce(0, +) / Double(values.count)
                let variance = values.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(values.count)
                var entry: [String: JSONValue] = [
                    "importances_mean": .number(mean), "importances_std": .number(variance.squareRoot()),
                    "importances": .array(values.map { .number($0) }),
                ]
                if columns.count == 1 {
                    entry["feature"] = .string(problem.featureName(columns[0]))
                } else {
                    entry["group"] = .array(columns.map { .string(problem.featureName($0)) })
                }
                return .object(entry)
            }
            return .object([
                "scoring": .string(scoring.rawValue), "labels": .string(labelSource), "baseline_score": .number(baseline),
                "n_repeats": .number(Double(repeats)), "features": .array(entries),
            ])
        }

        /// Baseline − score for every unit and repeat: the shuffled copies of the dataset, a
        /// block of `rows` rows per unit and repeat, are evaluated several blocks to a pass
        /// (as many as fill one pass of the memory budget) and scored as each pass returns, so
        /// at most one pass of outputs is held at a time. A unit's permutations are drawn in
        /// order from the stream of its first feature (groups are disjoint, so streams are
        /// distinct), so they depend neither on the pass size nor on the other units asked for.
        func shuffledImportances(
            _ problem: AnalysisProblem, truth: [Double], baseline: Double, context: AnalysisContext
        ) throws(ExplanationError) -> [[Double]] {
            let rows = problem.rowCount
            let width = featureCount
            let data = problem.rows[0].scalars
            var generators = units.map { SeededRandom(seed: seed, stream: $0.first ?? 0) }
            var importances = Array(repeating: [Double](), count: units.count)
            let blocks = units.count * repeats
            let blocksPerPass = context.explanation.unitsPerPass(for: problem.model, rowsPerUnit: rows)
            for first in stride(from: 0, to: blocks, by: blocksPerPass) {
                let pass = first..<Swift.min(first + blocksPerPass, blocks)
                let permutations = pass.map { generators[$0 / repeats].permutation(of: rows) }
                let outputs = try data.withUnsafeBufferPointer { source throws(ExplanationError) in
                    try problem.outputs(count: pass.count * rows, context: context) { row, _, destination in
                        let block = row / rows
                        let original = row % rows
                        for column in 0..<width { destination[column] = source[original * width + column] }
                        let donor = permutations[block][original]
                        for column in units[(pass.lowerBound + block) / repeats] {
                            destination[column] = source[donor * width + column]
                        }
                    }
                }
                for (position, block) in pass.enumerated() {
                    let score = try scoring.score(outputs, first: position * rows, truth: truth, target: target)
                    importances[block / repeats].append(baseline - score)
                }
            }
            return importances
        }
    }
}
