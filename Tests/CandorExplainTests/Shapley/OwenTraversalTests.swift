import Testing

@testable import CandorExplain

/// The Partition explainer's traversal on games whose Owen (Winter) values are known: additive
/// games, where they are the Shapley values, and any game against the average marginal
/// contribution over the orderings that keep every group of the hierarchy together.
@Suite struct OwenTraversalTests {
    /// ((0 1) 2) (3 4): five features, the first three and the last two grouped.
    static let hierarchy = try? FeatureHierarchy(count: 5, merges: [(0, 1), (5, 2), (3, 4), (6, 7)])

    /// A game with interactions inside and across the groups, two outputs.
    static func game(_ on: [Bool]) -> [Double] {
        let x = on.map { $0 ? 1.0 : 0.0 }
        let first = 3 * x[0] * x[1] + x[2] * (x[3] + x[4]) + x[0] * x[4] - 2 * x[1] * x[2] * x[3] + 0.5 * x[4] + 1
        return [first, -first * first + x[3]]
    }

    static func values(
        _ hierarchy: FeatureHierarchy, budget: Int, batchSize: Int = 5, game: ([Bool]) -> [Double] = game
    ) throws -> (values: [[Double]], evaluations: Int) {
        let count = hierarchy.count
        let traversal = OwenTraversal(hierarchy: hierarchy, budget: budget, batchSize: batchSize)
        let (nodes, evaluations) = try traversal.nodeValues(
            empty: game([Bool](repeating: false, count: count)), full: game([Bool](repeating: true, count: count))
        ) { masks in masks.map(game) }
        return (hierarchy.lowered(nodes), evaluations)
    }

    /// The Winter value: each feature's marginal contribution averaged over every ordering in
    /// which each group of the hierarchy is contiguous.
    static func winterValues(_ hierarchy: FeatureHierarchy, game: ([Bool]) -> [Double]) -> [[Double]] {
        let count = hierarchy.count
        let groups = hierarchy.members.filter { $0.count > 1 }
        var sums = [[Double]](repeating: [0, 0], count: count)
        var orderings = 0
        func permutations(_ prefix: [Int], _ rest: [Int]) {
            guard !rest.isEmpty else {
                let positions = Dictionary(uniqueKeysWithValues: prefix.enumerated().map { ($1, $0) })
                let contiguous = groups.allSatisfy { group in
                    let places = group.compactMap { positions[$0] }
                    return (places.max() ?? 0) - (places.min() ?? 0) == group.count - 1
                }
                guard contiguous else { return }
                orderings += 1
                var on = [Bool](repeating: false, count: count)
                var before = game(on)
                for feature in prefix {
                    on[feature] = true
                    let after = game(on)
                    for output in 0..<2 { sums[feature][output] += after[output] - before[output] }
                    before = after
                }
                return
            }
            for (index, next) in rest.enumerated() {
                var remaining = rest
                remaining.remove(at: index)
                permutations(prefix + [next], remaining)
            }
        }
        permutations([], Array(0..<count))
        return sums.map { $0.map { $0 / Double(orderings) } }
    }

