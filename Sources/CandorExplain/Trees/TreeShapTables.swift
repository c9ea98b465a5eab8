import CandorModel
import Foundation

/// TreeSHAP with the per-tree work done once, in the manner of FastTreeSHAP v2 (Yang, "Fast
/// TreeSHAP: Accelerating SHAP Value Computation for Trees", 2022): a leaf's share of an
/// instance's SHAP values depends on the instance only through which of the distinct features
/// on the leaf's path it leaves the path at (its "fail mask" X, one bit per feature), so every
/// leaf's values for every X are tabulated once, and explaining an instance is one sweep of
/// each tree's splits plus one table row per leaf: O(T·L·D) per instance instead of
/// Algorithm 2's O(T·L·D²) (or, interventional, O(T·L·D) instead of one walk per background
/// row).
///
/// - Path-dependent (Lundberg, Erion & Lee, 2018, Algorithm 2 written out as a game): with d
///   distinct features on the path, z_j the product of the cover fractions of the path's splits
///   on feature j, and F the features the instance follows (the complement of X), the leaf adds
///   g(S) = v · [S ⊆ F] · Π_{j ∉ S} z_j to coalition S's expected output, so feature k gains
///   Σ_{S ⊆ F} g(S) · (w(|S| − 1) if k ∈ S, −w(|S|) if not), w(s) = s!(d − 1 − s)!/d!. Made once
///   per model (`pathDependent(_:)`) and kept with it.
/// - Interventional (Lundberg et al., 2020; `InterventionalTreeShap`): a reference row b with
///   fail mask B reaches the leaf in the hybrid of x and b iff X ∩ B = ∅; then the features of
///   B come from x (each gains v·(|B|−1)!|X|!/(|B|+|X|)!) and those of X from b (each loses
///   v·|B|!(|X|−1)!/(|B|+|X|)!). Counting the background rows' B per leaf once per request, a
///   row of the table is the mean over them.
///
/// Either table holds 2^d rows of d values a leaf (filled in Σ 3^d·d steps). Trees with more than
/// `maximumPathFeatures` distinct features on a path, and trees past the entry budget, are left
/// to the per-instance walks.
struct TreeShapTables: Sendable {
    /// The most table entries (doubles) of one model's path-dependent tables: 64 MiB.
    static let maximumEntries = 1 << 23
    /// The most entries of one request's interventional tables: 32 MiB.
    static let maximumInterventionalEntries = 1 << 22
    /// The most distinct features on a path for a tabulated tree (2^10·10 entries a leaf).
    static let maximumPathFeatures = 10

    /// A leaf with at least one feature on its path.
    struct Leaf: Sendable {
        let node: Int
        /// Distinct features on its path (d).
        let width: Int
        /// Where its d features, in slot order, start in `features`.
        let features: Int
        /// Where its 2^d rows of d values start in `values`.
        let table: Int
    }

    /// A tabulated tree.
    struct Tree: Sendable {
        /// Per internal node, the bit of its feature's slot on the node's path (0 at leaves).
        let slotBit: [UInt32]
        let leaves: [Leaf]
    }

    /// Per tree of the ensemble, its tables, or nil where it is left to the walks.
    let trees: [Tree?]
    let features: [Int]
    let values: [Double]
    /// The most nodes of a tree (the per-call scratch).
    let maximumNodes: Int

    /// The path-dependent tables of `ensemble`, made on first use and kept with the model.
    static func pathDependent(_ ensemble: TreeEnsemble) -> TreeShapTables {
        ensemble.memo.value(PathDependentMemo.self) { PathDependentMemo(tables: TreeShapTables(pathDependent: ensemble.trees)) }.tables
    }

    private struct PathDependentMemo: Sendable {
        let tables: TreeShapTables
    }

    /// What is left of a leaf's table to fill once its layout is known: `table` points at its
    /// zeroed 2^d·d entries.
    private typealias Fill = (_ table: UnsafeMutablePointer<Double>, _ tree: Int, _ position: Int, _ leaf: Leaf, _ path: Path) -> Void

