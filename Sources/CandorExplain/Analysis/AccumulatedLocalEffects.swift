import CandorModel
import CandorTensor

/// First-order accumulated local effects (Apley & Zhu 2020, "Visualizing the effects of
/// predictor variables in black box supervised learning models", JRSS B 82(4), eq. 15): a
/// feature's range is cut into bins at its quantiles; in each bin, every row that falls there is
/// moved to the bin's two edges and the model's differences averaged; the averages are summed
/// from the left and centred so that their mean over the rows is zero. Unlike partial
/// dependence, rows are only moved within their own neighbourhood, so correlated features do not
/// send the model to places the data never visits.
///
/// Computed exactly as Alibi 0.9.6's `alibi.explainers.ALE` with its defaults (`ale_num`):
/// a feature with at most 10 distinct values uses them as the grid; any other, the quantiles of
/// `adaptive_grid` — the number of quantiles found by Alibi's bisection such that every bin
/// holds more than `min_bin_points` rows; a constant feature is extrapolated to an interval of
/// ±max(10% of its value, 0.1) around it; the curve is centred by Alibi's `ale0`, the
/// row-weighted mean of the bin midpoints' accumulated effects.
public struct AccumulatedLocalEffects: Analysis {
    /// Features with at most this many distinct values use them as their grid (Alibi's
    /// `low_resolution_threshold`).
    static let lowResolutionThreshold = 10
    /// A constant feature q is analysed over [q − δ, q + δ], δ = max(q · 10/100, 0.1) (Alibi's
    /// `extrapolate_constant_perc` and `extrapolate_constant_min`).
    static let constantExtrapolationPercent = 10.0
    static let constantExtrapolationMinimum = 0.1

    public let descriptor = MethodDescriptor(
        name: "ale", family: "global",
        summary:
            "accumulated local effects: the summed average change of the analysed output across quantile bins of each feature, centred",
        reference: "Apley & Zhu 2020; Alibi `ALE`", requirement: .any,
        checkedAgainst:
            "Alibi 0.9.6 `ALE` (adaptive grids, constant features, min_bin_points) on breast-cancer, diabetes, iris and wine MLPs (grids exact, effects to float32); an additive model's components recovered up to centring",
        details: """
            For each feature, a grid of values z₀ < … < z_K: its distinct values when it has at most 10, otherwise the
            distinct quantiles (NumPy's linear `percentile`) at n evenly spaced levels, n found by Alibi's
            bisection over 0…rows so that every bin holds more than `min_bin_points` rows. Row i falls in bin k
            when z_{k−1} < xᵢ ≤ z_k (the smallest values in bin 1); the effect of bin k is the mean over its rows
            of f(row with the feature at z_k) − f(row at z_{k−1}); `ale_values` are the effects summed from the
            left (0 at z₀) minus `ale0`, the mean over rows of the average of the two sums bounding each row's bin.
            A constant feature q is analysed over [q − δ, q + δ], δ = max(q/10, 0.1). `feature_deciles` are the
            feature's deciles, `constant_value` the mean of the analysed output over the rows. Where Candor
            departs from Alibi on purpose: `constant_value` is the analysed target's mean (Alibi averages every
            output column together, 1/k for k class probabilities), and one output value is analysed per request.
            """,
        parameters: [
            ParameterSpec("features", .features, default: "all", summary: "the features to analyse, by name or index, or \"all\""),
            ParameterSpec(
                "min_bin_points", .integer, default: 4, minimum: 0, maximum: 1_000_000,
                summary: "the adaptive grid's bins each hold more than this many rows (fewer than the dataset's rows)"),
        ])

    public init() {}

