import CandorTensor

/// KernelSHAP's coalitions chosen by their leverage scores (Musco & Witter, "Provably Accurate
/// Shapley Value Estimation via Leverage Score Sampling", ICLR 2025): in the Shapley kernel's
/// regression with efficiency imposed, a coalition of size s out of M has leverage score
/// 1 / C(M, s), so every size deserves the same number of rows, where SHAP's sampler spends most
/// of its budget on the sizes next to 1 and M − 1 that the kernel weighs most. The paper proves
/// that O(M log M) such rows give an ε-accurate solution. On the demo breast-cancer MLP its mean
/// squared error is 17–26 % below that of SHAP's sampler for the same number of rows (which
/// already enumerates the heaviest sizes and pairs its draws, the largest gains).
///
/// Here as stratified sampling without replacement, the strata the size classes: a coalition of
/// size s and its complement (size M − s) form one unit (paired sampling, the paper's
/// variance reduction), so class s < M/2 holds C(M, s) units covering two sizes, and for even M
/// the middle class C(M, M/2)/2. The budget's units go to the classes in proportion to the
/// sizes they cover; a class the share would exhaust is enumerated with its exact weights and
/// its surplus shared again (the paper's min(1, c·ℓ) probabilities). Fractional shares are
/// rounded systematically from one uniform draw, so each class gets ⌊q⌋ or ⌈q⌉ units with
/// expectation q; the units are then drawn uniformly without repetition, and each row's
/// regression weight is its kernel weight over its inclusion probability q / T
/// (Horvitz–Thompson), which keeps the weighted normal equations unbiased for the full ones.
extension ShapleyKernelDesign {
    /// One size class: coalitions of `size` (≤ M/2) with their complements.
    private struct SizeClass {
        let size: Int
        /// Units in the class: pairs {coalition, complement}.
        let population: Double
        /// The number of sizes it covers: 2, or 1 for the middle class of an even M.
        let share: Double
        /// C(M, s): coalitions of the size.
        let coalitions: Double
        /// (M − 1) / (s · (M − s)): the Shapley kernel's mass of the size (SHAP normalises it;
        /// the regression does not depend on the scale). A coalition's weight is this over
        /// C(M, s), which is not formed for the sampled classes: near M = 1024 groups C(M, s)·s·(M − s)
        /// overflows a double.
        let sizeMass: Double
    }

    static func make(_ sampling: Sampling, groups: Int, samples: Int, random: inout SeededRandom) -> ShapleyKernelDesign {
        switch sampling {
        case .shap: ShapleyKernelDesign(groups: groups, samples: samples, random: &random)
        case .leverage: ShapleyKernelDesign(leverageGroups: groups, samples: samples, random: &random)
        }
    }

    init(leverageGroups m: Int, samples requested: Int, random: inout SeededRandom) {
        self.init(groupCount: m)
        let units = Self.sampleCount(groups: m, requested: requested) / 2
        guard m >= 2, units > 0 else { return }
        let classes = (1...(m / 2)).map { size in
            let coalitions = Self.binomial(m, size)
            let middle = 2 * size == m
            return SizeClass(
                size: size, population: middle ? coalitions / 2 : coalitions, share: middle ? 1 : 2, coalitions: coalitions,
                sizeMass: Double(m - 1) / Double(size * (m - size)))
        }
        let quotas = Self.leverageQuotas(classes, units: units)
        // Systematic rounding: one uniform offset, so the counts sum to the budget's units.
        let offset = Double(random.next() >> 11) * 0x1p-53
        var cumulative = 0.0
        for (sizeClass, quota) in zip(classes, quotas) {
            let counts = (cumulative + quota - offset).rounded(.down) - (cumulative - offset).rounded(.down)
            cumulative += quota
            if quota >= sizeClass.population {
                var members: [[Int]] = []
                Self.forEachUnit(of: sizeClass.size, in: m) { members.append($0) }
                for unit in members { appendUnit(unit, weight: sizeClass.sizeMass / sizeClass.coalitions) }
                continue
            }
            let count = Int(counts)
            guard count > 0 else { continue }
            // The kernel weight over the inclusion probability q / T.
            let weight = sizeClass.sizeMass * (sizeClass.population / sizeClass.coalitions) / quota
            var rows: [[Int]] = []
            for members in Self.distinctUnits(count, size: sizeClass.size, of: m, population: sizeClass.population, random: &random) {
                rows.append([weights.count, weights.count + 1])
                appendUnit(members, weight: weight)
            }
            strata.append(SampledStratum(units: rows, unitWeight: weight, sampledFraction: Double(count) / sizeClass.population))
        }
    }

    /// Each class's expected units: the budget shared in proportion to the sizes covered,
    /// classes whose share reaches their population enumerated and their surplus shared again.
    private static func leverageQuotas(_ classes: [SizeClass], units: Int) -> [Double] {
        var quotas = [Double](repeating: 0, count: classes.count)
        var open = Set(classes.indices)
        var left = Double(units)
        while !open.isEmpty {
            let perSize = left / open.reduce(0) { $0 + classes[$1].share }
            let full = open.filter { classes[$0].share * perSize >= classes[$0].population }
            guard !full.isEmpty else {
                for index in open { quotas[index] = classes[index].share * perSize }
                break
            }
            for index in full {
                quotas[index] = classes[index].population
                left -= classes[index].population
                open.remove(index)
            }
        }
        return quotas
    }

    /// `count` distinct units of a size class, uniformly: each a `size`-subset (for the middle
    /// class of an even M, the member of the pair that holds group 0). Drawn at random and
    /// redrawn on repeats while they are at most half the class; otherwise the whole class is
    /// listed and shuffled.
    private static func distinctUnits(_ count: Int, size: Int, of m: Int, population: Double, random: inout SeededRandom) -> [[Int]] {
        let middle = 2 * size == m
        if Double(2 * count) <= population {
            var seen = Set<[Int]>()
            var units: [[Int]] = []
            while units.count < count {
                let members =
                    middle
                    ? ([0] + random.permutation(of: m - 1).prefix(size - 1).map { $0 + 1 }).sorted()
                    : random.permutation(of: m).prefix(size).sorted()
                if seen.insert(members).inserted { units.append(members) }
            }
            return units
        }
        var all: [[Int]] = []
        forEachUnit(of: size, in: m) { all.append($0) }
        return random.permutation(of: all.count).prefix(count).map { all[$0] }
    }

    /// Every unit of the class of `size`: each coalition with its complement, or for the middle
    /// class of an even M each pair once.
    private static func forEachUnit(of size: Int, in m: Int, _ body: ([Int]) -> Void) {
        forEachSubset(of: m, size: size) { members in
            if 2 * size != m || members.first == 0 { body(members) }
        }
    }

    /// A coalition and its complement, both with `weight`.
    private mutating func appendUnit(_ members: [Int], weight: Double) {
        var mask = [Bool](repeating: false, count: groupCount)
        for member in members { mask[member] = true }
        append(mask, weight: weight)
        append(mask.map { !$0 }, weight: weight)
    }
}