    private init(_ ensemble: [DecisionTree], maximumEntries: Int, prepare: (Int, Tree) -> Void = { _, _ in }, fill: Fill) {
        var trees: [Tree?] = []
        var features: [Int] = []
        var values: [Double] = []
        for (index, tree) in ensemble.enumerated() {
            guard let shape = Self.shape(of: tree), values.count + shape.entries <= maximumEntries else {
                trees.append(nil)
                continue
            }
            var leaves: [Leaf] = []
            for (node, path) in shape.paths where !path.features.isEmpty {
                leaves.append(Leaf(node: node, width: path.features.count, features: features.count, table: values.count))
                features += path.features
                values += repeatElement(0, count: (1 << path.features.count) * path.features.count)
            }
            let layout = Tree(slotBit: shape.slotBit, leaves: leaves)
            prepare(index, layout)
            values.withUnsafeMutableBufferPointer { values in
                for (position, (leaf, (_, path))) in zip(leaves, shape.paths.filter { !$0.1.features.isEmpty }).enumerated() {
                    fill(values.baseAddress! + leaf.table, index, position, leaf, path)
                }
            }
            trees.append(layout)
        }
        self.trees = trees
        self.features = features
        self.values = values
        maximumNodes = ensemble.map(\.left.count).max() ?? 0
    }

    /// Path-dependent tables.
    /// - Parameter maximumEntries: the budget (smaller in tests, to reach the fallback).
    init(pathDependent ensemble: [DecisionTree], maximumEntries: Int = Self.maximumEntries) {
        var scratch: [Double] = []
        self.init(ensemble, maximumEntries: maximumEntries) { table, tree, _, _, path in
            Self.fillPathDependent(table, zeros: path.zeros, value: ensemble[tree].value[path.leaf], scratch: &scratch)
        }
    }

    /// Interventional tables for the background `references` ([count × featureCount]).
    init(interventional ensemble: [DecisionTree], references: [Float], count: Int, maximumEntries: Int = Self.maximumInterventionalEntries)
    {
        // Per tree, each leaf's count of background rows per fail mask, 2^d a leaf.
        var histogram: [Double] = []
        var histogramStart: [Int] = []
        let width = count > 0 ? references.count / count : 0
        let fail = UnsafeMutablePointer<UInt32>.allocate(capacity: max(ensemble.map(\.left.count).max() ?? 0, 1))
        defer { fail.deallocate() }
        self.init(
            ensemble, maximumEntries: maximumEntries,
            prepare: { index, layout in
                histogramStart = []
                var total = 0
                for leaf in layout.leaves {
                    histogramStart.append(total)
                    total += 1 << leaf.width
                }
                histogram = [Double](repeating: 0, count: total)
                references.withUnsafeBufferPointer { references in
                    for row in 0..<count {
                        Self.failMasks(
                            layout.slotBit, tree: ensemble[index],
                            instance: UnsafeBufferPointer(rebasing: references[(row * width)..<((row + 1) * width)]),
                            fail: fail)
                        for (position, leaf) in layout.leaves.enumerated() {
                            histogram[histogramStart[position] + Int(fail[leaf.node] & ((1 << UInt32(leaf.width)) &- 1))] += 1
                        }
                    }
                }
            },
            fill: { table, tree, position, leaf, path in
                let start = histogramStart[position]
                histogram.withUnsafeBufferPointer { histogram in
                    Self.fillInterventional(
                        table, width: leaf.width, value: ensemble[tree].value[path.leaf] / Double(max(count, 1)),
                        counts: histogram.baseAddress! + start)
                }
            })
    }

    /// Whether interventional tables for this request cost less than ``InterventionalCounts``:
    /// filling the tables takes about Σ leaves · 3^d · d steps, after which an instance costs a
    /// sweep of each tree; the counts cost, per instance and leaf, a step per distinct background
    /// mask, at most min(rows, 2^d). Both count the background rows' masks first.
    static func prefersInterventionalTables(_ ensemble: TreeEnsemble, instances: Int, references: Int) -> Bool {
        var fill = 0.0
        var counted = 0.0
        for tree in ensemble.trees {
            let depth = Double(min(tree.depth, maximumPathFeatures))
            let leaves = Double(tree.left.count + 1) / 2
            fill += leaves * pow(3, depth) * depth
            counted += leaves * min(Double(references), pow(2, depth)) * depth / 2
        }
        return Double(instances) * counted > fill
    }

    /// A root-to-leaf path's distinct features in order of first split, and per feature the
    /// product of the cover fractions of the path's splits on it.
    struct Path {
        var leaf = 0
        var features: [Int] = []
        var zeros: [Double] = []
    }

