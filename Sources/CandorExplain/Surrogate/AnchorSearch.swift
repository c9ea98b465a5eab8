import CandorModel
import CandorTensor
import Foundation

/// The search for an anchor (Ribeiro, Singh & Guestrin, "Anchors: High-Precision
/// Model-Agnostic Explanations", AAAI 2018), as Alibi's `AnchorTabular` runs it with its
/// defaults (beam of one): grow the anchor one predicate at a time; at each size pick the
/// candidate of highest precision with the KL-LUCB bandit (Kaufmann & Kalyanakrishnan, 2013),
/// then sample it until its KL confidence bounds settle on one side of the threshold; the
/// first candidate whose precision is at least the threshold, with a lower bound above the
/// threshold − 0.05, is the anchor.
///
/// Precision is the share of samples from D(·|A) that keep the prediction: every sample takes
/// the anchored features together from one reference row satisfying the anchor, and every
/// other feature from an independent random reference row. Unlike Alibi, a candidate does
/// not inherit its parent's samples (which are not draws from D(·|A) and made Alibi report
/// precision 1.0 where fresh draws give 0.55); its precision comes from its own draws only.
/// Coverage is the exact share of reference rows satisfying the anchor.
struct AnchorSearch {
    /// A one-sided condition on one feature's quartile bin: lower…upper (inclusive).
    struct Predicate: Hashable {
        let feature: Int
        let lowerBin: Int
        let upperBin: Int
    }

    struct Result {
        /// Predicate indices in the order they were added.
        let anchor: [Int]
        let precision: Double
        let coverage: Double
        let success: Bool
    }

    let threshold: Double
    let delta: Double
    let tau: Double
    let batchSize: Int
    /// Reference rows and their bins, row-major.
    let rows: [Float]
    let rowBins: [Int]
    let rowCount: Int
    let width: Int
    let predicates: [Predicate]
    /// The features' bins, for values no reference row supplies.
    let bins: [QuartileBins]
    /// Model evaluation: whether each of these instances (row-major) keeps the prediction.
    let keepsPrediction: ([Float]) throws(ExplanationError) -> [Bool]
    /// The most samples drawn for one instance.
    let sampleBudget: Int

    /// Alibi's fixed margin around the threshold for the precision check.
    static let stopMargin = 0.05

    private struct Arm {
        var samples = 0
        var positives = 0
        var mean: Double { samples > 0 ? Double(positives) / Double(samples) : 0 }
    }

    /// The allowed bin interval per constrained feature.
    private func intervals(_ anchor: [Int]) -> [Int: (Int, Int)] {
        var result: [Int: (Int, Int)] = [:]
        for index in anchor {
            let predicate = predicates[index]
            let (lower, upper) = result[predicate.feature] ?? (Int.min, Int.max)
            result[predicate.feature] = (max(lower, predicate.lowerBin), min(upper, predicate.upperBin))
        }
        return result
    }

    private func satisfies(_ row: Int, _ intervals: [Int: (Int, Int)]) -> Bool {
        intervals.allSatisfy { feature, bounds in
            let bin = rowBins[row * width + feature]
            return bin >= bounds.0 && bin <= bounds.1
        }
    }

    func coverage(_ anchor: [Int]) -> Double {
        let constraint = intervals(anchor)
        return Double((0..<rowCount).filter { satisfies($0, constraint) }.count) / Double(max(rowCount, 1))
    }

    /// `count` samples from D(·|A) and whether each keeps the prediction.
    func sample(_ anchor: [Int], count: Int, random: inout SeededRandom) throws(ExplanationError) -> [Bool] {
        let constraint = intervals(anchor)
        let satisfying = (0..<rowCount).filter { satisfies($0, constraint) }
        let features = constraint.keys.sorted()
        var values = [Float](repeating: 0, count: count * width)
        for sample in 0..<count {
            let base = random.integer(below: rowCount)
            for feature in 0..<width { values[sample * width + feature] = rows[base * width + feature] }
            if !satisfying.isEmpty {
                let source = satisfying[random.integer(below: satisfying.count)]
                for feature in features { values[sample * width + feature] = rows[source * width + feature] }
            } else {
                // No reference row satisfies the whole anchor: each anchored feature comes from
                // its own row satisfying that feature's condition.
                for feature in features {
                    let bounds = constraint[feature] ?? (0, 0)
                    let candidates = (0..<rowCount).filter {
                        let bin = rowBins[$0 * width + feature]
                        return bin >= bounds.0 && bin <= bounds.1
                    }
                    if candidates.isEmpty {
                        // No reference row lies in the allowed bins: a uniform value within them.
                        let lower = bins[feature].bounds(of: max(bounds.0, 0)).lower
                        let upper = bins[feature].bounds(of: min(bounds.1, bins[feature].edges.count)).upper
                        values[sample * width + feature] = Float(lower + (upper - lower) * random.uniform())
                    } else {
                        values[sample * width + feature] = rows[candidates[random.integer(below: candidates.count)] * width + feature]
                    }
                }
            }
        }
        return try keepsPrediction(values)
    }

