import CandorTensor

/// Per-feature statistics of a model's training data as a sidecar stores them
/// (`training_statistics`): the columns LIME's scaler and quartile discretizer need, written
/// by the training scripts so that no training data has to ship with the model.
public struct StoredFeatureStatistics: Sendable, Equatable, Codable {
    public var mean: [Double]?
    public var std: [Double]?
    public var min: [Double]?
    public var max: [Double]?
    public var quartiles: [[Double]]?
    /// LIME's quartile bins per feature: training rows, mean and population deviation of
    /// each bin between the distinct quartiles.
    public var binCounts: [[Int]]?
    public var binMeans: [[Double]]?
    public var binStds: [[Double]]?

    enum CodingKeys: String, CodingKey {
        case mean, std, min, max, quartiles
        case binCounts = "bin_counts"
        case binMeans = "bin_means"
        case binStds = "bin_stds"
    }
}

extension DatasetSummary {
    /// Why stored statistics or reference rows cannot describe a model's data.
    public struct Invalid: Error, CustomStringConvertible {
        public let description: String
    }
}

extension TrainingStatistics {
    /// The statistics a sidecar stores, checked against a flat input of `featureCount`
    /// features (nil: the model has no flat feature axis): every column has one finite entry
    /// per feature, deviations are non-negative, and quartile bins come complete (quartiles,
    /// bin counts, means, deviations, min and max) or not at all.
    public init(_ stored: StoredFeatureStatistics, featureCount: Int?) throws(DatasetSummary.Invalid) {
        let columns = [("mean", stored.mean), ("std", stored.std), ("min", stored.min), ("max", stored.max)]
        for (key, column) in columns {
            if let column, column.count != featureCount {
                throw DatasetSummary.Invalid(
                    description:
                        "training_statistics.\(key) has \(column.count) entries, but the model's input has \(featureCount.map(String.init) ?? "no flat feature axis")"
                )
            }
        }
        for (key, column) in columns where !(column?.allSatisfy(\.isFinite) ?? true) {
            throw DatasetSummary.Invalid(description: "training_statistics.\(key) holds a value that is not a finite number")
        }
        if let std = stored.std, std.contains(where: { $0 < 0 }) {
            throw DatasetSummary.Invalid(description: "training_statistics.std holds a negative deviation")
        }
        if let minimum = stored.min, let maximum = stored.max, zip(minimum, maximum).contains(where: { $0 > $1 }) {
            throw DatasetSummary.Invalid(description: "training_statistics.min exceeds training_statistics.max for a feature")
        }
        self.init(mean: stored.mean, std: stored.std, bins: try Self.bins(stored), minimum: stored.min, maximum: stored.max)
    }

    /// Each feature's quartile bins, when the sidecar stores them.
    private static func bins(_ stored: StoredFeatureStatistics) throws(DatasetSummary.Invalid) -> [QuartileBins]? {
        let parts: [(String, Bool)] = [
            ("quartiles", stored.quartiles != nil), ("bin_counts", stored.binCounts != nil), ("bin_means", stored.binMeans != nil),
            ("bin_stds", stored.binStds != nil), ("min", stored.min != nil), ("max", stored.max != nil),
        ]
        if stored.binCounts != nil || stored.binMeans != nil || stored.binStds != nil, let missing = parts.first(where: { !$0.1 }) {
            throw DatasetSummary.Invalid(
                description:
                    "training_statistics has quartile bins but no '\(missing.0)'; the bins need quartiles, bin_counts, bin_means, bin_stds, min and max"
            )
        }
        guard let quartiles = stored.quartiles, let counts = stored.binCounts, let means = stored.binMeans, let stds = stored.binStds,
            let minimum = stored.min, let maximum = stored.max
        else { return nil }
        guard [quartiles.count, counts.count, means.count, stds.count].allSatisfy({ $0 == minimum.count }) else {
            throw DatasetSummary.Invalid(
                description: "training_statistics quartiles, bin_counts, bin_means and bin_stds need one entry per feature")
        }
        do {
            return try minimum.indices.map { feature throws(QuartileBins.Invalid) in
                try QuartileBins(
                    quartiles: quartiles[feature], counts: counts[feature], means: means[feature], stds: stds[feature],
                    minimum: minimum[feature], maximum: maximum[feature])
            }
        } catch {
            throw DatasetSummary.Invalid(description: "training_statistics: \(error)")
        }
    }
}

extension DatasetSummary {
    /// The summary with `rows` (one tensor per model input) as its background, read from
    /// `source`. A table whose statistics have no stored bins gets them from these rows here,
    /// once, rather than on every request.
    public func withBackground(_ rows: [Tensor], source: String) -> DatasetSummary {
        var summary = self
        summary.background = rows
        summary.backgroundSource = source
        if summary.statistics?.bins == nil, rows.count == 1, let table = rows.first, table.rank == 2,
            let bins = QuartileBins.forTable(width: table.shape[1], requestRows: table, dataset: .none)
        {
            var statistics = summary.statistics ?? TrainingStatistics()
            statistics.bins = bins
            summary.statistics = statistics
        }
        return summary
    }
}