    /// Each node's slot bit and each leaf's path, or nil when a path has too many features.
    static func shape(of tree: DecisionTree) -> (slotBit: [UInt32], paths: [(Int, Path)], entries: Int)? {
        let count = tree.left.count
        var paths = [Path](repeating: Path(), count: count)
        var slotBit = [UInt32](repeating: 0, count: count)
        var leaves: [(Int, Path)] = []
        var entries = 0
        // Children come after their parent: one forward sweep sees every parent first.
        for node in 0..<count {
            var path = paths[node]
            paths[node] = Path()
            if tree.isLeaf(node) {
                entries += (1 << path.features.count) * path.features.count
                path.leaf = node
                leaves.append((node, path))
                continue
            }
            let feature = tree.feature[node]
            let slot = path.features.firstIndex(of: feature) ?? path.features.count
            guard slot < maximumPathFeatures else { return nil }
            slotBit[node] = 1 << UInt32(slot)
            let cover = tree.cover[node]
            for child in [tree.left[node], tree.right[node]] {
                var extended = path
                let share = cover > 0 ? tree.cover[child] / cover : 0
                if slot == extended.features.count {
                    extended.features.append(feature)
                    extended.zeros.append(share)
                } else {
                    extended.zeros[slot] *= share
                }
                paths[child] = extended
            }
        }
        return (slotBit, leaves, entries)
    }

    /// Fills one leaf's path-dependent rows: row X, entry k is feature k's SHAP value of the
    /// leaf's game when the instance leaves the path at the features in X (bit k for feature k).
    private static func fillPathDependent(_ table: UnsafeMutablePointer<Double>, zeros: [Double], value: Double, scratch: inout [Double]) {
        let width = zeros.count
        let patterns = 1 << width
        let all = patterns - 1
        // w(s) = s!(d − 1 − s)!/d!, the Shapley weight of a coalition of s of the other d − 1.
        let weight = (0..<width).map { InterventionalTreeShap.factorialRatio($0, width - 1 - $0) }
        // g(S) = v · Π_{j ∉ S} z_j for every S.
        scratch.removeAll(keepingCapacity: true)
        for coalition in 0..<patterns {
            var product = value
            for feature in 0..<width where coalition & (1 << feature) == 0 { product *= zeros[feature] }
            scratch.append(product)
        }
        for failed in 0..<patterns {
            let row = table + failed * width
            let followed = all & ~failed
            // Every S ⊆ F, F itself first and ∅ last.
            var coalition = followed
            while true {
                let gain = scratch[coalition]
                if gain != 0 {
                    let size = coalition.nonzeroBitCount
                    let present = size > 0 ? weight[size - 1] * gain : 0
                    let absent = size < width ? weight[size] * gain : 0
                    for feature in 0..<width {
                        row[feature] += coalition & (1 << feature) != 0 ? present : -absent
                    }
                }
                if coalition == 0 { break }
                coalition = (coalition - 1) & followed
            }
        }
    }

    /// Fills one leaf's interventional rows from the background rows' count per fail mask
    /// (`counts`, 2^d) and the leaf value over the number of rows.
    private static func fillInterventional(_ table: UnsafeMutablePointer<Double>, width: Int, value: Double, counts: UnsafePointer<Double>)
    {
        let patterns = 1 << width
        let all = patterns - 1
        for failed in 0..<patterns {
            let row = table + failed * width
            let fromReference = failed.nonzeroBitCount
            // The background rows that reach the leaf leave it only where x follows it.
            let open = all & ~failed
            var reference = open
            while true {
                let count = counts[reference]
                let fromInstance = reference.nonzeroBitCount
                if count != 0, fromInstance + fromReference > 0 {
                    let gain = fromInstance > 0 ? count * value * InterventionalTreeShap.factorialRatio(fromInstance - 1, fromReference) : 0
                    let loss =
                        fromReference > 0 ? count * value * InterventionalTreeShap.factorialRatio(fromInstance, fromReference - 1) : 0
                    for feature in 0..<width {
                        if reference & (1 << feature) != 0 {
                            row[feature] += gain
                        } else if failed & (1 << feature) != 0 {
                            row[feature] -= loss
                        }
                    }
                }
                if reference == 0 { break }
                reference = (reference - 1) & open
            }
        }
    }

