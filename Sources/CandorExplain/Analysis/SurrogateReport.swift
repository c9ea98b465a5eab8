import Foundation

/// How a surrogate tree reads to a person: one rule per leaf (the conditions on its path, what
/// it predicts, how many training rows it covers) and the tree itself as nested nodes.
struct SurrogateReport {
    let tree: CARTTree
    let problem: AnalysisProblem
    /// The output's number of classes for a classification tree, nil for a regression tree.
    let classes: Int?
    let trainingRows: Int

    /// The class names from the sidecar when it names one per class.
    var classNames: [String]? {
        guard let classes, let names = problem.dataset.classNames, names.count == classes else { return nil }
        return names
    }

    func json(fidelity: Double, trainingFidelity: Double, heldOut: Int) -> JSONValue {
        var result: [String: JSONValue] = [
            "kind": .string(classes == nil ? "regression" : "classification"), "fidelity": .number(fidelity),
            "training_fidelity": .number(trainingFidelity), "depth": .number(Double(tree.depth)),
            "leaves": .number(Double(tree.leafCount)), "training_rows": .number(Double(trainingRows)),
            "held_out_rows": .number(Double(heldOut)), "rules": .array(rules()), "tree": node(0),
        ]
        if let classes { result["classes"] = .array((0..<classes).map(className)) }
        return .object(result)
    }

    private func className(_ index: Int) -> JSONValue {
        classNames.map { .string($0[index]) } ?? .number(Double(index))
    }

    /// What a leaf predicts: a class (by name when known) or a value.
    private func prediction(_ leaf: Int) -> JSONValue {
        let value = tree.prediction(ofLeaf: leaf)
        return classes == nil ? .number(value) : className(Int(value))
    }

    private func leafFields(_ leaf: Int) -> [String: JSONValue] {
        let node = tree.nodes[leaf]
        var fields: [String: JSONValue] = [
            "prediction": prediction(leaf), "samples": .number(Double(node.samples)),
            "coverage": .number(Double(node.samples) / Double(Swift.max(trainingRows, 1))),
        ]
        if classes != nil {
            fields["class_distribution"] = .array(node.value.map { .number($0 / Double(Swift.max(node.samples, 1))) })
        }
        return fields
    }

    /// The tree as nested nodes: {feature, feature_index, threshold, samples, left, right}, or
    /// a leaf's {value (its prediction), samples, coverage, class_distribution}.
    func node(_ index: Int) -> JSONValue {
        let node = tree.nodes[index]
        guard let feature = node.feature else {
            var leaf = leafFields(index)
            leaf["value"] = leaf.removeValue(forKey: "prediction")
            return .object(leaf)
        }
        return .object([
            "feature": .string(problem.featureName(feature)), "feature_index": .number(Double(feature)),
            "threshold": .number(node.threshold), "samples": .number(Double(node.samples)), "left": self.node(node.left),
            "right": self.node(node.right),
        ])
    }

    /// One rule per leaf, left to right: the conditions on its path, keeping for each feature
    /// only the tightest bound on each side (a path may test a feature more than once).
    func rules() -> [JSONValue] {
        var rules: [JSONValue] = []
        struct Bounds {
            var above: Double?
            var atMost: Double?
        }
        func visit(_ index: Int, _ order: [Int], _ bounds: [Int: Bounds]) {
            let node = tree.nodes[index]
            guard let feature = node.feature else {
                var conditions: [JSONValue] = []
                for feature in order {
                    let name = problem.featureName(feature)
                    if let above = bounds[feature]?.above { conditions.append(.string("\(name) > \(Self.format(above))")) }
                    if let atMost = bounds[feature]?.atMost { conditions.append(.string("\(name) <= \(Self.format(atMost))")) }
                }
                var fields = leafFields(index)
                fields["conditions"] = .array(conditions)
                rules.append(.object(fields))
                return
            }
            let order = order.contains(feature) ? order : order + [feature]
            var left = bounds
            left[feature, default: Bounds()].atMost = Swift.min(bounds[feature]?.atMost ?? .infinity, node.threshold)
            visit(node.left, order, left)
            var right = bounds
            right[feature, default: Bounds()].above = Swift.max(bounds[feature]?.above ?? -.infinity, node.threshold)
            visit(node.right, order, right)
        }
        visit(0, [], [:])
        return rules
    }

    /// A threshold to four significant digits, as a reader wants it ("14.11", "0.001235",
    /// "1235", "0.5" without trailing zeros); the tree reports it exactly.
    static func format(_ value: Double) -> String {
        guard value != 0, value.isFinite else { return value.isFinite ? "0" : String(value) }
        let decimals = Swift.max(0, 3 - Int(log10(abs(value)).rounded(.down)))
        var text = String(format: "%.\(Swift.min(decimals, 12))f", value)
        if text.contains(".") {
            while text.hasSuffix("0") { text.removeLast() }
            if text.hasSuffix(".") { text.removeLast() }
        }
        return text
    }
}
