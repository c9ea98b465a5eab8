/// A binary hierarchy of features, which the Partition explainer splits from the top (SHAP's
/// `clustering` matrix without its heights): the leaves are the features 0..<count, node
/// count + k is the k-th merge of two earlier nodes, and the last merge is the root.
public struct FeatureHierarchy: Sendable, Equatable {
    /// How many features (leaves).
    public let count: Int
    /// Each merge's two children.
    let left: [Int]
    let right: [Int]
    /// How many features each node holds, leaves first.
    let sizes: [Int]

    /// The hierarchy of `count` features from its merges, each of two nodes not merged before.
    public init(count: Int, merges: [(left: Int, right: Int)]) throws(ExplanationError) {
        guard count >= 1 else { throw ExplanationError(.invalidParameter, "a hierarchy needs at least one feature") }
        guard merges.count == count - 1 else {
            throw ExplanationError(.invalidParameter, "a hierarchy of \(count) features has \(count - 1) merges, not \(merges.count)")
        }
        var sizes = [Int](repeating: 1, count: count)
        var merged = [Bool](repeating: false, count: 2 * count - 1)
        for (index, merge) in merges.enumerated() {
            for child in [merge.left, merge.right] {
                guard (0..<(count + index)).contains(child), !merged[child], merge.left != merge.right else {
                    throw ExplanationError(
                        .invalidParameter, "merge \(index) of the hierarchy joins node \(child), which is not a node left to merge")
                }
                merged[child] = true
            }
            sizes.append(sizes[merge.left] + sizes[merge.right])
        }
        self.count = count
        left = merges.map(\.left)
        right = merges.map(\.right)
        self.sizes = sizes
    }

    /// The top node (the single feature when there is one).
    var root: Int { 2 * count - 2 }

    /// The children of a merge node.
    func children(of node: Int) -> (left: Int, right: Int)? {
        node < count ? nil : (left[node - count], right[node - count])
    }

    /// The features under each node, leaves first.
    var members: [[Int]] {
        var members = (0..<count).map { [$0] }
        for (first, second) in zip(left, right) { members.append(members[first] + members[second]) }
        return members
    }

    /// SHAP's `clustering` matrix: [left, right, height, size] per merge, the height each
    /// merge's size over the largest, as SHAP's Text masker rescales it.
    public var clustering: [[Double]] {
        let largest = Double(sizes.max() ?? 1)
        return (0..<left.count).map {
            [Double(left[$0]), Double(right[$0]), Double(sizes[count + $0]) / largest, Double(sizes[count + $0])]
        }
    }

    /// How many evaluations the Partition traversal makes to reach every leaf: a merge at depth
    /// d is reached 2^d times, two evaluations each (saturating).
    var fullTraversalEvaluations: Int {
        var depth = [Int](repeating: 0, count: 2 * count - 1)
        var total = 0
        for node in stride(from: root, through: count, by: -1) {
            let cost = depth[node] >= 61 ? Int.max : 2 << depth[node]
            total = total.addingReportingOverflow(cost).overflow ? Int.max : total + cost
            let (first, second) = (left[node - count], right[node - count])
            depth[first] = depth[node] + 1
            depth[second] = depth[node] + 1
        }
        return total
    }

    /// SHAP's `lower_credit`: each node's value (per output) handed down to its leaves in
    /// proportion to how many features each child holds, added to the leaves' own.
    func lowered(_ values: [[Double]]) -> [[Double]] {
        var values = values
        for node in stride(from: root, through: count, by: -1) {
            let (first, second) = (left[node - count], right[node - count])
            for output in values[node].indices {
                values[first][output] += values[node][output] * Double(sizes[first]) / Double(sizes[node])
                values[second][output] += values[node][output] * Double(sizes[second]) / Double(sizes[node])
            }
        }
        return Array(values[0..<count])
    }
}
