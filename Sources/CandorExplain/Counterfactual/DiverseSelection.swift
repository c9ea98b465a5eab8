import CandorTensor

/// Picks `total_cfs` counterfactuals from a pool of valid ones by DiCE's objective (Mothilal,
/// Sharma & Tan, "Explaining Machine Learning Classifiers through Diverse Counterfactual
/// Explanations", FAT* 2020, eq. 4) without its prediction term, which is 0 for valid
/// counterfactuals: minimise
///
///     proximity_weight · mean distance(x, cᵢ) − diversity_weight · det(K),
///     K_ij = 1 / (1 + distance(cᵢ, cⱼ))
///
/// with distances per feature (the MAD-scaled L1 distance over the number of features, as
/// DiCE averages), det(K) its determinantal-point-process diversity. Sets are grown
/// greedily from the nearest counterfactual, each step adding the one that lowers the
/// objective most. Refining (making sparse) pulls counterfactuals toward the instance and
/// so toward one another, so the choice is made after it: a shortlist of
/// `shortlistFactor` × `total_cfs` is chosen from the pool's nearest candidates, each is
/// refined, and the final set is chosen from the distinct refined ones.
struct DiverseSelection {
    let space: FeatureSpace
    let instance: [Double]
    let proximityWeight: Double
    let diversityWeight: Double

    /// How many of the pool's nearest candidates the greedy steps consider.
    static let candidatesConsidered = 1000

    /// How many candidates per counterfactual asked for are refined before the final choice.
    static let shortlistFactor = 5

    func select(
        _ total: Int, from pool: [[Double]], refining refine: ([Double]) throws(ExplanationError) -> [Double]
    ) throws(ExplanationError) -> [[Double]] {
        var refined: [[Double]] = []
        for candidate in greedy(total * Self.shortlistFactor, from: pool) {
            let sparse = try refine(candidate)
            if !refined.contains(sparse) { refined.append(sparse) }
        }
        return greedy(total, from: refined)
    }

    /// Up to `total` distinct members of `pool` chosen greedily by the objective.
    private func greedy(_ total: Int, from pool: [[Double]]) -> [[Double]] {
        let features = Double(max(1, space.count))
        var remaining = Array(
            pool.map { ($0, space.distance(instance, $0) / features) }.sorted { $0.1 < $1.1 }.prefix(Self.candidatesConsidered))
        var chosen: [([Double], Double)] = []
        var kernel: [Double] = []  // K of the chosen set, row-major
        while chosen.count < total, !remaining.isEmpty {
            let proximity = chosen.reduce(0) { $0 + $1.1 }
            var best = 0
            var bestObjective = Double.infinity
            for (index, candidate) in remaining.enumerated() {
                let grown =
                    diversityWeight > 0 && !chosen.isEmpty
                    ? Self.grown(kernel, size: chosen.count, by: chosen.map { similarity($0.0, candidate.0, features: features) }) : []
                let objective = objective(mean: (proximity + candidate.1) / Double(chosen.count + 1), kernel: grown, size: chosen.count + 1)
                if objective < bestObjective {
                    bestObjective = objective
                    best = index
                }
            }
            let member = remaining.remove(at: best)
            guard !chosen.contains(where: { $0.0 == member.0 }) else { continue }
            kernel = Self.grown(kernel, size: chosen.count, by: chosen.map { similarity($0.0, member.0, features: features) })
            chosen.append(member)
        }
        return chosen.map(\.0)
    }

    /// DiCE's objective for a set of counterfactuals (lower is better).
    func objective(of set: [[Double]]) -> Double {
        let features = Double(max(1, space.count))
        let mean = set.reduce(0) { $0 + space.distance(instance, $1) / features } / Double(max(1, set.count))
        var kernel: [Double] = []
        for (index, member) in set.enumerated() {
            kernel = Self.grown(kernel, size: index, by: set[..<index].map { similarity($0, member, features: features) })
        }
        return objective(mean: mean, kernel: kernel, size: set.count)
    }

    /// The objective of a set of `size` with mean per-feature distance `mean` and kernel K.
    private func objective(mean: Double, kernel: [Double], size: Int) -> Double {
        guard size > 1, diversityWeight > 0 else { return proximityWeight * mean }
        return proximityWeight * mean - diversityWeight * Self.determinant(kernel, size: size)
    }

    /// K_ij = 1 / (1 + distance_ij / features).
    private func similarity(_ first: [Double], _ second: [Double], features: Double) -> Double {
        1 / (1 + space.distance(first, second) / features)
    }

    /// A `size`×`size` kernel bordered by one more member with similarities `row` (and 1 to
    /// itself).
    static func grown(_ kernel: [Double], size: Int, by row: [Double]) -> [Double] {
        var result = [Double](repeating: 1, count: (size + 1) * (size + 1))
        for first in 0..<size {
            for second in 0..<size { result[first * (size + 1) + second] = kernel[first * size + second] }
            result[first * (size + 1) + size] = row[first]
            result[size * (size + 1) + first] = row[first]
        }
        return result
    }

    /// The determinant of a small symmetric matrix by Gaussian elimination with partial
    /// pivoting.
    static func determinant(_ matrix: [Double], size: Int) -> Double {
        var values = matrix
        var result = 1.0
        for column in 0..<size {
            let pivot = (column..<size).max { abs(values[$0 * size + column]) < abs(values[$1 * size + column]) } ?? column
            if values[pivot * size + column] == 0 { return 0 }
            if pivot != column {
                for index in 0..<size { values.swapAt(pivot * size + index, column * size + index) }
                result = -result
            }
            let diagonal = values[column * size + column]
            result *= diagonal
            for row in (column + 1)..<size {
                let factor = values[row * size + column] / diagonal
                for index in column..<size { values[row * size + index] -= factor * values[column * size + index] }
            }
        }
        return result
    }
}