    public func prepare(_ parameters: [String: JSONValue], for problem: AnalysisProblem) throws(ExplanationError) -> any AnalysisPlan {
        let name = descriptor.name
        let featureCount = try problem.featureCount(for: name)
        var reader = try ParameterReader(parameters, specs: descriptor.parameters, method: name)
        let features =
            try reader.features("features", count: featureCount, names: problem.dataset.featureNames) ?? Array(0..<featureCount)
        guard !features.isEmpty else {
            throw ExplanationError(
                .invalidParameter, "parameter 'features' of \(name) names no feature: name at least one, or give \"all\"")
        }
        let minimumBinRows = try reader.int("min_bin_points")
        let rows = problem.rowCount
        guard rows > 0 else { throw ExplanationError(.invalidInput, "\(name) needs a dataset of at least one row") }
        guard rows > minimumBinRows else {
            throw ExplanationError(
                .invalidParameter,
                "parameter 'min_bin_points' of \(name) must be below the dataset's \(rows) rows, so that a bin can hold more than it; got \(minimumBinRows)"
            )
        }
        // One pass over the rows for the mean prediction, then each feature's rows at the two edges of their bins.
        let progressTotal = rows * (1 + 2 * features.count)
        return Plan(
            name: name, features: features, minimumBinRows: minimumBinRows, featureCount: featureCount,
            effectiveParameters: reader.effective, progressTotal: progressTotal)
    }

    /// A feature's grid as Alibi's `ale_num` builds it (without custom grid points), before a
    /// constant feature's extrapolation.
    static func grid(_ column: [Double], minimumBinRows: Int) -> [Double] {
        let sorted = column.sorted()
        let distinct = EmpiricalQuantiles.sortedUnique(sorted)
        if distinct.count <= lowResolutionThreshold { return distinct }
        return adaptiveGrid(sorted: sorted, minimumBinRows: minimumBinRows)
    }

    /// Alibi's `adaptive_grid`: the distinct quantiles at n levels, n − 1 being where a
    /// bisection over 0…rows of "some bin holds at most `minimumBinRows` rows" first turns
    /// true. The function is not monotonic in n, so this is a heuristic — reproduced, not improved.
    static func adaptiveGrid(sorted: [Double], minimumBinRows: Int) -> [Double] {
        var low = 0
        var high = sorted.count
        while low < high {
            let middle = (low + high) / 2
            if binsHoldEnough(sorted: sorted, levels: middle, minimumBinRows: minimumBinRows) { low = middle + 1 } else { high = middle }
        }
        return quantileGrid(sorted: sorted, levels: low - 1)
    }

    /// The distinct quantiles of sorted values at `levels` evenly spaced levels from 0 to 100%
    /// (Alibi's `get_quantiles` under `numpy.unique`).
    static func quantileGrid(sorted: [Double], levels: Int) -> [Double] {
        guard levels > 0 else { return [] }
        let percentiles = EmpiricalQuantiles.linspace(0, 100, count: levels)
        return EmpiricalQuantiles.sortedUnique(EmpiricalQuantiles.percentiles(sorted: sorted, percentiles))
    }

    /// Alibi's `minimum_satisfied`: whether each bin of the quantile grid at `levels` levels holds
    /// more than `minimumBinRows` rows.
    static func binsHoldEnough(sorted: [Double], levels: Int, minimumBinRows: Int) -> Bool {
        let grid = quantileGrid(sorted: sorted, levels: levels)
        var counts: [Int] = [0, 0]
        for value in sorted {
            let bin = Swift.max(EmpiricalQuantiles.insertionIndex(of: value, in: grid), 1)
            if bin >= counts.count { counts += [Int](repeating: 0, count: bin + 1 - counts.count) }
            counts[bin] += 1
        }
        return counts.dropFirst().allSatisfy { $0 > minimumBinRows }
    }

    struct Plan: AnalysisPlan {
        let name: String
        let features: [Int]
        let minimumBinRows: Int
        let featureCount: Int
        let effectiveParameters: [String: JSONValue]
        let progressTotal: Int
        var progressUnit: String { "rows" }