    /// fail[n]: the slots of the features on node n's path whose splits `instance` leaves.
    @inline(__always)
    static func failMasks(_ slotBit: [UInt32], tree: DecisionTree, instance: UnsafeBufferPointer<Float>, fail: UnsafeMutablePointer<UInt32>)
    {
        fail[0] = 0
        slotBit.withUnsafeBufferPointer { slotBit in
            for node in 0..<slotBit.count where !tree.isLeaf(node) {
                let hot = tree.child(of: node, for: instance[tree.feature[node]])
                let (left, right) = (tree.left[node], tree.right[node])
                let parent = fail[node]
                let bit = slotBit[node]
                fail[left] = hot == left ? parent : parent | bit
                fail[right] = hot == right ? parent : parent | bit
            }
        }
    }

    /// Adds one tabulated tree's SHAP values for `instance` into `phi`; `fail` has room for
    /// the tree's nodes.
    @inline(__always)
    static func accumulate(
        _ layout: Tree, tree: DecisionTree, instance: UnsafeBufferPointer<Float>, features: UnsafePointer<Int>,
        values: UnsafePointer<Double>, fail: UnsafeMutablePointer<UInt32>, into phi: UnsafeMutablePointer<Double>
    ) {
        failMasks(layout.slotBit, tree: tree, instance: instance, fail: fail)
        for leaf in layout.leaves {
            let width = leaf.width
            let failed = Int(fail[leaf.node] & ((1 << UInt32(width)) &- 1))
            let row = values + (leaf.table &+ failed &* width)
            let slots = features + leaf.features
            for slot in 0..<width { phi[slots[slot]] += row[slot] }
        }
    }

    /// Adds, for each row of `instances` ([rows × featureCount]), the SHAP values of the trees
    /// of `ensemble` that feed its `targets` column into `phi` ([rows × featureCount]); `walk(tree,
    /// row, phi)` adds an untabulated tree's values for one row into that row's `phi`.
    func accumulate(
        _ ensemble: TreeEnsemble, instances: [Float], targets: [Int], into phi: inout [Double], context: ExplanationContext,
        walk: (_ tree: Int, _ row: Int, _ phi: UnsafeMutableBufferPointer<Double>) -> Void
    ) throws(ExplanationError) {
        let fail = UnsafeMutablePointer<UInt32>.allocate(capacity: max(maximumNodes, 1))
        defer { fail.deallocate() }
        try features.withUnsafeBufferPointer { features throws(ExplanationError) in
            try values.withUnsafeBufferPointer { values throws(ExplanationError) in
                try Self.sweep(ensemble, instances: instances, targets: targets, into: &phi, context: context, walk: walk) { index in
                    guard let layout = trees[index] else { return nil }
                    guard !layout.leaves.isEmpty, let features = features.baseAddress, let values = values.baseAddress else {
                        return { _, _ in }
                    }
                    return { instance, phi in
                        Self.accumulate(
                            layout, tree: ensemble.trees[index], instance: instance, features: features, values: values, fail: fail,
                            into: phi)
                    }
                }
            }
        }
    }

    /// Tree by tree, so that one tree's tables serve every instance while they are in cache:
    /// `explainer(tree)` adds that tree's values for one instance into its `phi`, or is nil for
    /// a tree without tables, which `walk(tree, row, phi)` adds instead. Only the rows whose
    /// target is the tree's column take its values.
    static func sweep(
        _ ensemble: TreeEnsemble, instances: [Float], targets: [Int], into phi: inout [Double], context: ExplanationContext,
        walk: (_ tree: Int, _ row: Int, _ phi: UnsafeMutableBufferPointer<Double>) -> Void,
        explainer: (_ tree: Int) -> ((_ instance: UnsafeBufferPointer<Float>, _ phi: UnsafeMutablePointer<Double>) -> Void)?
    ) throws(ExplanationError) {
        let width = ensemble.featureCount
        let rows = targets.count
        for index in ensemble.trees.indices {
            if index % 16 == 15 { try context.checkCancellation() }
            let column = ensemble.treeColumn[index]
            instances.withUnsafeBufferPointer { instances in
                phi.withUnsafeMutableBufferPointer { phi in
                    guard let start = phi.baseAddress else { return }
                    let explain = explainer(index)
                    for row in 0..<rows where targets[row] == column {
                        if let explain {
                            explain(UnsafeBufferPointer(rebasing: instances[(row * width)..<((row + 1) * width)]), start + row * width)
                        } else {
                            walk(index, row, UnsafeMutableBufferPointer(rebasing: phi[(row * width)..<((row + 1) * width)]))
                        }
                    }
                }
            }
        }
    }
}
