/// A CART decision tree (Breiman, Friedman, Olshen & Stone, "Classification and Regression
/// Trees", 1984) grown as scikit-learn 1.9.1's `DecisionTreeClassifier` /
/// `DecisionTreeRegressor` grow one (`splitter="best"`, every feature considered), so a
/// surrogate distilled by Candor can be held to the tree scikit-learn would fit on the same
/// rows:
///
/// - a node's split minimises the children's weighted impurity — Gini for classes, squared
///   error for values — over every feature and every threshold halfway between consecutive
///   distinct values (values closer than 1e-7 count as equal, as scikit-learn's
///   `FEATURE_THRESHOLD`), computed in double from the float32 feature values;
/// - a node is a leaf at `maxDepth`, with fewer than 2 × `minSamplesLeaf` rows (or fewer than
///   two), when pure (impurity ≤ double ε), or when no threshold leaves `minSamplesLeaf` rows
///   on each side; any other node is split, even with no impurity gained, as scikit-learn does;
/// - with `maxLeaves`, the tree grows best first, as scikit-learn's `max_leaf_nodes`: the
///   frontier node whose split gains the most weighted impurity,
///   n_node / n × (impurity − n_left / n_node × impurity_left − n_right / n_node × impurity_right),
///   is split next, until `maxLeaves` leaves.
///
/// scikit-learn visits the features in a random order (its `random_state`) and keeps the
/// first of equally good splits; Candor visits them in index order, so where two splits tie
/// exactly the trees may differ, with the same impurity.
struct CARTTree: Sendable {
    enum Criterion: Sendable {
        /// Gini impurity over `classes` class indices.
        case gini(classes: Int)
        /// Mean squared error of the node's mean.
        case squaredError
    }

    struct Settings: Sendable {
        let maxDepth: Int
        let maxLeaves: Int?
        let minSamplesLeaf: Int
    }

    struct Node: Sendable {
        /// The split feature, nil for a leaf.
        var feature: Int?
        var threshold: Double = 0
        var left = -1
        var right = -1
        var depth: Int
        /// Training rows that reach the node.
        var samples: Int
        /// Per class, the count of the node's rows (classification); or the rows' mean.
        var value: [Double]
        var impurity: Double
    }

    private(set) var nodes: [Node] = []
    let criterion: Criterion

    /// The most splits on any root-to-leaf path.
    var depth: Int { nodes.map(\.depth).max() ?? 0 }

    var leafCount: Int { nodes.count { $0.feature == nil } }

    /// The leaf a row of `features` values (row-major in `matrix`, starting at `offset`) reaches:
    /// left when x[feature] ≤ threshold.
    func leaf(_ matrix: UnsafeBufferPointer<Float>, offset: Int) -> Int {
        var node = 0
        while let feature = nodes[node].feature {
            node = Double(matrix[offset + feature]) <= nodes[node].threshold ? nodes[node].left : nodes[node].right
        }
        return node
    }

    /// A leaf's answer: the class with the most rows (the first on ties, as numpy's argmax), or
    /// the rows' mean.
    func prediction(ofLeaf leaf: Int) -> Double {
        let value = nodes[leaf].value
        switch criterion {
        case .gini:
            var best = 0
            for index in value.indices where value[index] > value[best] { best = index }
            return Double(best)
        case .squaredError:
            return value.first ?? 0
        }
    }

    /// Grows the tree on `rows` (indices into the row-major `matrix` of `featureCount`
    /// columns) to predict `targets` (class indices for Gini, numbers otherwise; indexed by
    /// row like the matrix), calling `checkCancellation` before each node is split.
    init(
        matrix: [Float], featureCount: Int, targets: [Double], rows: [Int], criterion: Criterion, settings: Settings,
        checkCancellation: () throws(ExplanationError) -> Void
    ) throws(ExplanationError) {
        self.criterion = criterion
        var grower = Grower(matrix: matrix, featureCount: featureCount, targets: targets, criterion: criterion, settings: settings)
        nodes = try grower.grow(rows, checkCancellation: checkCancellation)
    }
}

/// The best split of a node, as found by ``CARTTree/Grower``.
private struct CandidateSplit {
    let feature: Int
    let threshold: Double
    /// Rows of the node, sorted by the split feature; the first `position` go left.
    let sortedRows: [Int]
    let position: Int
    /// The weighted impurity decrease, relative to the whole training set.
    let improvement: Double
}

extension CARTTree {
    /// The tree's growth: node statistics, split search and the order nodes are split in.
    private struct Grower {
        let matrix: [Float]
        let featureCount: Int
        let targets: [Double]
        let criterion: Criterion
        let settings: Settings
        var totalRows = 0

        init(matrix: [Float], featureCount: Int, targets: [Double], criterion: Criterion, settings: Settings) {
            self.matrix = matrix
            self.featureCount = featureCount
            self.targets = targets
            self.criterion = criterion
            self.settings = settings
        }

        /// scikit-learn's `FEATURE_THRESHOLD`: values closer than this are not split between.
        static let featureThreshold = 1e-7
        /// scikit-learn's `EPSILON`, the machine epsilon of double.
        static let epsilon = Double.ulpOfOne

        /// Class counts or [mean] of the rows, and their impurity, as scikit-learn's
        /// `node_value` and `node_impurity` compute them.
        func statistics(_ rows: some Collection<Int>) -> (value: [Double], impurity: Double) {
            let count = Double(rows.count)
            switch criterion {
            case .gini(let classes):
                var counts = [Double](repeating: 0, count: classes)
                for row in rows { counts[Int(targets[row])] += 1 }
                return (counts, Self.gini(counts, count))
            case .squaredError:
                var sum = 0.0
                var squares = 0.0
                for row in rows {
                    sum += targets[row]
                    squares += targets[row] * targets[row]
                }
                let mean = sum / count
                return ([mean], squares / count - mean * mean)
            }
        }

