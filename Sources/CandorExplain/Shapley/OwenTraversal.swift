/// SHAP's Partition explainer's traversal (`PartitionExplainer.owen`, 0.51, `fixed_context`
/// None): Owen values over a `FeatureHierarchy`, computed top down. A node is visited with a
/// context (the features switched on around it, m00) and the outputs with the node off and on
/// (f00, f11). Splitting it evaluates each child switched on alone (f10, f01), and each child
/// is then visited twice with half the weight, once in the context without its sibling (f00 →
/// f10) and once with it (f01 → f11): the Shapley value of the two-player game of the
/// children, recursively. A leaf adds its weighted difference to its value.
///
/// The visits wait in a priority queue, the largest weighted change of any output first, so
/// that when `budget` evaluations are spent the nodes still waiting, which keep their whole
/// weighted difference (handed down to their leaves in proportion to size by
/// `FeatureHierarchy.lowered`), are those that matter least. As SHAP's, visits are taken from
/// the queue `batchSize` evaluations at a time, and ties, which SHAP breaks at random, go in
/// the order the visits were queued. When the budget reaches every leaf the order cannot
/// change the values, and the visits are taken a whole queue at a time.
struct OwenTraversal {
    let hierarchy: FeatureHierarchy
    /// SHAP's `max_evals` − 2 (the fully masked and unmasked evaluations are not counted).
    let budget: Int
    /// SHAP's `batch_size`: visits are taken until this many masks are gathered.
    let batchSize: Int

    /// The masks and outputs of one waiting visit.
    private struct Visit {
        let context: [Bool]
        let off: [Double]
        let on: [Double]
        let node: Int
        let weight: Double
    }

    /// Each node's value per output (leaves first), before `lowered` hands merges' down, and
    /// how many masks were evaluated. `evaluate` gives each mask's outputs (a mask is true for
    /// the features switched on).
    func nodeValues(
        empty: [Double], full: [Double], evaluate: ([[Bool]]) throws(ExplanationError) -> [[Double]]
    ) throws(ExplanationError) -> (values: [[Double]], evaluations: Int) {
        let count = hierarchy.count
        let members = hierarchy.members
        var values = [[Double]](repeating: [Double](repeating: 0, count: empty.count), count: 2 * count - 1)
        func credit(_ visit: Visit) {
            for output in values[visit.node].indices { values[visit.node][output] += (visit.on[output] - visit.off[output]) * visit.weight }
        }
        let takeAtOnce = hierarchy.fullTraversalEvaluations <= budget ? Int.max : batchSize
        var queue = VisitQueue<Visit>()
        queue.insert(
            Visit(context: [Bool](repeating: false, count: count), off: empty, on: full, node: hierarchy.root, weight: 1), priority: 0)
        var evaluations = 0
        while !queue.isEmpty {
            if evaluations >= budget {
                while let visit = queue.popFirst() { credit(visit) }
                break
            }
            var splits: [(visit: Visit, left: Int, right: Int, withLeft: [Bool], withRight: [Bool])] = []
            var masks: [[Bool]] = []
            while masks.count < takeAtOnce, evaluations + masks.count < budget, let visit = queue.popFirst() {
                guard let (left, right) = hierarchy.children(of: visit.node) else {
                    credit(visit)
                    continue
                }
                var withLeft = visit.context
                for feature in members[left] { withLeft[feature] = true }
                var withRight = visit.context
                for feature in members[right] { withRight[feature] = true }
                splits.append((visit, left, right, withLeft, withRight))
                masks += [withLeft, withRight]
            }
            guard !masks.isEmpty else { continue }
            let outputs = try evaluate(masks)
            evaluations += masks.count
            for (index, split) in splits.enumerated() {
                let (leftOn, rightOn) = (outputs[2 * index], outputs[2 * index + 1])
                let visit = split.visit
                let weight = visit.weight / 2
                for (context, off, on, node) in [
                    (visit.context, visit.off, leftOn, split.left), (visit.context, visit.off, rightOn, split.right),
                    (split.withRight, rightOn, visit.on, split.left), (split.withLeft, leftOn, visit.on, split.right),
                ] {
                    let change = zip(on, off).map { abs($0 - $1) }.max() ?? 0
                    queue.insert(Visit(context: context, off: off, on: on, node: node, weight: weight), priority: -change * weight)
                }
            }
        }
        return (values, evaluations)
    }
}

/// A binary min-heap on (priority, order queued): the smallest priority first, equals first
/// come first served.
struct VisitQueue<Element> {
    private var entries: [(priority: Double, order: Int, element: Element)] = []
    private var queued = 0

    var isEmpty: Bool { entries.isEmpty }

    mutating func insert(_ element: Element, priority: Double) {
        entries.append((priority, queued, element))
        queued += 1
        var child = entries.count - 1
        while child > 0 {
            let parent = (child - 1) / 2
            guard precedes(child, parent) else { break }
            entries.swapAt(child, parent)
            child = parent
        }
    }

    mutating func popFirst() -> Element? {
        guard !entries.isEmpty else { return nil }
        entries.swapAt(0, entries.count - 1)
        let first = entries.removeLast().element
        var parent = 0
        while true {
            let (left, right) = (2 * parent + 1, 2 * parent + 2)
            var smallest = parent
            if left < entries.count, precedes(left, smallest) { smallest = left }
            if right < entries.count, precedes(right, smallest) { smallest = right }
            guard smallest != parent else { break }
            entries.swapAt(parent, smallest)
            parent = smallest
        }
        return first
    }

    private func precedes(_ first: Int, _ second: Int) -> Bool {
        (entries[first].priority, entries[first].order) < (entries[second].priority, entries[second].order)
    }
}
