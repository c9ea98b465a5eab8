import CandorModel
import CandorTensor

/// Partial dependence (Friedman 2001, "Greedy function approximation", §8.2) and individual
/// conditional expectation (Goldstein et al. 2015, "Peeking inside the black box"): for a
/// feature (or a pair) set to each value v of a grid in every row of a dataset, the model's
/// analysed output — each row's curve is its ICE curve, their mean the partial dependence
/// PD(v) = (1/n) Σᵢ f(v, x_C⁽ⁱ⁾). It shows what the model does as one feature moves with the
/// others held at their observed values, which is also its weakness with correlated features
/// (rows are moved to places the data never visits), and why `ale` exists beside it.
///
/// Computed exactly as scikit-learn 1.9.1's `partial_dependence(method="brute")`: the same
/// grid (`_grid_from_X`: the sorted distinct values of a feature with fewer of them than
/// `grid_resolution` or declared categorical, otherwise `grid_resolution` evenly spaced points
/// between SciPy's `mquantiles` at `percentiles`), the same averages, and for two binary
/// outputs the second (scikit-learn's positive class). `centered` shifts the curves as
/// `PartialDependenceDisplay(centered=True)` draws them.
public struct PartialDependence: Analysis {
    enum Kind: String, CaseIterable {
        case average, individual, both

        var hasAverage: Bool { self != .individual }
        var hasIndividual: Bool { self != .average }
    }

    /// The most items (features or pairs) one request may analyse.
    static let maximumItems = 32
    /// The most ICE values (rows × grid points, summed over the items) one result may hold:
    /// 10,000 rows of a 100-point curve. The job keeps the result as JSON values and writes
    /// it to disk, about 20 bytes a value, so this bounds a result near 20 MB.
    static let maximumIndividualValues = 1_000_000

    public let descriptor = MethodDescriptor(
        name: "partial_dependence", family: "global",
        summary: "partial dependence and ICE curves: the analysed output, averaged and per row, as one feature or a pair moves over a grid",
        reference: "Friedman 2001 (PD); Goldstein et al. 2015 (ICE); scikit-learn `partial_dependence`", requirement: .any,
        checkedAgainst:
            "scikit-learn 1.9.1 `partial_dependence(method=\"brute\")` and `PartialDependenceDisplay`'s centring on breast-cancer, diabetes, iris and wine MLPs (grids to 1e-12, curves to float32); a linear model's PD is a line of slope w",
        details: """
            Every row of the dataset is evaluated with the item's features set to each grid point (for a pair,
            each point of the product of the two grids, the first feature's value varying slowest); `average`
            is the mean over rows at each point, `individual` each row's values (ICE). A feature's grid is its
            sorted distinct values when it has fewer than `grid_resolution` of them or the sidecar declares it
            categorical; otherwise `grid_resolution` evenly spaced points between its empirical quantiles at
            `percentiles` (SciPy's `mquantiles`, α = β = 0.4), refused when those two quantiles are too close
            (NumPy's `allclose`) to span a grid, as scikit-learn refuses them. `centered` subtracts from each
            curve its value at the first grid point (for a pair, at the first feature's first grid value), as
            scikit-learn's `PartialDependenceDisplay(centered=True)` draws it. A pair must name two different
            features. A result holds at most 1,000,000 ICE values (rows × grid points over all items).
            """,
        parameters: [
            ParameterSpec(
                "features", .featureItems,
                summary:
                    "required: the features to analyse, each a name or index, or a pair [a, b] of them for a two-way dependence (at most 32 items); \"all\" is every feature alone"
            ),
            ParameterSpec(
                "grid_resolution", .integer, default: 100, minimum: 2, maximum: 1000,
                summary: "grid points per feature (fewer when the feature has fewer distinct values)"),
            ParameterSpec(
                "percentiles", .interval, default: [0.05, 0.95],
                summary: "the quantiles (0 ≤ low < high ≤ 1) that bound a feature's evenly spaced grid"),
            ParameterSpec.choice(
                "kind", default: Kind.average, summary: "the average curve (PD), each row's curves (ICE), or both"),
            ParameterSpec(
                "centered", .boolean, default: false, summary: "shift every curve to start at 0 (centred ICE, Goldstein et al. §3.1)"),
        ])