        static func gini(_ counts: [Double], _ count: Double) -> Double {
            var squares = 0.0
            for value in counts { squares += value * value }
            return 1 - squares / (count * count)
        }

        /// Whether a node is a leaf before any split is searched (scikit-learn's builders' test).
        func isLeaf(rows: Int, depth: Int, impurity: Double) -> Bool {
            depth >= settings.maxDepth || rows < 2 || rows < 2 * settings.minSamplesLeaf || impurity <= Self.epsilon
        }

        /// The node's best split, or nil when no threshold leaves `minSamplesLeaf` rows on each
        /// side or the best one loses impurity (beyond rounding).
        func bestSplit(_ rows: [Int], impurity: Double) -> CandidateSplit? {
            let count = rows.count
            var best: (proxy: Double, feature: Int, threshold: Double, sorted: [Int], position: Int)?
            for feature in 0..<featureCount {
                let sorted = rows.sorted { (matrix[$0 * featureCount + feature], $0) < (matrix[$1 * featureCount + feature], $1) }
                let values = sorted.map { Double(matrix[$0 * featureCount + feature]) }
                guard let low = values.first, let high = values.last, high > low + Self.featureThreshold else { continue }
                var bestOfFeature: (proxy: Double, position: Int)?
                switch criterion {
                case .gini(let classes):
                    var left = [Double](repeating: 0, count: classes)
                    var right = [Double](repeating: 0, count: classes)
                    for row in sorted { right[Int(targets[row])] += 1 }
                    for position in 1..<count {
                        let moved = Int(targets[sorted[position - 1]])
                        left[moved] += 1
                        right[moved] -= 1
                        guard values[position] > values[position - 1] + Self.featureThreshold,
                            position >= settings.minSamplesLeaf, count - position >= settings.minSamplesLeaf
                        else { continue }
                        let leftCount = Double(position)
                        let rightCount = Double(count - position)
                        let proxy = -rightCount * Self.gini(right, rightCount) - leftCount * Self.gini(left, leftCount)
                        if proxy > bestOfFeature?.proxy ?? -.infinity { bestOfFeature = (proxy, position) }
                    }
                case .squaredError:
                    let total = sorted.reduce(0.0) { $0 + targets[$1] }
                    var left = 0.0
                    for position in 1..<count {
                        left += targets[sorted[position - 1]]
                        guard values[position] > values[position - 1] + Self.featureThreshold,
                            position >= settings.minSamplesLeaf, count - position >= settings.minSamplesLeaf
                        else { continue }
                        let right = total - left
                        let proxy = left * left / Double(position) + right * right / Double(count - position)
                        if proxy > bestOfFeature?.proxy ?? -.infinity { bestOfFeature = (proxy, position) }
                    }
                }
                guard let bestOfFeature, bestOfFeature.proxy > best?.proxy ?? -.infinity else { continue }
                let below = values[bestOfFeature.position - 1]
                let above = values[bestOfFeature.position]
                var threshold = below / 2 + above / 2
                if threshold == above || !threshold.isFinite { threshold = below }
                best = (bestOfFeature.proxy, feature, threshold, sorted, bestOfFeature.position)
            }
            guard let best else { return nil }
            let left = statistics(best.sorted[..<best.position])
            let right = statistics(best.sorted[best.position...])
            let node = Double(count)
            let leftShare = Double(best.position) / node
            let rightShare = Double(count - best.position) / node
            let improvement = node / Double(totalRows) * (impurity - rightShare * right.impurity - leftShare * left.impurity)
            guard improvement + Self.epsilon >= 0 else { return nil }
            return CandidateSplit(
                feature: best.feature, threshold: best.threshold, sortedRows: best.sorted, position: best.position, improvement: improvement
            )
        }

        /// Grows from the root: every splittable node is split (depth first), or with
        /// `maxLeaves` the frontier's most improving split first until the leaf budget is spent.
        mutating func grow(_ rows: [Int], checkCancellation: () throws(ExplanationError) -> Void) throws(ExplanationError) -> [Node] {
            totalRows = rows.count
            var nodes: [Node] = []
            var candidates: [Int: CandidateSplit] = [:]
            func add(_ rows: some Collection<Int>, depth: Int) -> Int {
                let (value, impurity) = statistics(rows)
                nodes.append(Node(depth: depth, samples: rows.count, value: value, impurity: impurity))
                let index = nodes.count - 1
                if !isLeaf(rows: rows.count, depth: depth, impurity: impurity), let split = bestSplit(Array(rows), impurity: impurity) {
                    candidates[index] = split
                }
                return index
            }
            _ = add(rows, depth: 0)
            var splitsLeft = settings.maxLeaves.map { $0 - 1 } ?? Int.max
            while splitsLeft > 0 {
                // Best first: the largest improvement, the earliest node on ties. Without a leaf
                // budget every candidate is split, so the order does not matter.
                guard let next = candidates.max(by: { ($0.value.improvement, -$0.key) < ($1.value.improvement, -$1.key) }) else { break }
                try checkCancellation()
                candidates[next.key] = nil
                splitsLeft -= 1
                let split = next.value
                let depth = nodes[next.key].depth + 1
                let left = add(split.sortedRows[..<split.position], depth: depth)
                let right = add(split.sortedRows[split.position...], depth: depth)
                nodes[next.key].feature = split.feature
                nodes[next.key].threshold = split.threshold
                nodes[next.key].left = left
                nodes[next.key].right = right
            }
            return nodes
        }
    }
}
