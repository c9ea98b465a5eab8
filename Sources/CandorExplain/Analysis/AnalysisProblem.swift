import CandorModel
import CandorTensor

/// What an analysis studies: a model, a dataset of rows it is evaluated on, and which of its
/// output values is analysed.
public struct AnalysisProblem: Sendable {
    public let model: any PredictiveModel
    /// The dataset, one tensor per model input shaped [rows] + instance shape.
    public let rows: [Tensor]
    /// Each row's true value (a class index or a number), when the dataset has a label column.
    public let labels: [Double]?
    /// Index of the analysed model output.
    public let output: Int
    /// The analysed value of that output (a class index into its flattened per-row values);
    /// nil leaves the choice to ``target(outputsPerRow:analysis:)``.
    public let target: Int?
    /// What the model's sidecar says about its data: feature and class names, domains, statistics.
    public let dataset: DatasetSummary

    public init(
        model: any PredictiveModel, rows: [Tensor], labels: [Double]? = nil, output: Int = 0, target: Int? = nil,
        dataset: DatasetSummary = .none
    ) {
        self.model = model
        self.rows = rows
        self.labels = labels
        self.output = output
        self.target = target
        self.dataset = dataset
    }

    public var rowCount: Int { rows.first?.shape.first ?? 0 }

    /// The number of features of a tabular model (one input whose instances are flat vectors);
    /// a 400 naming `analysis` for any other model.
    public func featureCount(for analysis: String) throws(ExplanationError) -> Int {
        guard rows.count == 1, rows[0].rank == 2 else {
            throw ExplanationError(
                .methodNotApplicable,
                "\(analysis) analyses tabular models (one input of flat feature vectors); this model's inputs are shaped \(rows.map { Array($0.shape.dropFirst()) })"
            )
        }
        return rows[0].shape[1]
    }

    /// Feature `index`'s name from the sidecar, or its index as text.
    public func featureName(_ index: Int) -> String {
        if let names = dataset.featureNames, index < names.count { return names[index] }
        return String(index)
    }

    /// The analysed value among `outputsPerRow`: the requested target when it is in range;
    /// otherwise the only value, or for two values the second — the positive class, which is
    /// what scikit-learn reports for a binary classifier. With more values the client must say
    /// which (a 400).
    public func target(outputsPerRow: Int, analysis: String) throws(ExplanationError) -> Int {
        if let target {
            guard target >= 0, target < outputsPerRow else {
                throw ExplanationError(
                    .invalidTarget, "target \(target) is outside the analysed output, which has \(outputsPerRow) values per row")
            }
            return target
        }
        switch outputsPerRow {
        case 1: return 0
        case 2: return 1
        default:
            throw ExplanationError(
                .invalidTarget,
                "\(analysis) analyses one output value and this output has \(outputsPerRow) per row: give 'target' (a class index or name)")
        }
    }

    /// The analysed output for `count` synthetic rows: `fill` writes row r of input i into the
    /// given (zeroed) buffer, and the rows are evaluated in passes sized to the memory budget,
    /// checking cancellation between passes and, when `countsProgress`, advancing progress by
    /// the rows each pass evaluated.
    public func outputs(
        count: Int, context: AnalysisContext, countsProgress: Bool = true,
        fill: (_ row: Int, _ input: Int, _ destination: UnsafeMutableBufferPointer<Float>) -> Void
    ) throws(ExplanationError) -> OutputRows {
        var values: [Float] = []
        // The fill is used only during the call, though the enum case stores it.
        let evaluation = withoutActuallyEscaping(fill) { fill in
            Result { () throws(ExplanationError) in
                try FilledPasses.evaluate(
                    model, instanceShapes: rows.map { Array($0.shape.dropFirst()) }, output: output, count: count,
                    context: context.explanation, fill: .inOrder(fill)
                ) { result, pass throws(ExplanationError) in
                    guard result.isFinite else {
                        throw ExplanationError(.nonFiniteResult, "the model produced NaN or infinity on rows of this dataset")
                    }
                    values += result.scalars
                    if countsProgress { context.progress.advance(by: pass.count) }
                }
            }
        }
        try evaluation.get()
        return OutputRows(values: values, count: count)
    }

    /// The analysed output for the dataset's own rows.
    public func outputs(context: AnalysisContext, countsProgress: Bool = true) throws(ExplanationError) -> OutputRows {
        let sizes = rows.map { $0.shape.dropFirst().reduce(1, *) }
        return try outputs(count: rowCount, context: context, countsProgress: countsProgress) { row, input, destination in
            rows[input].scalars.withUnsafeBufferPointer { source in
                let start = row * sizes[input]
                for index in 0..<sizes[input] { destination[index] = source[start + index] }
            }
        }
    }
}

/// A model output for many rows, row-major.
public struct OutputRows: Sendable {
    public let values: [Float]
    public let perRow: Int

    init(values: [Float], count: Int) {
        self.values = values
        self.perRow = count > 0 ? values.count / count : 0
    }

    public var count: Int { perRow > 0 ? values.count / perRow : 0 }

    /// Value `column` of row `row`.
    public subscript(row: Int, column: Int) -> Float { values[row * perRow + column] }

    /// Value `column` of every row.
    public func column(_ column: Int) -> [Double] {
        (0..<count).map { Double(values[$0 * perRow + column]) }
    }

    /// Each row's largest value's index (the predicted class).
    public var argmax: [Int] {
        (0..<count).map { row in
            var best = 0
            for column in 1..<Swift.max(perRow, 1) where values[row * perRow + column] > values[row * perRow + best] { best = column }
            return best
        }
    }
}