    public init() {}

    public func prepare(_ parameters: [String: JSONValue], for problem: AnalysisProblem) throws(ExplanationError) -> any AnalysisPlan {
        let name = descriptor.name
        let featureCount = try problem.featureCount(for: name)
        var reader = try ParameterReader(parameters, specs: descriptor.parameters, method: name)
        guard
            let items = try reader.featureItems(
                "features", count: featureCount, names: problem.dataset.featureNames, maximumItems: Self.maximumItems)
        else {
            throw ExplanationError(
                .invalidParameter, "parameter 'features' of \(name) is required: the features (names or indices) or pairs [a, b] to analyse"
            )
        }
        let resolution = try reader.int("grid_resolution")
        let percentiles = try reader.interval("percentiles") ?? 0.05...0.95
        guard percentiles.lowerBound >= 0, percentiles.upperBound <= 1, percentiles.lowerBound < percentiles.upperBound else {
            throw ExplanationError(
                .invalidParameter,
                "parameter 'percentiles' of \(name) must be [low, high] with 0 ≤ low < high ≤ 1, got [\(percentiles.lowerBound), \(percentiles.upperBound)]"
            )
        }
        let kind = try reader.choice("kind", as: Kind.self)
        let centered = try reader.bool("centered")
        let rows = problem.rowCount
        guard rows > 0 else { throw ExplanationError(.invalidInput, "\(name) needs a dataset of at least one row") }

        var grids: [Int: [Double]] = [:]
        for feature in Set(items.joined()).sorted() {
            grids[feature] = try Self.grid(
                problem.column(feature, featureCount: featureCount), resolution: resolution, percentiles: percentiles,
                isCategorical: problem.dataset.domains.categories[feature] != nil, featureName: problem.featureName(feature))
        }
        let curves = items.map { features in Curve(features: features, grids: features.map { grids[$0] ?? [] }) }
        let points = curves.reduce(0) { $0 + $1.pointCount }
        if kind.hasIndividual, rows * points > Self.maximumIndividualValues {
            throw ExplanationError(
                .invalidParameter,
                "\(name) with kind '\(kind.rawValue)' would return \(rows) rows × \(points) grid points = \(rows * points) ICE values, more than \(Self.maximumIndividualValues): use kind 'average', fewer rows, items or a lower grid_resolution"
            )
        }
        return Plan(
            name: name, curves: curves, kind: kind, isCentered: centered, featureCount: featureCount,
            effectiveParameters: reader.effective, progressTotal: rows * points)
    }

    /// A feature's grid as scikit-learn's `_grid_from_X` builds it; a 400 when the two
    /// percentiles are too close to span one.
    static func grid(
        _ column: [Double], resolution: Int, percentiles: ClosedRange<Double>, isCategorical: Bool, featureName: String
    ) throws(ExplanationError) -> [Double] {
        let sorted = column.sorted()
        let distinct = EmpiricalQuantiles.sortedUnique(sorted)
        if isCategorical || distinct.count < resolution { return distinct }
        let bounds = EmpiricalQuantiles.mquantiles(sorted: sorted, [percentiles.lowerBound, percentiles.upperBound])
        // numpy.allclose with its default tolerances, as scikit-learn tests them.
        guard abs(bounds[0] - bounds[1]) > 1e-8 + 1e-5 * abs(bounds[1]) else {
            throw ExplanationError(
                .invalidParameter,
                "parameter 'percentiles' of partial_dependence: feature '\(featureName.prefix(100))' has its \(percentiles.lowerBound) and \(percentiles.upperBound) quantiles too close to each other (\(bounds[0]), \(bounds[1])) to build a grid; choose percentiles further apart"
            )
        }
        return EmpiricalQuantiles.linspace(bounds[0], bounds[1], count: resolution)
    }