    @Test func withTheWholeBudgetTheValuesAreTheWinterValues() throws {
        let hierarchy = try #require(Self.hierarchy)
        let (values, evaluations) = try Self.values(hierarchy, budget: 498)
        let expected = Self.winterValues(hierarchy, game: Self.game)
        for (value, winter) in zip(values, expected) {
            for output in 0..<2 { #expect(abs(value[output] - winter[output]) < 1e-12) }
        }
        #expect(evaluations == hierarchy.fullTraversalEvaluations)
    }

    @Test func onAnAdditiveGameEachFeatureGetsItsOwnTerm() throws {
        let hierarchy = try #require(Self.hierarchy)
        let weights = [0.5, -2, 3, 0, 1.25]
        let additive = { (on: [Bool]) -> [Double] in
            let sum = zip(on, weights).reduce(0.0) { $0 + ($1.0 ? $1.1 : 0) }
            return [sum + 4, -sum]
        }
        let values = try Self.values(hierarchy, budget: 100, game: additive).values
        for (value, weight) in zip(values, weights) {
            #expect(abs(value[0] - weight) < 1e-12)
            #expect(abs(value[1] + weight) < 1e-12)
        }
    }

    @Test func theValuesAddUpToTheChangeWhateverTheBudget() throws {
        let hierarchy = try #require(Self.hierarchy)
        let change = zip(Self.game([Bool](repeating: true, count: 5)), Self.game([Bool](repeating: false, count: 5))).map { $0 - $1 }
        for budget in 0...hierarchy.fullTraversalEvaluations {
            for batchSize in [1, 2, 5] {
                let (values, evaluations) = try Self.values(hierarchy, budget: budget, batchSize: batchSize)
                for output in 0..<2 { #expect(abs(values.map { $0[output] }.reduce(0, +) - change[output]) < 1e-12) }
                // A batch may end one split past the budget, as SHAP's does.
                #expect(evaluations <= budget + 1)
            }
        }
    }

    @Test func withoutABudgetTheChangeIsSharedByGroupSize() throws {
        let hierarchy = try #require(Self.hierarchy)
        let change = Self.game([Bool](repeating: true, count: 5))[0] - Self.game([Bool](repeating: false, count: 5))[0]
        let (values, evaluations) = try Self.values(hierarchy, budget: 0)
        #expect(evaluations == 0)
        for value in values { #expect(abs(value[0] - change / 5) < 1e-12) }
    }

    @Test func aFeatureTheGameIgnoresGetsNothing() throws {
        let hierarchy = try #require(Self.hierarchy)
        let ignoringTheFourth = { (on: [Bool]) -> [Double] in
            var on = on
            on[3] = false
            return Self.game(on)
        }
        let values = try Self.values(hierarchy, budget: 498, game: ignoringTheFourth).values
        #expect(values[3] == [0, 0])
    }

    @Test func aHierarchyJoinsEachNodeOnce() {
        #expect(throws: ExplanationError.self) { try FeatureHierarchy(count: 3, merges: [(0, 1), (0, 2)]) }
        #expect(throws: ExplanationError.self) { try FeatureHierarchy(count: 3, merges: [(0, 1)]) }
        #expect(throws: ExplanationError.self) { try FeatureHierarchy(count: 2, merges: [(0, 2)]) }
        #expect(throws: ExplanationError.self) { try FeatureHierarchy(count: 0, merges: []) }
    }

    @Test func aMergeAtDepthDIsReachedTwoToTheDTimes() throws {
        let balanced = try FeatureHierarchy(count: 4, merges: [(0, 1), (2, 3), (4, 5)])
        #expect(balanced.fullTraversalEvaluations == 2 + 2 * 4)
        let chain = try FeatureHierarchy(count: 4, merges: [(0, 1), (4, 2), (5, 3)])
        #expect(chain.fullTraversalEvaluations == 2 + 4 + 8)
    }

    @Test func aMergesValueIsHandedDownBySize() throws {
        let hierarchy = try FeatureHierarchy(count: 3, merges: [(0, 1), (2, 3)])
        let lowered = hierarchy.lowered([[1], [0], [0], [2], [6]])
        // The root's 6 gives 2 to feature 2 and 4 to (0 1), whose 2 + 4 gives 3 to each.
        let expected: [[Double]] = [[4], [3], [2]]
        #expect(lowered == expected)
    }

    @Test func SHAPsClusteringRowsCarryTheSizeAsHeight() throws {
        let hierarchy = try FeatureHierarchy(count: 3, merges: [(0, 1), (2, 3)])
        #expect(hierarchy.clustering == [[0, 1, 2.0 / 3, 2], [2, 3, 1, 3]])
    }
}
