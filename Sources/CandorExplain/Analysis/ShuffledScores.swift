import CandorModel
import CandorTensor

/// The score of a model over a dataset, then again with features shuffled across the rows:
/// the computation `permutation_importance` reports as importances and `importance_test`
/// turns into p-values. Reads the parameters both share (`scoring`, `seed`, `features` or
/// `groups`), picks the score and the analysed value, and checks the labels and the work's
/// size before anything runs.
struct ShuffledScores: Sendable {
    /// The most rows one analysis may evaluate, rows × (1 + features × repeats): ten million
    /// rows take minutes on a small tabular model. Memory does not grow with it: the shuffled
    /// rows are built and scored a pass at a time.
    static let maximumEvaluatedRows = 10_000_000

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
    let evaluatedRows: Int

    /// Reads `scoring`, `seed`, and `features` or `groups` for `analysis`, which shuffles each
    /// unit `repeats` times (its parameter `repeatsName`).
    init(
        _ reader: inout ParameterReader, problem: AnalysisProblem, analysis: String, repeats: Int, repeatsName: String
    ) throws(ExplanationError) {
        featureCount = try problem.featureCount(for: analysis)
        let rows = problem.rowCount
        guard rows >= 2 else {
            throw ExplanationError(
                .invalidInput, "\(analysis) shuffles features across rows: the dataset needs at least two rows, it has \(rows)")
        }
        let names = problem.dataset.featureNames
        if reader.isGiven("groups") {
            guard !reader.isGiven("features") else {
                throw ExplanationError(.invalidParameter, "\(analysis) takes 'features' or 'groups', not both")
            }
            units = try reader.featureGroups("groups", count: featureCount, names: names) ?? []
        } else {
            let features = try reader.features("features", count: featureCount, names: names) ?? []
            units = Self.inRequestedOrder(features, reader.json("features"), names: names).map { [$0] }
        }
        guard !units.isEmpty else { throw ExplanationError(.invalidParameter, "parameter 'features' of \(analysis) names no feature") }
        self.repeats = repeats
        seed = try reader.seed()

        outputWidth = try problem.outputWidth(for: analysis)
        if reader.isGiven("scoring") {
            scoring = try reader.choice("scoring", as: ImportanceScoring.self)
        } else {
            scoring = outputWidth > 1 ? .accuracy : .r2
            reader.record("scoring", .string(scoring.rawValue))
        }
        if scoring.isClassification {
            guard outputWidth > 1 else {
                throw ExplanationError(
                    .invalidParameter,
                    "scoring '\(scoring.rawValue)' compares classes and the analysed output has one value per row: use r2 or neg_mean_squared_error"
                )
            }
            target = 0
        } else {
            target = try problem.target(outputsPerRow: outputWidth, analysis: analysis)
        }
        if let labels = problem.labels { try Self.check(labels, rows: rows, classes: scoring.isClassification ? outputWidth : nil) }

        let (perRepeat, overflow) = units.count.multipliedReportingOverflow(by: repeats)
        let (shuffled, overflowRows) = rows.multipliedReportingOverflow(by: perRepeat)
        guard !overflow, !overflowRows, shuffled < Self.maximumEvaluatedRows - rows else {
            throw ExplanationError(
                .invalidInput,
                "\(analysis) would evaluate rows × (1 + features × \(repeatsName)) = \(rows) × (1 + \(units.count) × \(repeats)) rows, more than the \(Self.maximumEvaluatedRows) allowed: use fewer rows, features or \(repeatsName)"
            )
        }
        evaluatedRows = rows + shuffled
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

    /// How a unit is named in a result: `feature` for one, `group` for several.
    func label(_ columns: [Int], problem: AnalysisProblem) -> [String: JSONValue] {
        columns.count == 1
            ? ["feature": .string(problem.featureName(columns[0]))]
            : ["group": .array(columns.map { .string(problem.featureName($0)) })]
    }

    /// The baseline score, where the truth came from (`"dataset"` labels, or the `"model"`'s
    /// own answers on the unshuffled rows), and baseline − shuffled score for every unit and
    /// repeat.
    func run(
        _ problem: AnalysisProblem, context: AnalysisContext, analysis: String
    ) throws(ExplanationError) -> (baseline: Double, labelSource: String, importances: [[Double]]) {
        let rows = problem.rowCount
        let baselineOutputs = try problem.outputs(context: context)
        try baselineOutputs.checkWidth(outputWidth, analysis: analysis)
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
        return (baseline, labelSource, importances)
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
