import CandorModel

/// Path-dependent TreeSHAP: the exact SHAP values of one tree's output in polynomial time
/// (Lundberg, Erion & Lee, "Consistent Individualized Feature Attribution for Tree
/// Ensembles", 2018, Algorithm 2). Walking down the tree it keeps, for the features on the
/// path, the proportion of subsets of each size that flow through the path — `zero` for the
/// share of the training data (cover) that follows the path when the feature is absent, `one`
/// for whether x follows it when present — and at each leaf credits every feature on the
/// path with its marginal contribution weighted over subset sizes.
enum TreeShapAlgorithm {
    struct PathElement {
        var feature: Int
        var zero: Double
        var one: Double
        var weight: Double
    }

    /// A feature held out of the game: always present (x's branch) or always absent (both
    /// branches, weighted by cover). SHAP interaction values compare the two.
    struct Condition {
        let feature: Int
        let present: Bool
    }

    /// Adds `tree`'s SHAP values for `instance` into `phi` (one entry per feature); with a
    /// `condition`, those of the game in which that feature is fixed present or absent.
    static func accumulate(_ tree: DecisionTree, instance: ArraySlice<Float>, condition: Condition? = nil, into phi: inout [Double]) {
        phi.withUnsafeMutableBufferPointer { phi in accumulate(tree, instance: instance, condition: condition, into: phi) }
    }

    /// Adds `tree`'s SHAP values for `instance` into `phi`, as above.
    static func accumulate(
        _ tree: DecisionTree, instance: ArraySlice<Float>, condition: Condition? = nil, into phi: UnsafeMutableBufferPointer<Double>
    ) {
        // Each level of the walk keeps its own copy of the path after its parent's: at most
        // (depth + 2)(depth + 3)/2 elements in all, allocated once per tree.
        let capacity = (tree.depth + 2) * (tree.depth + 3) / 2
        let buffer = UnsafeMutablePointer<PathElement>.allocate(capacity: capacity)
        defer { buffer.deallocate() }
        let walker = Walker(tree: tree, instance: instance, condition: condition, phi: phi)
        walker.recurse(node: 0, parent: buffer, parentLength: 0, zero: 1, one: 1, feature: -1, extending: true, fraction: 1)
    }

    /// One walk of a tree for one instance.
    private struct Walker {
        let tree: DecisionTree
        let instance: ArraySlice<Float>
        let condition: Condition?
        let phi: UnsafeMutableBufferPointer<Double>

        /// RECURSE: this node's path is its parent's (copied after it in the buffer) extended by
        /// the edge into the node — unless that edge splits on the held-out feature.
        func recurse(
            node: Int, parent: UnsafeMutablePointer<PathElement>, parentLength: Int, zero: Double, one: Double, feature: Int,
            extending: Bool, fraction: Double
        ) {
            guard fraction != 0 else { return }
            let path = parent + parentLength
            path.update(from: parent, count: parentLength)
            var length = parentLength
            if extending { TreeShapAlgorithm.extend(path, &length, zero: zero, one: one, feature: feature) }
            if tree.isLeaf(node) {
                let value = tree.value[node] * fraction
                for index in 1..<length {
                    let weight = TreeShapAlgorithm.unwoundSum(path, length, index)
                    phi[path[index].feature] += weight * (path[index].one - path[index].zero) * value
                }
                return
            }
            let split = tree.feature[node]
            let hot = tree.child(of: node, for: instance[instance.startIndex + split])
            let cold = hot == tree.left[node] ? tree.right[node] : tree.left[node]
            let cover = tree.cover[node]
            let hotShare = cover > 0 ? tree.cover[hot] / cover : 0
            let coldShare = cover > 0 ? tree.cover[cold] / cover : 0
            // The held-out feature is not a player: it does not enter the path.
            if let condition, condition.feature == split {
                if condition.present {
                    recurse(
                        node: hot, parent: path, parentLength: length, zero: 1, one: 1, feature: split, extending: false, fraction: fraction
                    )
                } else {
                    recurse(
                        node: hot, parent: path, parentLength: length, zero: 1, one: 1, feature: split, extending: false,
                        fraction: fraction * hotShare)
                    recurse(
                        node: cold, parent: path, parentLength: length, zero: 1, one: 1, feature: split, extending: false,
                        fraction: fraction * coldShare)
                }
                return
            }
            var incomingZero = 1.0
            var incomingOne = 1.0
            // A feature already on the path: undo its earlier extension and combine the fractions.
            if let previous = (1..<max(length, 1)).first(where: { path[$0].feature == split }) {
                incomingZero = path[previous].zero
                incomingOne = path[previous].one
                TreeShapAlgorithm.unwind(path, &length, previous)
            }
            recurse(
                node: hot, parent: path, parentLength: length, zero: incomingZero * hotShare, one: incomingOne, feature: split,
                extending: true, fraction: fraction)
            recurse(
                node: cold, parent: path, parentLength: length, zero: incomingZero * coldShare, one: 0, feature: split, extending: true,
                fraction: fraction)
        }
    }

