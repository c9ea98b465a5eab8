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
    struct Leaf: Sendable {
        let node: Int
        /// Distinct features on its path (d).
        let width: Int
        /// Where its d features, in slot order, start in `features`.
        let features: Int
        /// Its distinct background masks' positions in `masks` and `weights`.
        let masks: Range<Int>
    }

    struct Tree: Sendable {
        /// Per internal node, the bit of its feature's slot on the node's path.
        let slotBit: [UInt32]
        let leaves: [Leaf]
    }

    /// Per tree of the ensemble, its counts, or nil where its paths have too many features
    /// (those trees are walked per reference row).
    let trees: [Tree?]
    let features: [Int]
    /// Each leaf's distinct background fail masks, and per mask the leaf value times the
    /// fraction of the rows that have it.
    let masks: [UInt32]
    let weights: [Double]
    let maximumNodes: Int

    /// a!b!/(a+b+1)! at a·(widest path + 1) + b, for a, b up to the widest path.
    private static let ratios: [Double] = (0...TreeShapTables.maximumPathFeatures).flatMap { a in
        (0...TreeShapTables.maximumPathFeatures).map { b in InterventionalTreeShap.factorialRatio(a, b) }
    }
    private static let ratioStride = TreeShapTables.maximumPathFeatures + 1

    /// Counts the fail masks of the `count` rows of `references` ([count × featureCount]).
    init(_ ensemble: [DecisionTree], references: [Float], count: Int) {
        var trees: [Tree?] = []
        var features: [Int] = []
        var masks: [UInt32] = []
        var weights: [Double] = []
        let width = count > 0 ? references.count / count : 0
        let maximumNodes = ensemble.map(\.left.count).max() ?? 0
        var fail: [UInt32] = []
        var histogram: [Double] = []
        for tree in ensemble {
            guard let shape = TreeShapTables.shape(of: tree) else {
                trees.append(nil)
                continue
            }
            let paths = shape.paths.filter { !$0.1.features.isEmpty }
            let nodes = paths.map(\.0)
            let widthMasks = paths.map { UInt32((1 << $0.1.features.count) - 1) }
            var starts: [Int] = []
            var total = 0
            for (_, path) in paths {
                starts.append(total)
                total += 1 << path.features.count
            }
            histogram.removeAll(keepingCapacity: true)
            histogram.append(contentsOf: repeatElement(0, count: total))
            Self.failMasks(of: references, count: count, width: width, slotBit: shape.slotBit, tree: tree, into: &fail)
            fail.withUnsafeBufferPointer { fail in
                histogram.withUnsafeMutableBufferPointer { histogram in
                    for leaf in nodes.indices {
                        let (node, start, widthMask) = (nodes[leaf], starts[leaf], widthMasks[leaf])
                        for row in 0..<count { histogram[start + Int(fail[node * count + row] & widthMask)] += 1 }
                    }
                }
            }
            var leaves: [Leaf] = []
            for (position, (node, path)) in paths.enumerated() {
                let first = masks.count
                let share = tree.value[node] / Double(max(count, 1))
                for mask in 0..<(1 << path.features.count) where histogram[starts[position] + mask] != 0 {
                    masks.append(UInt32(mask))
                    weights.append(histogram[starts[position] + mask] * share)
                }
                leaves.append(Leaf(node: node, width: path.features.count, features: features.count, masks: first..<masks.count))
                features += path.features
            }
            trees.append(Tree(slotBit: shape.slotBit, leaves: leaves))
        }
        self.trees = trees
        self.features = features
        self.masks = masks
        self.weights = weights
        self.maximumNodes = maximumNodes
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
        let fail = UnsafeMutablePointer<UInt32>.allocate(capacity: max(maximumNodes, 1))
        let gains = UnsafeMutablePointer<Double>.allocate(capacity: TreeShapTables.maximumPathFeatures)
        defer {
            fail.deallocate()
            gains.deallocate()
        }
        try TreeShapTables.sweep(ensemble, instances: instances, targets: targets, into: &phi, context: context, walk: walk) { index in
            guard let layout = trees[index] else { return nil }
            return { instance, phi in
                accumulate(layout, tree: ensemble.trees[index], instance: instance, fail: fail, gains: gains, into: phi)
            }
        }
    }

    /// Adds one counted tree's SHAP values for `instance` into `phi`; `fail` has room for the
    /// tree's nodes, `gains` for the widest path.
    private func accumulate(
        _ layout: Tree, tree: DecisionTree, instance: UnsafeBufferPointer<Float>, fail: UnsafeMutablePointer<UInt32>,
        gains: UnsafeMutablePointer<Double>, into phi: UnsafeMutablePointer<Double>
    ) {
        TreeShapTables.failMasks(layout.slotBit, tree: tree, instance: instance, fail: fail)
        let ratios = Self.ratios
        masks.withUnsafeBufferPointer { masks in
            weights.withUnsafeBufferPointer { weights in
                features.withUnsafeBufferPointer { features in
                    for leaf in layout.leaves {
                        let width = leaf.width
                        let failed = fail[leaf.node] & ((1 << UInt32(width)) &- 1)
                        let fromReference = failed.nonzeroBitCount
                        gains.update(repeating: 0, count: width)
                        var loss = 0.0
                        for index in leaf.masks where masks[index] & failed == 0 {
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
        let margins = ensemble.margins(background.rows[0])
        let rows = background.count
        let entry = Entry(
            references: references, counts: InterventionalCounts(ensemble.trees, references: references, count: rows),
            meanMargins: (0..<ensemble.columns).map { column in
                (0..<rows).reduce(0.0) { $0 + margins[$1 * ensemble.columns + column] } / Double(max(rows, 1))
            })
        if entry.counts.masks.count <= maximumMasks {
            cache.entries.withLock { entries in
                entries.insert(entry, at: 0)
                if entries.count > capacity { entries.removeLast() }
            }
        }
        return entry
    }
}
