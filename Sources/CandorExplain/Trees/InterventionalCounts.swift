import CandorModel
import CandorTensor
import Synchronization

/// Interventional TreeSHAP from the background's fail masks, counted once per request: a
/// reference row b reaches a leaf in the hybrid of x and b iff no feature of the leaf's path
/// fails both (X ∩ B = ∅, X and B their fail masks over the path's d distinct features, as in
/// ``TreeShapTables``); then each feature of B gains v·(|B|−1)!|X|!/(|B|+|X|)! and each of X
/// loses v·|B|!(|X|−1)!/(|B|+|X|)! (Lundberg et al., 2020). So a leaf's values depend on the
/// background only through how many rows have each B: counting the rows' distinct masks per
/// leaf once (one sweep of each tree per row), an instance costs one sweep of each tree plus, per
/// leaf, one step per distinct mask — instead of walking every tree once per background row,
/// as SHAP's `TreeExplainer` does. Where many instances share the background, the full
/// per-mask tables of ``TreeShapTables`` cost less still.
struct InterventionalCounts: Sendable {
    /// The model's leaves as the counts read them.
    let layout: CountsLayout
    /// Per tree, the position in `leafMasks` of its first leaf.
    let firstLeaf: [Int]
    /// Per leaf of the counted trees, in order, its distinct masks' positions in `masks` and
    /// `weights`.
    let leafMasks: [Range<Int>]
    /// Each leaf's distinct background fail masks, and per mask the leaf value times the
    /// fraction of the rows that have it.
    let masks: [UInt32]
    let weights: [Double]
    /// Per tree, its mean output over the rows (the rows with no fail reach the leaf).
    let treeMeans: [Double]

    /// a!b!/(a+b+1)! at a·(widest path + 1) + b, for a, b up to the widest path.
    private static let ratios: [Double] = (0...TreeShapTables.maximumPathFeatures).flatMap { a in
        (0...TreeShapTables.maximumPathFeatures).map { b in InterventionalTreeShap.factorialRatio(a, b) }
    }
    private static let ratioStride = TreeShapTables.maximumPathFeatures + 1

    /// Counts the fail masks of the `count` rows of `references` ([count × featureCount]).
    init(_ ensemble: TreeEnsemble, references: [Float], count: Int) {
        layout = CountsLayout.of(ensemble)
        var firstLeaf: [Int] = []
        var leafMasks: [Range<Int>] = []
        var masks: [UInt32] = []
        var weights: [Double] = []
        var treeMeans: [Double] = []
        let width = count > 0 ? references.count / count : 0
        let rows = Double(max(count, 1))
        var fail: [UInt32] = []
        var histogram: [Double] = []
        for (tree, shape) in zip(ensemble.trees, layout.trees) {
            firstLeaf.append(leafMasks.count)
            guard let shape else {
                treeMeans.append(
                    (0..<count).reduce(0.0) { $0 + tree.value[tree.leaf(for: references[($1 * width)..<(($1 + 1) * width)])] } / rows)
                continue
            }
            // A tree whose root is a leaf has no counts: every row reaches it.
            var mean = tree.isLeaf(0) ? tree.value[0] : 0
            histogram.removeAll(keepingCapacity: true)
            histogram.append(contentsOf: repeatElement(0, count: shape.counts))
            Self.failMasks(of: references, count: count, width: width, slotBit: shape.slotBit, tree: tree, into: &fail)
            fail.withUnsafeBufferPointer { fail in
                histogram.withUnsafeMutableBufferPointer { histogram in
                    for leaf in shape.leaves {
                        let widthMask = UInt32((1 << leaf.width) - 1)
                        for row in 0..<count { histogram[leaf.counts + Int(fail[leaf.node * count + row] & widthMask)] += 1 }
                    }
                }
            }
            for leaf in shape.leaves {
                let first = masks.count
                let share = tree.value[leaf.node] / rows
                mean += histogram[leaf.counts] * share
                for mask in 0..<(1 << leaf.width) where histogram[leaf.counts + mask] != 0 {
                    masks.append(UInt32(mask))
                    weights.append(histogram[leaf.counts + mask] * share)
                }
                leafMasks.append(first..<masks.count)
            }
            treeMeans.append(mean)
        }
        self.firstLeaf = firstLeaf
        self.leafMasks = leafMasks
        self.masks = masks
        self.weights = weights
        self.treeMeans = treeMeans
    }

