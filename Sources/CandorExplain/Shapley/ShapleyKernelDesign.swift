import CandorTensor

/// The coalitions KernelSHAP evaluates and their regression weights, chosen as SHAP's
/// `KernelExplainer` chooses them (Lundberg & Lee, 2017, Theorem 2; SHAP's `explain`): the
/// Shapley kernel gives a coalition of size s out of M the weight (M − 1) / (C(M, s) · s · (M − s)),
/// so the mass of each size is proportional to (M − 1) / (s (M − s)). Sizes s and M − s are
/// paired. Starting from the smallest, every size whose coalitions the sample budget covers
/// (budget × its share of the remaining mass ≥ its coalition count) is enumerated completely
/// with its exact weight; the rest of the budget draws sizes from the remaining mass and
/// random coalitions of that size, each with its complement, a repeated draw adding weight to
/// the coalition it repeats; the drawn weights are then scaled to the mass left. With
/// 2^M − 2 samples or more every coalition is enumerated and the result is exact. The
/// leverage-score alternative is in `ShapleyKernelDesign+Leverage.swift`.
struct ShapleyKernelDesign {
    /// How the coalitions beyond the enumerated sizes are chosen.
    enum Sampling: String, CaseIterable, Sendable {
        /// SHAP's `KernelExplainer`: sizes drawn by their kernel mass, with replacement.
        case shap
        /// Leverage scores (Musco & Witter 2025): every size the same share, without replacement.
        case leverage
    }

    /// The random units of one stratum of the sampled part: each unit lists the rows it added
    /// one count of weight to (a coalition and, when paired, its complement).
    struct SampledStratum {
        let units: [[Int]]
        /// The regression weight one count of a unit's row carries.
        let unitWeight: Double
        /// The share of the stratum's population drawn without replacement (0 for draws with
        /// replacement): the finite-population correction of the variance.
        let sampledFraction: Double
    }

    /// Coalitions, row-major: `present[c · M + j]` says whether group j keeps the instance's value.
    var present: [Bool] = []
    var weights: [Double] = []
    /// The sampled part of the design, from which the estimate's standard error is measured
    /// (empty when every coalition is enumerated).
    var strata: [SampledStratum] = []
    let groupCount: Int

    var count: Int { weights.count }

    /// The number of coalitions SHAP evaluates for M groups and a requested budget: the budget,
    /// capped at the 2^M − 2 proper non-empty coalitions.
    static func sampleCount(groups: Int, requested: Int) -> Int {
        groups <= 30 ? min(requested, (1 << groups) - 2) : requested
    }

