/// One binary decision tree, stored as parallel arrays indexed by node (node 0 is the root),
/// as tree-ensemble libraries store them: an internal node sends x to `left` when
/// x[feature] < threshold, to `right` otherwise, and a missing value (NaN) to the default
/// side; a leaf (`left` = −1) holds a value. Each node's `cover` is the number (or Hessian
/// weight) of training rows that reached it, which path-dependent TreeSHAP needs.
public struct DecisionTree: Sendable, Equatable {
    public let left: [Int]
    public let right: [Int]
    public let feature: [Int]
    public let threshold: [Float]
    public let defaultLeft: [Bool]
    public let value: [Double]
    public let cover: [Double]

    public struct Invalid: Error, CustomStringConvertible {
        public let description: String
    }

    /// Checks that the arrays describe one tree: equal lengths, children after their parent
    /// (so there is no cycle and every walk ends), features within `featureCount`.
    public init(
        left: [Int], right: [Int], feature: [Int], threshold: [Float], defaultLeft: [Bool], value: [Double], cover: [Double],
        featureCount: Int
    ) throws(Invalid) {
        let count = left.count
        guard count > 0,
            [right.count, feature.count, threshold.count, defaultLeft.count, value.count, cover.count].allSatisfy({ $0 == count })
        else {
            throw Invalid(description: "a tree's node arrays differ in length or are empty")
        }
        for node in 0..<count {
            if left[node] == -1 { continue }
            guard left[node] > node, right[node] > node, left[node] < count, right[node] < count else {
                throw Invalid(description: "node \(node) has children \(left[node]) and \(right[node]), not later nodes of the tree")
            }
            guard (0..<featureCount).contains(feature[node]) else {
                throw Invalid(description: "node \(node) splits on feature \(feature[node]); the model has \(featureCount)")
            }
        }
        guard value.allSatisfy(\.isFinite), cover.allSatisfy({ $0.isFinite && $0 >= 0 }) else {
            throw Invalid(description: "a tree holds a non-finite leaf value or a negative cover")
        }
        self.left = left
        self.right = right
        self.feature = feature
        self.threshold = threshold
        self.defaultLeft = defaultLeft
        self.value = value
        self.cover = cover
    }

    public func isLeaf(_ node: Int) -> Bool { left[node] == -1 }

    /// The child an instance goes to from internal node `node`.
    @inlinable
    public func child(of node: Int, for x: Float) -> Int {
        if x.isNaN { return defaultLeft[node] ? left[node] : right[node] }
        return x < threshold[node] ? left[node] : right[node]
    }

    /// The leaf an instance reaches.
    public func leaf(for instance: ArraySlice<Float>) -> Int {
        var node = 0
        while !isLeaf(node) { node = child(of: node, for: instance[instance.startIndex + feature[node]]) }
        return node
    }

    /// The cover-weighted mean of the leaf values: the tree's expected output over its
    /// training data.
    public var expectedValue: Double {
        func mean(_ node: Int) -> Double {
            if isLeaf(node) { return value[node] }
            let (l, r) = (left[node], right[node])
            let total = cover[l] + cover[r]
            guard total > 0 else { return (mean(l) + mean(r)) / 2 }
            return (cover[l] * mean(l) + cover[r] * mean(r)) / total
        }
        return mean(0)
    }
}