    /// Every node's fail mask for every row of `references`, node by node (fail[node · count +
    /// row]): the node's split is read once for all the rows.
    private static func failMasks(
        of references: [Float], count: Int, width: Int, slotBit: [UInt32], tree: DecisionTree, into fail: inout [UInt32]
    ) {
        fail.removeAll(keepingCapacity: true)
        fail.append(contentsOf: repeatElement(0, count: slotBit.count * count))
        references.withUnsafeBufferPointer { references in
            fail.withUnsafeMutableBufferPointer { fail in
                for node in slotBit.indices where !tree.isLeaf(node) {
                    let (feature, bit) = (tree.feature[node], slotBit[node])
                    let (parent, left, right) = (node * count, tree.left[node] * count, tree.right[node] * count)
                    for row in 0..<count {
                        let mask = fail[parent + row]
                        let goesLeft = tree.goesLeft(from: node, for: references[row * width + feature])
                        fail[left + row] = goesLeft ? mask : mask | bit
                        fail[right + row] = goesLeft ? mask | bit : mask
                    }
                }
            }
        }
    }

    /// Adds, for each row of `instances` ([rows × featureCount]), the SHAP values of the trees
    /// of `ensemble` that feed its `targets` column into `phi` ([rows × featureCount]); `walk(tree,
    /// row, phi)` adds an uncounted tree's values for one row into that row's `phi`.
    func accumulate(
        _ ensemble: TreeEnsemble, instances: [Float], targets: [Int], into phi: inout [Double], context: ExplanationContext,
        walk: (_ tree: Int, _ row: Int, _ phi: UnsafeMutableBufferPointer<Double>) -> Void
    ) throws(ExplanationError) {
        let fail = UnsafeMutablePointer<UInt32>.allocate(capacity: max(layout.maximumNodes, 1))
        let gains = UnsafeMutablePointer<Double>.allocate(capacity: TreeShapTables.maximumPathFeatures)
        defer {
            fail.deallocate()
            gains.deallocate()
        }
        try TreeShapTables.sweep(ensemble, instances: instances, targets: targets, into: &phi, context: context, walk: walk) { index in
            guard let shape = layout.trees[index] else { return nil }
            return { instance, phi in
                accumulate(
                    shape, tree: ensemble.trees[index], leafMasks: firstLeaf[index], instance: instance, fail: fail, gains: gains, into: phi
                )
            }
        }
    }

    /// Adds one counted tree's SHAP values for `instance` into `phi`; its leaves' masks start
    /// at `leafMasks[firstMasks]`, `fail` has room for the tree's nodes, `gains` for the widest
    /// path.
    private func accumulate(
        _ shape: CountsLayout.Tree, tree: DecisionTree, leafMasks firstMasks: Int, instance: UnsafeBufferPointer<Float>,
        fail: UnsafeMutablePointer<UInt32>, gains: UnsafeMutablePointer<Double>, into phi: UnsafeMutablePointer<Double>
    ) {
        TreeShapTables.failMasks(shape.slotBit, tree: tree, instance: instance, fail: fail)
        let ratios = Self.ratios
        masks.withUnsafeBufferPointer { masks in
            weights.withUnsafeBufferPointer { weights in
                layout.features.withUnsafeBufferPointer { features in
                    for (position, leaf) in shape.leaves.enumerated() {
                        let width = leaf.width
                        let failed = fail[leaf.node] & ((1 << UInt32(width)) &- 1)
                        let fromReference = failed.nonzeroBitCount
                        gains.update(repeating: 0, count: width)
                        var loss = 0.0
                        for index in leafMasks[firstMasks + position] where masks[index] & failed == 0 {
                            let reference = masks[index]
                            let fromInstance = reference.nonzeroBitCount
                            if fromInstance > 0 {
                                let gain = weights[index] * ratios[(fromInstance - 1) * Self.ratioStride + fromReference]
                                var bits = reference
                                while bits != 0 {
                                    gains[bits.trailingZeroBitCount] += gain
                                    bits &= bits &- 1
                                }
                            }
                            if fromReference > 0 { loss += weights[index] * ratios[fromInstance * Self.ratioStride + fromReference - 1] }
                        }
                        for slot in 0..<width {
                            phi[features[leaf.features + slot]] += failed & (1 << UInt32(slot)) != 0 ? -loss : gains[slot]
                        }
                    }
                }
            }
        }
    }
}