    init(groups: Int, samples requested: Int, random: inout SeededRandom) {
        groupCount = groups
        let m = groups
        let samples = Self.sampleCount(groups: m, requested: requested)
        guard m >= 2, samples > 0 else { return }
        let sizeCount = (m - 1 + 1) / 2  // ⌈(M − 1)/2⌉
        let pairedSizeCount = (m - 1) / 2  // ⌊(M − 1)/2⌋
        var sizeWeights = (1...sizeCount).map { size in Double(m - 1) / Double(size * (m - size)) }
        for index in 0..<pairedSizeCount { sizeWeights[index] *= 2 }
        let total = sizeWeights.reduce(0, +)
        sizeWeights = sizeWeights.map { $0 / total }

        // Enumerate every size the budget covers, smallest first.
        var fullSizes = 0
        var samplesLeft = Double(samples)
        var remaining = sizeWeights
        for size in 1...sizeCount {
            var subsets = Self.binomial(m, size)
            if size <= pairedSizeCount { subsets *= 2 }
            guard samplesLeft * remaining[size - 1] / subsets >= 1 - 1e-8 else { break }
            fullSizes += 1
            samplesLeft -= subsets
            if remaining[size - 1] < 1 {
                let scale = 1 - remaining[size - 1]
                remaining = remaining.map { $0 / scale }
            }
            var weight = sizeWeights[size - 1] / Self.binomial(m, size)
            if size <= pairedSizeCount { weight /= 2 }
            Self.forEachSubset(of: m, size: size) { members in
                var mask = [Bool](repeating: false, count: m)
                for member in members { mask[member] = true }
                append(mask, weight: weight)
                if size <= pairedSizeCount { append(mask.map { !$0 }, weight: weight) }
            }
        }

        // Draw the rest of the budget from the sizes not enumerated.
        let fixed = count
        var left = samples - fixed
        guard fullSizes != sizeCount, left > 0 else { return }
        var drawWeights = sizeWeights
        for index in 0..<pairedSizeCount { drawWeights[index] /= 2 }  // two samples per draw
        drawWeights = Array(drawWeights[fullSizes...])
        let drawTotal = drawWeights.reduce(0, +)
        let cumulative = drawWeights.reduce(into: [Double]()) { $0.append(($0.last ?? 0) + $1 / drawTotal) }
        var seen: [[Bool]: Int] = [:]
        var draws: [[Int]] = []
        var attempts = 0
        while left > 0, attempts < 4 * (samples - fixed) {
            attempts += 1
            let uniform = Double(random.next() >> 11) * 0x1p-53
            let index = cumulative.firstIndex { uniform < $0 } ?? cumulative.count - 1
            let size = index + fullSizes + 1
            var mask = [Bool](repeating: false, count: m)
            for member in random.permutation(of: m).prefix(size) { mask[member] = true }
            let isNew: Bool
            let row: Int
            if let position = seen[mask] {
                weights[position] += 1
                isNew = false
                row = position
            } else {
                row = count
                seen[mask] = count
                left -= 1
                append(mask, weight: 1)
                isNew = true
            }
            var rows = [row]
            // The complement follows its coalition (it is the next row when both were added).
            if left > 0, size <= pairedSizeCount {
                if isNew {
                    left -= 1
                    append(mask.map { !$0 }, weight: 1)
                    rows.append(row + 1)
                } else if row + 1 < count {
                    weights[row + 1] += 1
                    rows.append(row + 1)
                }
            }
            draws.append(rows)
        }
        let massLeft = sizeWeights[fullSizes...].reduce(0, +)
        let drawn = weights[fixed...].reduce(0, +)
        if drawn > 0 {
            let drawWeight = massLeft / drawn
            for index in fixed..<weights.count { weights[index] *= drawWeight }
            // Draws with replacement from one distribution: one stratum, no finite-population correction.
            strata = [SampledStratum(units: draws, unitWeight: drawWeight, sampledFraction: 0)]
        }
    }

    init(groupCount: Int) {
        self.groupCount = groupCount
    }

    mutating func append(_ mask: [Bool], weight: Double) {
        present.append(contentsOf: mask)
        weights.append(weight)
    }

    /// C(n, k), exact while it fits a double's 53 bits; up to C(1024, 512) ≈ 4.5·10³⁰⁶ without
    /// overflowing (dividing before multiplying once the product would).
    static func binomial(_ n: Int, _ k: Int) -> Double {
        guard k >= 0, k <= n else { return 0 }
        var result = 1.0
        for step in 0..<min(k, n - k) {
            let factor = Double(n - step)
            result = result <= .greatestFiniteMagnitude / factor ? result * factor / Double(step + 1) : result / Double(step + 1) * factor
        }
        return result.rounded()
    }

    /// Calls `body` with every k-subset of 0..<n in lexicographic order (as itertools.combinations).
    static func forEachSubset(of n: Int, size k: Int, _ body: ([Int]) -> Void) {
        guard k > 0, k <= n else { return }
        var indices = Array(0..<k)
        while true {
            body(indices)
            var position = k - 1
            while position >= 0, indices[position] == position + n - k { position -= 1 }
            guard position >= 0 else { return }
            indices[position] += 1
            for next in (position + 1)..<k { indices[next] = indices[next - 1] + 1 }
        }
    }
}
