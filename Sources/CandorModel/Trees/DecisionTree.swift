/// One binary decision tree, stored as parallel arrays indexed by node (node 0 is the root),
/// as tree-ensemble libraries store them: an internal node sends x to `left` when
/// x[feature] < threshold (≤ with `inclusive`, LightGBM's rule), to `right` otherwise, and a
/// missing value to the default side, as the node's `missing` rule says; a leaf (`left` = −1)
/// holds a value. Each node's `cover` is the number (or Hessian weight) of training rows
/// that reached it, which path-dependent TreeSHAP needs.
public struct DecisionTree: Sendable, Equatable {
    /// What counts as missing at a split, as LightGBM's `decision_type` says (XGBoost: `nan`).
    public enum MissingRule: Sendable, Equatable {
        /// NaN goes to the default side.
        case nan
        /// NaN counts as 0, and 0 (|x| ≤ 1e-35) goes to the default side.
        case zero
        /// NaN counts as 0 and is compared like any value.
        case none
    }

    public let left: [Int]
    public let right: [Int]
    public let feature: [Int]
    public let threshold: [Double]
    public let inclusive: Bool
    public let missing: [MissingRule]
    public let defaultLeft: [Bool]
    public let value: [Double]
    public let cover: [Double]
    /// The most splits on any root-to-leaf path.
    public let depth: Int

    /// The deepest tree accepted: TreeSHAP recurses once per level and keeps a path per level.
    public static let maximumDepth = 512

    public struct Invalid: Error, CustomStringConvertible {
        public let description: String
    }

    /// Checks that the arrays describe one tree: equal lengths, children after their parent
    /// (so there is no cycle and every walk ends), features within `featureCount`.
    public init(
        left: [Int], right: [Int], feature: [Int], threshold: [Double], inclusive: Bool = false, missing: [MissingRule]? = nil,
        defaultLeft: [Bool], value: [Double], cover: [Double], featureCount: Int
    ) throws(Invalid) {
        let count = left.count
        let missing = missing ?? Array(repeating: .nan, count: count)
        guard count > 0,
            [right.count, feature.count, threshold.count, missing.count, defaultLeft.count, value.count, cover.count].allSatisfy({
                $0 == count
            })
        else {
            throw Invalid(description: "a tree's node arrays differ in length or are empty")
        }
        var parents = [Int](repeating: 0, count: count)
        for node in 0..<count {
            if left[node] == -1 { continue }
            guard left[node] != right[node] else { throw Invalid(description: "node \(node) has the same node on both sides") }
            guard left[node] > node, right[node] > node, left[node] < count, right[node] < count else {
                throw Invalid(description: "node \(node) has children \(left[node]) and \(right[node]), not later nodes of the tree")
            }
            parents[left[node]] += 1
            parents[right[node]] += 1
            guard (0..<featureCount).contains(feature[node]) else {
                throw Invalid(description: "node \(node) splits on feature \(feature[node]); the model has \(featureCount)")
            }
        }
        // A tree: every node but the root has exactly one parent (so no walk visits a node twice).
        if let shared = (1..<count).first(where: { parents[$0] != 1 }) {
            throw Invalid(description: "node \(shared) has \(parents[shared]) parents; a tree's nodes have one each")
        }
        guard value.allSatisfy(\.isFinite), cover.allSatisfy({ $0.isFinite && $0 >= 0 }) else {
            throw Invalid(description: "a tree holds a non-finite leaf value or a negative cover")
        }
        self.left = left
        self.right = right
        self.feature = feature
        self.threshold = threshold
        self.inclusive = inclusive
        self.missing = missing
        self.defaultLeft = defaultLeft
        self.value = value
        self.cover = cover
        // Children come after their parent, so one forward sweep gives every node's depth.
        var depths = [Int](repeating: 0, count: count)
        for node in 0..<count where left[node] != -1 {
            depths[left[node]] = depths[node] + 1
            depths[right[node]] = depths[node] + 1
        }
        depth = depths.max() ?? 0
        guard depth <= Self.maximumDepth else {
            throw Invalid(description: "the tree is \(depth) levels deep, more than the \(Self.maximumDepth) Candor walks")
        }
        // Children come after their parent: sweeping backwards, both are done before it.
        var means = value
        for node in stride(from: count - 1, through: 0, by: -1) where left[node] != -1 {
            let (l, r) = (left[node], right[node])
            let total = cover[l] + cover[r]
            means[node] = total > 0 ? (cover[l] * means[l] + cover[r] * means[r]) / total : (means[l] + means[r]) / 2
        }
        expectedValue = means[0]
    }

    @inlinable public func isLeaf(_ node: Int) -> Bool { left[node] == -1 }

    /// The child an instance goes to from internal node `node`.
    @inlinable public func child(of node: Int, for x: Float) -> Int {
        goesLeft(from: node, for: x) ? left[node] : right[node]
    }

    /// Whether an instance whose split feature is `x` goes left at internal node `node`.
    @inlinable public func goesLeft(from node: Int, for x: Float) -> Bool {
        var value = Double(x)
        switch missing[node] {
        case .nan:
            if value.isNaN { return defaultLeft[node] }
        case .zero:
            if value.isNaN { value = 0 }
            if abs(value) <= 1e-35 { return defaultLeft[node] }
        case .none:
            if value.isNaN { value = 0 }
        }
        return inclusive ? value <= threshold[node] : value < threshold[node]
    }

    /// The leaf an instance reaches.
    @inlinable public func leaf(for instance: ArraySlice<Float>) -> Int {
        var node = 0
        while !isLeaf(node) { node = child(of: node, for: instance[instance.startIndex + feature[node]]) }
        return node
    }

    /// The cover-weighted mean of the leaf values: the tree's expected output over its
    /// training data (the plain mean of the children where a node has no cover).
    public let expectedValue: Double

}