    func run(random: inout SeededRandom, context: ExplanationContext) throws(ExplanationError) -> Result {
        var drawn = 0
        var arms: [[Int]: Arm] = [:]
        // Samples for an anchor, counted under its predicates in sorted order.
        func draw(_ anchor: [Int], _ count: Int) throws(ExplanationError) {
            try context.checkCancellation()
            let labels = try sample(anchor, count: count, random: &random)
            drawn += count
            arms[anchor.sorted(), default: Arm()].samples += count
            arms[anchor.sorted(), default: Arm()].positives += labels.filter { $0 }.count
        }
        let confidence = log(1 / delta)
        // The empty anchor: plain reference rows.
        try draw([], batchSize)
        while let arm = arms[[]], arm.mean > threshold,
            Self.lowerBound(arm.mean, confidence / Double(arm.samples)) < threshold - tau, drawn < sampleBudget
        {
            try draw([], batchSize)
        }
        if let arm = arms[[]], Self.lowerBound(arm.mean, confidence / Double(arm.samples)) > threshold {
            return Result(anchor: [], precision: arm.mean, coverage: 1, success: true)
        }
        var best: [Int] = []
        var chosenBySize: [[Int]] = []
        for _ in 0..<predicates.count {
            let candidates = predicates.indices.filter { !best.contains($0) }.map { best + [$0] }
            guard !candidates.isEmpty, drawn < sampleBudget else { break }
            let key: ([Int]) -> [Int] = { $0.sorted() }
            // KL-LUCB: every candidate gets a first sample, then the two critical arms are
            // sampled until the best is separated from the rest by at most tau.
            for candidate in candidates where arms[key(candidate)] == nil && drawn < sampleBudget {
                try draw(candidate, 1)
            }
            var round = 1.0
            while candidates.count > 1, drawn < sampleBudget {
                let means = candidates.map { arms[key($0)]?.mean ?? 0 }
                let leader = means.indices.max { means[$0] < means[$1] } ?? 0
                let beta = Self.beta(arms: candidates.count, round: round, delta: delta)
                let leaderArm = arms[key(candidates[leader])] ?? Arm()
                let lower = Self.lowerBound(leaderArm.mean, beta / Double(max(leaderArm.samples, 1)))
                var challenger = -1
                var challengerUpper = -Double.infinity
                for index in candidates.indices where index != leader {
                    let arm = arms[key(candidates[index])] ?? Arm()
                    let upper = Self.upperBound(arm.mean, beta / Double(max(arm.samples, 1)))
                    if upper > challengerUpper {
                        challengerUpper = upper
                        challenger = index
                    }
                }
                guard challenger >= 0, challengerUpper - lower > tau else { break }
                try draw(candidates[challenger], batchSize)
                try draw(candidates[leader], batchSize)
                round += 1
            }
            let means = candidates.map { arms[key($0)]?.mean ?? 0 }
            let chosen = candidates[means.indices.max { means[$0] < means[$1] } ?? 0]
            chosenBySize.append(chosen)
            // Sample the chosen anchor until its bounds settle on one side of the threshold.
            while drawn < sampleBudget {
                let arm = arms[key(chosen)] ?? Arm()
                let level = confidence / Double(max(arm.samples, 1))
                let lower = Self.lowerBound(arm.mean, level)
                let upper = Self.upperBound(arm.mean, level)
                let unsettled =
                    (arm.mean >= threshold && lower < threshold - Self.stopMargin)
                    || (arm.mean < threshold && upper >= threshold + Self.stopMargin)
                guard unsettled else { break }
                try draw(chosen, batchSize)
            }
            let arm = arms[key(chosen)] ?? Arm()
            if arm.mean >= threshold, Self.lowerBound(arm.mean, confidence / Double(max(arm.samples, 1))) > threshold - Self.stopMargin {
                return Result(anchor: chosen, precision: arm.mean, coverage: coverage(chosen), success: true)
            }
            best = chosen
        }
        // No anchor reached the threshold: the most precise of the chosen ones.
        let fallback = chosenBySize.max { (arms[$0.sorted()]?.mean ?? 0) < (arms[$1.sorted()]?.mean ?? 0) } ?? []
        return Result(anchor: fallback, precision: arms[fallback.sorted()]?.mean ?? 0, coverage: coverage(fallback), success: false)

    }

    /// KL(p ‖ q) of two Bernoulli laws, both clipped away from 0 and 1 as Alibi clips them.
    static func klBernoulli(_ p: Double, _ q: Double) -> Double {
        let m = min(max(p, 1e-7), 1 - 1e-16)
        let n = min(max(q, 1e-7), 1 - 1e-16)
        return m * log(m / n) + (1 - m) * log((1 - m) / (1 - n))
    }

    /// The largest q ≥ p with KL(p ‖ q) ≤ level, by 16 bisection steps (Alibi's `dup_bernoulli`).
    static func upperBound(_ p: Double, _ level: Double) -> Double {
        var lower = p
        var upper = min(p + (level / 2).squareRoot(), 1)
        for _ in 0..<16 {
            let middle = (upper + lower) / 2
            if klBernoulli(p, middle) > level { upper = middle } else { lower = middle }
        }
        return upper
    }

    /// The smallest q ≤ p with KL(p ‖ q) ≤ level (Alibi's `dlow_bernoulli`).
    static func lowerBound(_ p: Double, _ level: Double) -> Double {
        var upper = p
        var lower = min(max(p - (level / 2).squareRoot(), 0), 1)
        for _ in 0..<16 {
            let middle = (upper + lower) / 2
            if klBernoulli(p, middle) > level { lower = middle } else { upper = middle }
        }
        return lower
    }

    /// The exploration rate of KL-LUCB for `arms` arms at round `round`:
    /// log(405.5 · K · t^1.1 / δ), plus its own logarithm.
    static func beta(arms: Int, round: Double, delta: Double) -> Double {
        let temp = log(405.5 * Double(arms) * pow(round, 1.1) / delta)
        return temp + log(temp)
    }
}
