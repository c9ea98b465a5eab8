import CandorTensor
import Foundation

/// One feature's bins under LIME's quartile discretizer (Ribeiro et al., "Why Should I Trust
/// You?", 2016; the `lime` package's `QuartileDiscretizer`): the edges are the training
/// values' 25th, 50th and 75th percentiles with repeats merged, a value falls in the first bin
/// whose upper edge it does not exceed, and each bin keeps the count, mean and population
/// standard deviation of the training values in it (LIME samples a bin by its count, then a
/// value from a normal with that mean and deviation truncated to the bin).
public struct QuartileBins: Sendable, Equatable {
    /// Ascending, distinct edges between bins (1 to 3 of them).
    public let edges: [Double]
    /// Training values per bin (edges.count + 1 bins).
    public let counts: [Int]
    public let means: [Double]
    public let stds: [Double]
    /// The smallest and largest training value: the outer bounds of the first and last bin.
    public let minimum: Double
    public let maximum: Double

    public struct Invalid: Error, CustomStringConvertible {
        public let description: String
    }

    /// Bins from stored statistics (a model's sidecar): `quartiles` as computed, possibly with
    /// repeats, and per-bin counts, means and deviations for the merged edges.
    public init(
        quartiles: [Double], counts: [Int], means: [Double], stds: [Double], minimum: Double, maximum: Double
    ) throws(Invalid) {
        let edges = Array(Set(quartiles)).sorted()
        let values = quartiles + means + stds + [minimum, maximum]
        guard (1...3).contains(edges.count), values.allSatisfy(\.isFinite) else {
            throw Invalid(description: "quartiles must be 1 to 3 finite numbers, got \(quartiles)")
        }
        guard counts.count == edges.count + 1, means.count == edges.count + 1, stds.count == edges.count + 1 else {
            throw Invalid(
                description:
                    "with \(edges.count) distinct quartiles there are \(edges.count + 1) bins, but counts/means/stds have \(counts.count)/\(means.count)/\(stds.count) entries"
            )
        }
        guard counts.allSatisfy({ (0...(1 << 40)).contains($0) }), counts.contains(where: { $0 > 0 }), stds.allSatisfy({ $0 >= 0 }),
            minimum <= edges[0], maximum >= edges[edges.count - 1]
        else {
            throw Invalid(
                description: "bin counts must lie in 0…2⁴⁰ with some positive, deviations must be non-negative, and min ≤ quartiles ≤ max")
        }
        self.edges = edges
        self.counts = counts
        self.means = means
        self.stds = stds
        self.minimum = minimum
        self.maximum = maximum
    }

    /// Bins of training values, computed as LIME computes them (percentiles by numpy's default
    /// linear interpolation). Nil for a column without values.
    public init?(values: [Double]) {
        // Missing values (NaN, in a tree ensemble's data) have no bin.
        let values = values.filter { !$0.isNaN }
        guard !values.isEmpty else { return nil }
        let sorted = values.sorted()
        func percentile(_ p: Double) -> Double {
            let position = p / 100 * Double(sorted.count - 1)
            let lower = Int(position.rounded(.down))
            let upper = min(lower + 1, sorted.count - 1)
            return sorted[lower] + (sorted[upper] - sorted[lower]) * (position - Double(lower))
        }
        edges = Array(Set([25.0, 50, 75].map(percentile))).sorted()
        minimum = sorted[0]
        maximum = sorted[sorted.count - 1]
        var members = [[Double]](repeating: [], count: edges.count + 1)
        for value in values { members[Self.bin(of: value, edges: edges)].append(value) }
        counts = members.map(\.count)
        means = members.map { $0.isEmpty ? 0 : $0.reduce(0, +) / Double($0.count) }
        stds = zip(members, means).map { values, mean in
            values.isEmpty ? 0 : (values.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(values.count)).squareRoot()
        }
    }

    /// The bin of a value: the number of edges strictly below it (numpy's `searchsorted`).
    public func bin(of value: Double) -> Int { Self.bin(of: value, edges: edges) }

    private static func bin(of value: Double, edges: [Double]) -> Int {
        edges.prefix { $0 < value }.count
    }

    /// The lower and upper bound of a bin's values.
    public func bounds(of bin: Int) -> (lower: Double, upper: Double) {
        (bin == 0 ? minimum : edges[bin - 1], bin == edges.count ? maximum : edges[bin])
    }

    /// LIME's name for a bin of feature `name`: `x <= a`, `a < x <= b` or `x > c`, edges to
    /// two decimals.
    public func rule(_ bin: Int, feature name: String) -> String {
        func format(_ value: Double) -> String { String(format: "%.2f", value) }
        if bin == 0 { return "\(name) <= \(format(edges[0]))" }
        if bin == edges.count { return "\(name) > \(format(edges[edges.count - 1]))" }
        return "\(format(edges[bin - 1])) < \(name) <= \(format(edges[bin]))"
    }
}

extension QuartileBins {
    /// Each feature's bins for a table of `width` features: computed from `requestRows` when
    /// the request sends reference rows, else the sidecar's statistics, else computed from the
    /// sidecar's background rows; nil when there is none of these.
    public static func forTable(width: Int, requestRows: Tensor?, dataset: DatasetSummary) -> [QuartileBins]? {
        if requestRows == nil, let bins = dataset.statistics?.bins, bins.count == width { return bins }
        guard let rows = requestRows ?? dataset.background?.first, rows.rank == 2, rows.shape[1] == width else { return nil }
        let count = rows.shape[0]
        let bins = (0..<width).compactMap { feature in QuartileBins(values: (0..<count).map { Double(rows.scalars[$0 * width + feature]) })
        }
        return bins.count == width ? bins : nil
    }
}
