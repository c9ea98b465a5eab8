/// The few numerical routines of NumPy and SciPy that the grids of `partial_dependence` and
/// `ale` are built from, written operation for operation as those libraries evaluate them, so
/// that Candor's grids are the references' grids to the last bit and not merely close: a grid
/// value one ulp off can move a row into the neighbouring ALE bin.
enum EmpiricalQuantiles {
    /// The sorted distinct values (`numpy.unique`).
    static func sortedUnique(_ values: [Double]) -> [Double] {
        var result: [Double] = []
        for value in values.sorted() where result.last != value { result.append(value) }
        return result
    }

    /// `count` evenly spaced numbers from `start` to `stop`, both included, as `numpy.linspace`
    /// computes them: `start + i·step` with `step = (stop − start)/(count − 1)`, the last set to
    /// `stop` exactly.
    static func linspace(_ start: Double, _ stop: Double, count: Int) -> [Double] {
        guard count > 0 else { return [] }
        let divisions = Double(count - 1)
        let delta = stop - start
        var values: [Double]
        if count > 1 {
            let step = delta / divisions
            values = step == 0 ? (0..<count).map { Double($0) / divisions * delta } : (0..<count).map { Double($0) * step }
        } else {
            values = [0 * delta]
        }
        for index in values.indices { values[index] += start }
        if count > 1 { values[count - 1] = stop }
        return values
    }

    /// The `percentiles` (0…100) of sorted `values` by linear interpolation between closest
    /// ranks (`numpy.percentile`, method "linear"; Hyndman & Fan's type 7), with NumPy's
    /// interpolation `a + (b − a)·t`, taken from `b` when t ≥ ½.
    static func percentiles(sorted values: [Double], _ percentiles: [Double]) -> [Double] {
        guard let last = values.last else { return [] }
        let count = values.count
        return percentiles.map { percentile in
            let virtualIndex = Double(count - 1) * (percentile / 100)
            guard virtualIndex < Double(count - 1) else { return last }
            guard virtualIndex >= 0 else { return values[0] }
            let previous = virtualIndex.rounded(.down)
            let gamma = virtualIndex - previous
            let below = values[Int(previous)]
            let above = values[Int(previous) + 1]
            let difference = above - below
            return gamma >= 0.5 ? above - difference * (1 - gamma) : below + difference * gamma
        }
    }

    /// The empirical quantiles at `probabilities` of sorted `values` as
    /// `scipy.stats.mstats.mquantiles` computes them with its defaults α = β = 0.4 (Hyndman &
    /// Fan's type between 5 and 8, the one scikit-learn's partial dependence grid uses):
    /// with m = α + p(1 − α − β), aleph = n·p + m, k = ⌊clip(aleph, 1, n − 1)⌋ and
    /// γ = clip(aleph − k, 0, 1), the quantile is (1 − γ)·x₍ₖ₎ + γ·x₍ₖ₊₁₎ (1-based order statistics).
    static func mquantiles(sorted values: [Double], _ probabilities: [Double]) -> [Double] {
        let alpha = 0.4
        let beta = 0.4
        let count = values.count
        guard count > 1 else { return probabilities.map { _ in values.first ?? .nan } }
        return probabilities.map { probability in
            let m = alpha + probability * (1.0 - alpha - beta)
            let aleph = Double(count) * probability + m
            let k = Int(Swift.min(Swift.max(aleph, 1), Double(count - 1)).rounded(.down))
            let gamma = Swift.min(Swift.max(aleph - Double(k), 0), 1)
            return (1.0 - gamma) * values[k - 1] + gamma * values[k]
        }
    }

    /// The first index of sorted `values` whose value is at least `value` (`numpy.searchsorted`,
    /// side "left").
    static func insertionIndex(of value: Double, in values: [Double]) -> Int {
        var low = 0
        var high = values.count
        while low < high {
            let middle = (low + high) / 2
            if values[middle] < value { low = middle + 1 } else { high = middle }
        }
        return low
    }
}