        func run(_ problem: AnalysisProblem, context: AnalysisContext) throws(ExplanationError) -> JSONValue {
            let rows = problem.rowCount
            let featureCount = featureCount
            let data = problem.rows[0].scalars
            func copyRow(_ row: Int, _ destination: UnsafeMutableBufferPointer<Float>) {
                for feature in 0..<featureCount { destination[feature] = data[row * featureCount + feature] }
            }
            // The mean prediction, which also fixes the analysed value before the longer passes.
            var target = 0
            var total = 0.0
            try problem.streamOutputs(count: rows, context: context, fill: copyRow) { _, outputs throws(ExplanationError) in
                target = try problem.target(outputsPerRow: outputs.perRow, analysis: name)
                for row in 0..<outputs.count { total += Double(outputs[row, target]) }
            }
            var results: [JSONValue] = []
            for feature in features {
                let column = problem.column(feature, featureCount: featureCount)
                results.append(
                    try effects(of: feature, column: column, target: target, problem: problem, context: context, copyRow: copyRow))
            }
            return .object(["constant_value": .number(total / Double(rows)), "features": .array(results)])
        }

        /// One feature's curve, as Alibi's `ale_num`.
        private func effects(
            of feature: Int, column: [Double], target: Int, problem: AnalysisProblem, context: AnalysisContext,
            copyRow: (Int, UnsafeMutableBufferPointer<Float>) -> Void
        ) throws(ExplanationError) -> JSONValue {
            let rows = column.count
            var grid = AccumulatedLocalEffects.grid(column, minimumBinRows: minimumBinRows)
            if grid.count == 1 {
                // Python's max(scaled, minimum), as Alibi writes it: the minimum unless the scaled value is larger.
                let scaled = grid[0] * AccumulatedLocalEffects.constantExtrapolationPercent / 100
                let minimum = AccumulatedLocalEffects.constantExtrapolationMinimum
                let delta = minimum > scaled ? minimum : scaled
                grid = [grid[0] - delta, grid[0] + delta]
            }
            guard grid.count > 1 else {
                throw ExplanationError(.invalidInput, "\(name) found no grid for feature '\(problem.featureName(feature).prefix(100))'")
            }
            // Row i's bin k: z_{k−1} < xᵢ ≤ z_k, the smallest values in bin 1.
            let bins = column.map { Swift.min(Swift.max(EmpiricalQuantiles.insertionIndex(of: $0, in: grid), 1), grid.count - 1) }
            var sums = [Double](repeating: 0, count: grid.count)
            var counts = [Int](repeating: 0, count: grid.count)
            // Synthetic rows 0..<rows are the rows at their bin's lower edge, rows..<2·rows at its upper edge.
            var lower = [Float](repeating: 0, count: rows)
            try problem.streamOutputs(count: 2 * rows, context: context) { index, destination in
                let row = index % rows
                copyRow(row, destination)
                destination[feature] = Float(grid[index < rows ? bins[row] - 1 : bins[row]])
            } consume: { first, outputs throws(ExplanationError) in
                for offset in 0..<outputs.count {
                    let index = first + offset
                    let value = outputs[offset, target]
                    if index < rows {
                        lower[index] = value
                    } else {
                        let row = index - rows
                        sums[bins[row]] += Double(value) - Double(lower[row])
                        counts[bins[row]] += 1
                    }
                }
            }
            // Effects summed from the left, 0 at z₀; a bin without rows (none with Alibi's grids) adds nothing.
            var accumulated = [0.0]
            for bin in 1..<grid.count {
                accumulated.append(accumulated[bin - 1] + (counts[bin] > 0 ? sums[bin] / Double(counts[bin]) : 0))
            }
            var weighted = 0.0
            for bin in 1..<grid.count {
                weighted += 0.5 * (accumulated[bin - 1] + accumulated[bin]) * Double(counts[bin])
            }
            let ale0 = weighted / Double(rows)
            let deciles = EmpiricalQuantiles.percentiles(sorted: column.sorted(), EmpiricalQuantiles.linspace(0, 100, count: 11))
            return .object([
                "feature": .string(problem.featureName(feature)),
                "grid_values": .array(grid.map(JSONValue.number)),
                "ale_values": .array(accumulated.map { .number($0 - ale0) }),
                "ale0": .number(ale0),
                "feature_deciles": .array(deciles.map(JSONValue.number)),
            ])
        }
    }
}