    /// One item: a feature or a pair, with its grids.
    struct Curve: Sendable {
        let features: [Int]
        let grids: [[Double]]

        /// The points of the product grid, the first feature's value varying slowest.
        var pointCount: Int { grids.reduce(1) { $0 * $1.count } }
    }

    struct Plan: AnalysisPlan {
        let name: String
        let curves: [Curve]
        let kind: Kind
        let isCentered: Bool
        let featureCount: Int
        let effectiveParameters: [String: JSONValue]
        let progressTotal: Int
        var progressUnit: String { "rows" }

        func run(_ problem: AnalysisProblem, context: AnalysisContext) throws(ExplanationError) -> JSONValue {
            var target: Int?
            var results: [JSONValue] = []
            for curve in curves {
                results.append(try evaluate(curve, problem: problem, context: context, target: &target))
            }
            return .object(["features": .array(results)])
        }

        /// Every row at every grid point of `curve`, reduced as the plan's kind asks.
        private func evaluate(
            _ curve: Curve, problem: AnalysisProblem, context: AnalysisContext, target: inout Int?
        ) throws(ExplanationError) -> JSONValue {
            let rows = problem.rowCount
            let points = curve.pointCount
            let featureCount = featureCount
            let data = problem.rows[0].scalars
            var sums = [Double](repeating: 0, count: points)
            var individual = [Float](repeating: 0, count: kind.hasIndividual ? rows * points : 0)
            var column = target
            try problem.streamOutputs(count: rows * points, context: context) { index, destination in
                let row = index % rows
                for feature in 0..<featureCount { destination[feature] = data[row * featureCount + feature] }
                var remainder = index / rows
                for (position, feature) in curve.features.enumerated().reversed() {
                    let grid = curve.grids[position]
                    destination[feature] = Float(grid[remainder % grid.count])
                    remainder /= grid.count
                }
            } consume: { first, outputs throws(ExplanationError) in
                let analysed: Int
                if let column {
                    analysed = column
                } else {
                    analysed = try problem.target(outputsPerRow: outputs.perRow, analysis: name)
                    column = analysed
                }
                for offset in 0..<outputs.count {
                    let index = first + offset
                    let value = outputs[offset, analysed]
                    sums[index / rows] += Double(value)
                    if kind.hasIndividual { individual[(index % rows) * points + index / rows] = value }
                }
            }
            target = column

            var result: [String: JSONValue] = [
                "feature": curve.features.count == 1
                    ? .string(problem.featureName(curve.features[0])) : .array(curve.features.map { .string(problem.featureName($0)) }),
                "grid_values": .array(curve.grids.map { .array($0.map(JSONValue.number)) }),
            ]
            let shape = curve.grids.map(\.count)
            if kind.hasAverage {
                result["average"] = Self.nested(centred(sums.map { $0 / Double(rows) }, curve: curve), shape: shape)
            }
            if kind.hasIndividual {
                result["individual"] = .array(
                    (0..<rows).map { row in
                        Self.nested(
                            centred(individual[(row * points)..<((row + 1) * points)].map { Double($0) }, curve: curve), shape: shape)
                    })
            }
            return .object(result)
        }

        /// `values` over the grid points less, when centring, their value at the first
        /// feature's first grid value (scikit-learn's `preds - preds[..., 0, None]`).
        private func centred(_ values: [Double], curve: Curve) -> [Double] {
            guard isCentered, let firstGrid = curve.grids.first, !firstGrid.isEmpty else { return values }
            let stride = values.count / firstGrid.count
            return values.indices.map { values[$0] - values[$0 % stride] }
        }

        /// Row-major `values` as nested arrays of `shape`.
        static func nested(_ values: [Double], shape: [Int]) -> JSONValue {
            guard shape.count > 1, let inner = shape.last, inner > 0 else { return .array(values.map(JSONValue.number)) }
            return .array(
                stride(from: 0, to: values.count, by: inner).map { start in .array(values[start..<(start + inner)].map(JSONValue.number)) })
        }
    }
}
