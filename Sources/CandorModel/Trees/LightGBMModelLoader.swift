import Foundation

/// Reads LightGBM's text model format (`Booster.save_model("model.txt")`) into a
/// `TreeEnsemble`. It keeps what ONNX conversions drop — each node's training-row count
/// (`internal_count`, `leaf_count`), the cover path-dependent TreeSHAP needs. Splits send x
/// left when x ≤ threshold, in double precision, with each split's missing-value rule from
/// its `decision_type` (bit 1: default left; bits 2–3: none, zero or NaN). There is no base
/// score: the raw score is the sum of the leaves. Categorical splits and linear trees are
/// refused, naming the tree.
public enum LightGBMModelLoader {
    /// The largest model file read (bytes).
    public static let maximumBytes = 512 << 20

    public static func load(_ data: Data) throws(ModelError) -> TreeEnsemble {
        guard data.count <= maximumBytes else {
            throw ModelError(.tooLarge, "the LightGBM model has \(data.count) bytes, more than the \(maximumBytes) read")
        }
        let text = String(decoding: data, as: UTF8.self)
        var header: [String: String] = [:]
        var blocks: [[String: String]] = []
        var current: [String: String]?
        var complete = false
        for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
            let line = line.trimmingCharacters(in: .whitespaces)
            if line.hasPrefix("Tree=") {
                if let current { blocks.append(current) }
                current = [:]
                continue
            }
            if line == "end of trees" {
                complete = true
                break
            }
            guard let equals = line.firstIndex(of: "=") else { continue }
            let (key, value) = (String(line[..<equals]), String(line[line.index(after: equals)...]))
            if current != nil { current?[key] = value } else { header[key] = value }
        }
        if let current { blocks.append(current) }
        // A cut-off file would silently lose trees: it must end its tree list, with as many
        // trees as its header's `tree_sizes` announces.
        let announced = header["tree_sizes"]?.split(separator: " ").count
        guard complete, announced == nil || announced == blocks.count else {
            throw ModelError(
                .invalidModel,
                "the LightGBM model is incomplete: \(blocks.count) trees\(announced.map { " of the \($0) announced" } ?? "") and no 'end of trees' line"
            )
        }
        guard text.hasPrefix("tree"), let lastFeature = header["max_feature_idx"].flatMap(Int.init), (0..<(1 << 20)).contains(lastFeature),
            let perIteration = header["num_tree_per_iteration"].flatMap(Int.init), (1...10_000).contains(perIteration), !blocks.isEmpty
        else {
            throw ModelError(
                .invalidModel, "not a LightGBM text model (no header with max_feature_idx and num_tree_per_iteration, or no trees)")
        }
        let features = lastFeature + 1
        let objective = header["objective"] ?? ""
        // Random-forest mode averages the trees; `sqrt` squares the output: not a plain sum.
        if text.contains("\naverage_output\n") || objective.split(separator: " ").contains("sqrt") {
            throw ModelError(.unsupportedFeature, "LightGBM models with average_output or the sqrt transform are not supported")
        }
        let transform: TreeEnsemble.Transform
        switch objective.split(separator: " ").first.map(String.init) ?? "" {
        case "binary":
            guard objective.split(separator: " ").allSatisfy({ !$0.hasPrefix("sigmoid:") || $0 == "sigmoid:1" }) else {
                throw ModelError(.unsupportedFeature, "LightGBM objective '\(objective)': only sigmoid:1 is supported")
            }
            guard perIteration == 1 else {
                throw ModelError(.unsupportedFeature, "a binary LightGBM model with several trees per iteration")
            }
            transform = .logistic
        case "multiclass", "softmax": transform = .softmax
        case "regression", "regression_l1", "huber", "fair", "quantile", "mape": transform = .identity
        default: throw ModelError(.unsupportedFeature, "LightGBM objective '\(objective)' is not supported")
        }
        var trees: [DecisionTree] = []
        for (index, block) in blocks.enumerated() {
            do { trees.append(try tree(block, features: features)) } catch {
                throw ModelError(.invalidModel, "LightGBM tree \(index): \(error)")
            }
        }
        return try TreeEnsemble(
            trees: trees, treeColumn: trees.indices.map { $0 % perIteration }, baseMargin: Array(repeating: 0, count: perIteration),
            featureCount: features, transform: transform)
    }

    struct Invalid: Error, CustomStringConvertible {
        let description: String
    }

    private static func tree(_ block: [String: String], features: Int) throws -> DecisionTree {
        func numbers<T: LosslessStringConvertible>(_ key: String, _ type: T.Type) throws -> [T] {
            guard let text = block[key] else { throw Invalid(description: "no \(key)") }
            let values = text.split(separator: " ").compactMap { T(String($0)) }
            guard values.count == text.split(separator: " ").count else {
                throw Invalid(description: "\(key) holds a value that is not a number")
            }
            return values
        }
        guard let leaves = block["num_leaves"].flatMap(Int.init), (1...(1 << 20)).contains(leaves) else {
            throw Invalid(description: "no usable num_leaves")
        }
        if (block["num_cat"].flatMap(Int.init) ?? 0) > 0 { throw Invalid(description: "categorical splits are not supported") }
        if block["is_linear"] == "1" { throw Invalid(description: "linear trees are not supported") }
        let leafValues = try numbers("leaf_value", Double.self)
        guard leafValues.count == leaves else {
            throw Invalid(description: "leaf_value has \(leafValues.count) entries for \(leaves) leaves")
        }
        let leafCounts = leaves == 1 ? [1.0] : try numbers("leaf_count", Double.self)
        if leaves == 1 {
            return try DecisionTree(
                left: [-1], right: [-1], feature: [0], threshold: [0], inclusive: true, defaultLeft: [false], value: leafValues,
                cover: leafCounts, featureCount: features)
        }
        let splits = leaves - 1
        let splitFeature = try numbers("split_feature", Int.self)
        let threshold = try numbers("threshold", Double.self)
        let decision = try numbers("decision_type", Int.self)
        let leftChild = try numbers("left_child", Int.self)
        let rightChild = try numbers("right_child", Int.self)
        let internalCount = try numbers("internal_count", Double.self)
        guard
            [splitFeature.count, threshold.count, decision.count, leftChild.count, rightChild.count, internalCount.count]
                .allSatisfy({ $0 == splits }), leafCounts.count == leaves
        else {
            throw Invalid(description: "the node arrays do not match num_leaves = \(leaves)")
        }
        // Internal nodes keep their numbers; leaf k becomes node (leaves − 1) + k.
        func node(_ child: Int) throws -> Int {
            guard child >= -leaves else { throw Invalid(description: "child \(child) is out of range") }
            let mapped = child >= 0 ? child : splits + ~child
            guard (0..<(splits + leaves)).contains(mapped) else { throw Invalid(description: "child \(child) is out of range") }
            return mapped
        }
        var missing: [DecisionTree.MissingRule] = []
        for type in decision {
            guard type & 1 == 0 else { throw Invalid(description: "categorical splits are not supported") }
            switch (type >> 2) & 3 {
            case 0: missing.append(.none)
            case 1: missing.append(.zero)
            default: missing.append(.nan)
            }
        }
        return try DecisionTree(
            left: try leftChild.map(node) + Array(repeating: -1, count: leaves),
            right: try rightChild.map(node) + Array(repeating: -1, count: leaves),
            feature: splitFeature + Array(repeating: 0, count: leaves), threshold: threshold + Array(repeating: 0, count: leaves),
            inclusive: true, missing: missing + Array(repeating: .none, count: leaves),
            defaultLeft: decision.map { $0 & 2 != 0 } + Array(repeating: false, count: leaves),
            value: Array(repeating: 0, count: splits) + leafValues, cover: internalCount + leafCounts, featureCount: features)
    }
}
