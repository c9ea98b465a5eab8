/// Sample correlations for the metrics that compare two sets of numbers.
enum Correlation {
    /// The Pearson correlation of two equally long samples; 0 when either has no spread
    /// (where it is undefined, and NumPy and SciPy return NaN).
    static func pearson(_ a: [Double], _ b: [Double]) -> Double {
        let n = Double(a.count)
        let (meanA, meanB) = (a.reduce(0, +) / n, b.reduce(0, +) / n)
        var (covariance, varianceA, varianceB) = (0.0, 0.0, 0.0)
        for (x, y) in zip(a, b) {
            covariance += (x - meanA) * (y - meanB)
            varianceA += (x - meanA) * (x - meanA)
            varianceB += (y - meanB) * (y - meanB)
        }
        guard varianceA > 0, varianceB > 0 else { return 0 }
        return min(1, max(-1, covariance / (varianceA * varianceB).squareRoot()))
    }

    /// Spearman's rank correlation, as SciPy's `spearmanr` computes it: the Pearson
    /// correlation of the two samples' ranks, tied values sharing their average rank; 0 when
    /// either sample is constant.
    static func spearman(_ a: [Float], _ b: [Float]) -> Double {
        pearson(averageRanks(a), averageRanks(b))
    }

    /// Each value's rank from 1 in ascending order, a run of equal values sharing the mean of
    /// the ranks it spans.
    static func averageRanks(_ values: [Float]) -> [Double] {
        let order = values.indices.sorted { values[$0] < values[$1] }
        var ranks = [Double](repeating: 0, count: values.count)
        var start = 0
        while start < order.count {
            var end = start + 1
            while end < order.count, values[order[end]] == values[order[start]] { end += 1 }
            let shared = Double(start + end + 1) / 2  // the mean of ranks start + 1 … end
            for position in start..<end { ranks[order[position]] = shared }
            start = end
        }
        return ranks
    }
}