/// The leaves of a model's trees as ``InterventionalCounts`` reads them, made once and kept
/// with the model (they do not depend on the background): per tree, its nodes' slot bits and,
/// per leaf with a feature on its path, the path's distinct features and where its 2^d counts
/// go; nil for a tree with more than `TreeShapTables.maximumPathFeatures` features on a path.
struct CountsLayout: Sendable {
    struct Leaf: Sendable {
        let node: Int
        /// Distinct features on its path (d).
        let width: Int
        /// Where its d features, in slot order, start in `features`.
        let features: Int
        /// Where its 2^d counts start in a tree's histogram.
        let counts: Int
    }

    struct Tree: Sendable {
        /// Per internal node, the bit of its feature's slot on the node's path.
        let slotBit: [UInt32]
        let leaves: [Leaf]
        /// The size of the tree's histogram, Σ 2^d.
        let counts: Int
    }

    let trees: [Tree?]
    let features: [Int]
    let maximumNodes: Int

    static func of(_ ensemble: TreeEnsemble) -> CountsLayout {
        ensemble.memo.value(CountsLayout.self) { CountsLayout(ensemble.trees) }
    }

    private init(_ ensemble: [DecisionTree]) {
        var trees: [Tree?] = []
        var features: [Int] = []
        for tree in ensemble {
            guard let shape = TreeShapTables.shape(of: tree) else {
                trees.append(nil)
                continue
            }
            var leaves: [Leaf] = []
            var counts = 0
            for (node, path) in shape.paths where !path.features.isEmpty {
                leaves.append(Leaf(node: node, width: path.features.count, features: features.count, counts: counts))
                features += path.features
                counts += 1 << path.features.count
            }
            trees.append(Tree(slotBit: shape.slotBit, leaves: leaves, counts: counts))
        }
        self.trees = trees
        self.features = features
        maximumNodes = ensemble.map(\.left.count).max() ?? 0
    }
}

/// A model's last few interventional backgrounds, counted, kept with the model: counting sweeps
/// every tree once per background row — for one instance, more work than explaining it — while
/// a service sees the same background again and again (the sidecar's, or the one a client keeps
/// sending). Entries are matched on the rows' exact values.
final class CountedBackgrounds: Sendable {
    struct Entry: Sendable {
        let references: [Float]
        let counts: InterventionalCounts
        /// Per output column, the mean margin over the rows: `base_value`.
        let meanMargins: [Double]
    }

    /// The most backgrounds kept per model, and the most distinct masks an entry may hold to
    /// be kept (24 MiB of masks and weights).
    static let capacity = 2
    static let maximumMasks = 1 << 21

    private let entries = Mutex<[Entry]>([])

    /// The counted `background`: the kept entry for the same rows, or one made now (and kept
    /// when small enough, the least recently used dropped).
    static func counted(_ background: BackgroundRows, of ensemble: TreeEnsemble) -> Entry {
        let cache = ensemble.memo.value(CountedBackgrounds.self) { CountedBackgrounds() }
        let references = background.rows[0].scalars
        let kept = cache.entries.withLock { entries -> Entry? in
            guard let index = entries.firstIndex(where: { $0.references == references }) else { return nil }
            let entry = entries.remove(at: index)
            entries.insert(entry, at: 0)
            return entry
        }
        if let kept { return kept }
        let counts = InterventionalCounts(ensemble, references: references, count: background.count)
        var meanMargins = ensemble.baseMargin
        for (mean, column) in zip(counts.treeMeans, ensemble.treeColumn) { meanMargins[column] += mean }
        let entry = Entry(references: references, counts: counts, meanMargins: meanMargins)
        if entry.counts.masks.count <= maximumMasks {
            cache.entries.withLock { entries in
                entries.insert(entry, at: 0)
                if entries.count > capacity { entries.removeLast() }
            }
        }
        return entry
    }
}