    /// EXTEND: grow the path by one feature, updating the subset-size weights.
    static func extend(_ path: UnsafeMutablePointer<PathElement>, _ length: inout Int, zero: Double, one: Double, feature: Int) {
        let count = length
        path[count] = PathElement(feature: feature, zero: zero, one: one, weight: count == 0 ? 1 : 0)
        for index in stride(from: count - 1, through: 0, by: -1) {
            path[index + 1].weight += one * path[index].weight * Double(index + 1) / Double(count + 1)
            path[index].weight = zero * path[index].weight * Double(count - index) / Double(count + 1)
        }
        length = count + 1
    }

    /// UNWIND: remove element `index` from the path, undoing its extension.
    static func unwind(_ path: UnsafeMutablePointer<PathElement>, _ length: inout Int, _ index: Int) {
        let last = length - 1
        let one = path[index].one
        let zero = path[index].zero
        var next = path[last].weight
        for position in stride(from: last - 1, through: 0, by: -1) {
            if one != 0 {
                let saved = path[position].weight
                path[position].weight = next * Double(last + 1) / (Double(position + 1) * one)
                next = saved - path[position].weight * zero * Double(last - position) / Double(last + 1)
            } else {
                path[position].weight = path[position].weight * Double(last + 1) / (zero * Double(last - position))
            }
        }
        for position in index..<last {
            path[position].feature = path[position + 1].feature
            path[position].zero = path[position + 1].zero
            path[position].one = path[position + 1].one
        }
        length = last
    }

    /// The total weight of the path with element `index` unwound (without building it).
    static func unwoundSum(_ path: UnsafeMutablePointer<PathElement>, _ length: Int, _ index: Int) -> Double {
        let last = length - 1
        let one = path[index].one
        let zero = path[index].zero
        var next = path[last].weight
        var total = 0.0
        for position in stride(from: last - 1, through: 0, by: -1) {
            if one != 0 {
                let weight = next * Double(last + 1) / (Double(position + 1) * one)
                total += weight
                next = path[position].weight - weight * zero * Double(last - position) / Double(last + 1)
            } else {
                total += path[position].weight / zero * Double(last + 1) / Double(last - position)
            }
        }
        return total
    }
}

/// Interventional TreeSHAP for one reference row (Lundberg et al., "From local explanations to
/// global understanding with explainable AI for trees", 2020): the exact Shapley values of
/// v(S) = f(x_S, b_∖S). Down the tree, a split whose feature sends x and b the same way is
/// followed once; otherwise both ways, the feature taken from x on one side and from b on the
/// other (and kept so if it splits again). A leaf reached with the features P from x and N
/// from b counts only for coalitions containing P and avoiding N, so each feature of P gains
/// v·(|P|−1)!|N|!/(|P|+|N|)! and each of N loses v·|P|!(|N|−1)!/(|P|+|N|)!.
enum InterventionalTreeShap {
    static func accumulate(
        _ tree: DecisionTree, instance: ArraySlice<Float>, reference: ArraySlice<Float>, into phi: UnsafeMutableBufferPointer<Double>
    ) {
        var fromInstance: [Int] = []
        var fromReference: [Int] = []
        fromInstance.reserveCapacity(tree.depth)
        fromReference.reserveCapacity(tree.depth)
        recurse(
            tree, node: 0, instance: instance, reference: reference, fromInstance: &fromInstance, fromReference: &fromReference, phi: phi)
    }

    private static func recurse(
        _ tree: DecisionTree, node: Int, instance: ArraySlice<Float>, reference: ArraySlice<Float>, fromInstance: inout [Int],
        fromReference: inout [Int], phi: UnsafeMutableBufferPointer<Double>
    ) {
        if tree.isLeaf(node) {
            let (p, n) = (fromInstance.count, fromReference.count)
            guard p + n > 0 else { return }
            let value = tree.value[node]
            if p > 0 {
                let gain = value * factorialRatio(p - 1, n)
                for feature in fromInstance { phi[feature] += gain }
            }
            if n > 0 {
                let loss = value * factorialRatio(p, n - 1)
                for feature in fromReference { phi[feature] -= loss }
            }
            return
        }
        let feature = tree.feature[node]
        let viaInstance = tree.child(of: node, for: instance[instance.startIndex + feature])
        let viaReference = tree.child(of: node, for: reference[reference.startIndex + feature])
        if fromInstance.contains(feature) || viaInstance == viaReference {
            recurse(
                tree, node: viaInstance, instance: instance, reference: reference, fromInstance: &fromInstance,
                fromReference: &fromReference, phi: phi)
        } else if fromReference.contains(feature) {
            recurse(
                tree, node: viaReference, instance: instance, reference: reference, fromInstance: &fromInstance,
                fromReference: &fromReference, phi: phi)
        } else {
            fromInstance.append(feature)
            recurse(
                tree, node: viaInstance, instance: instance, reference: reference, fromInstance: &fromInstance,
                fromReference: &fromReference, phi: phi)
            fromInstance.removeLast()
            fromReference.append(feature)
            recurse(
                tree, node: viaReference, instance: instance, reference: reference, fromInstance: &fromInstance,
                fromReference: &fromReference, phi: phi)
            fromReference.removeLast()
        }
    }

    /// a! b! / (a + b + 1)!
    static func factorialRatio(_ a: Int, _ b: Int) -> Double {
        // a! b! / (a+b+1)! = 1 / ((a+b+1) · C(a+b, a))
        var binomial = 1.0
        for step in 0..<min(a, b) { binomial = binomial * Double(a + b - step) / Double(step + 1) }
        return 1 / (Double(a + b + 1) * binomial)
    }
}
