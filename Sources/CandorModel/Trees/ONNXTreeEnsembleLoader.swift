import Foundation
import SwiftProtobuf

/// Reads an ONNX graph built around one `ai.onnx.ml` `TreeEnsembleRegressor` or
/// `TreeEnsembleClassifier` node — as skl2onnx and onnxmltools write scikit-learn, XGBoost and
/// LightGBM trees — into a `TreeEnsemble`. Such graphs carry no node covers, so they support
/// every method that only needs predictions and interventional TreeSHAP, but not the
/// path-dependent kind. Each tree is split into one tree per output column it feeds; modes
/// `BRANCH_LEQ`/`BRANCH_GT` compare with ≤ and `BRANCH_LT`/`BRANCH_GTE` with <, the same
/// within a tree; `nodes_missing_value_tracks_true` sends NaN to the true branch. A
/// classifier's `post_transform` may be `NONE` (a forest's averaged votes: the margin is the
/// class scores), `LOGISTIC`, `SOFTMAX` or `SOFTMAX_ZERO`; a binary classifier with one score
/// column reports [1 − t(s), t(s)], as onnxruntime does.
/// https://onnx.ai/onnx/operators/onnx_aionnxml_TreeEnsembleRegressor.html
public enum ONNXTreeEnsembleLoader {
    /// Whether an ONNX file's graph has a tree-ensemble node (so it is loaded here, not as a
    /// differentiable graph).
    public static func holdsTreeEnsemble(_ bytes: Data) -> Bool {
        guard let proto = try? ONNXModelLoader.decodeProto(bytes) else { return false }
        return proto.graph.node.contains { $0.domain == "ai.onnx.ml" && $0.opType.hasPrefix("TreeEnsemble") }
    }

    /// The most nodes over all trees, each tree counted once per output column it feeds.
    public static let maximumNodes = 1 << 24

    public static func load(_ bytes: Data) throws(ModelError) -> TreeEnsemble {
        let proto: Onnx_ModelProto
        do { proto = try ONNXModelLoader.decodeProto(bytes) } catch {
            throw ModelError(.invalidModel, "the file is not a valid ONNX model: \(error)")
        }
        let trees = proto.graph.node.filter { $0.domain == "ai.onnx.ml" && $0.opType.hasPrefix("TreeEnsemble") }
        guard trees.count == 1, let node = trees.first else {
            throw ModelError(
                .unsupportedFeature, "Candor reads ONNX tree models with exactly one TreeEnsemble node; this graph has \(trees.count)")
        }
        // The graph may only feed the tree node its input and turn its outputs into labels,
        // probabilities or maps (which Candor's own outputs replace) — onnxmltools' LightGBM
        // graphs also multiply the probabilities by a constant one.
        let allowed: Set<String> = ["TreeEnsembleRegressor", "TreeEnsembleClassifier", "ZipMap", "Cast", "Identity"]
        let ones = Set(proto.graph.initializer.filter { Self.holdsOnlyOnes($0) }.map(\.name))
        let isMultiplicationByOne = { (node: Onnx_NodeProto) in node.opType == "Mul" && node.input.contains { ones.contains($0) } }
        if let other = proto.graph.node.first(where: { !allowed.contains($0.opType) && !isMultiplicationByOne($0) }) {
            throw ModelError(
                .unsupportedOperator,
                "node '\(other.name)' (\(other.opType)) around the tree ensemble is not supported; Candor reads the ensemble alone")
        }
        guard proto.graph.input.count == 1, let input = proto.graph.input.first,
            let width = input.type.tensorType.shape.dim.last.flatMap({ dimension -> Int? in
                if case .dimValue(let value)? = dimension.value { return Int(exactly: value) }
                return nil
            }), width > 0,
            width <= 1 << 20
        else {
            throw ModelError(.invalidModel, "an ONNX tree model needs one input of shape [N, features] with a fixed feature count")
        }
        var attributes: [String: Onnx_AttributeProto] = [:]
        for attribute in node.attribute { attributes[attribute.name] = attribute }
        func ints(_ name: String) -> [Int] { attributes[name]?.ints.map { Int(clamping: $0) } ?? [] }
        func floats(_ name: String) -> [Double] { attributes[name]?.floats.map(Double.init) ?? [] }
        func strings(_ name: String) -> [String] { attributes[name]?.strings.map { String(decoding: $0, as: UTF8.self) } ?? [] }
        let classifier = node.opType == "TreeEnsembleClassifier"
        let prefix = classifier ? "class" : "target"
        let treeIDs = ints("nodes_treeids")
        let nodeIDs = ints("nodes_nodeids")
        let featureIDs = ints("nodes_featureids")
        let values = floats("nodes_values")
        let modes = strings("nodes_modes")
        let trueIDs = ints("nodes_truenodeids")
        let falseIDs = ints("nodes_falsenodeids")
        let missingTrue = ints("nodes_missing_value_tracks_true")
        let count = treeIDs.count
        guard count > 0,
            [nodeIDs.count, featureIDs.count, values.count, modes.count, trueIDs.count, falseIDs.count].allSatisfy({ $0 == count }),
            missingTrue.isEmpty || missingTrue.count == count
        else {
            throw ModelError(.invalidModel, "the tree ensemble's node attributes are missing or differ in length")
        }
        let weightTrees = ints("\(prefix)_treeids")
        let weightNodes = ints("\(prefix)_nodeids")
        let weightColumns = ints("\(prefix)_ids")
        let weights = floats("\(prefix)_weights")
        guard !weights.isEmpty, [weightTrees.count, weightNodes.count, weightColumns.count].allSatisfy({ $0 == weights.count }) else {
            throw ModelError(.invalidModel, "the tree ensemble's leaf weights are missing or differ in length")
        }
        guard weightColumns.allSatisfy({ (0..<10_000).contains($0) }) else {
            throw ModelError(.invalidModel, "the tree ensemble's leaf weights name invalid outputs")
        }
        let columns = (weightColumns.max() ?? 0) + 1
        var base = floats("base_values")
        if base.isEmpty { base = Array(repeating: 0, count: columns) }
        guard base.count == columns else {
            throw ModelError(.invalidModel, "base_values has \(base.count) entries for \(columns) outputs")
        }
        let postTransform = attributes["post_transform"].map { String(decoding: $0.s, as: UTF8.self) } ?? "NONE"
        let transform: TreeEnsemble.Transform
        switch (postTransform, classifier) {
        case ("NONE", false): transform = .identity
        case ("NONE", true): transform = .scores
        case ("LOGISTIC", true): transform = .logistic
        case ("SOFTMAX", true) where columns > 1: transform = .softmax
        case ("SOFTMAX_ZERO", true) where columns > 1: transform = .softmaxZero
        default:
            throw ModelError(
                .unsupportedFeature, "post_transform \(postTransform) of \(node.opType) with \(columns) output columns is not supported")
        }
        let aggregate = attributes["aggregate_function"].map { String(decoding: $0.s, as: UTF8.self) } ?? "SUM"
        guard aggregate == "SUM" || aggregate == "AVERAGE" else {
            throw ModelError(.unsupportedFeature, "aggregate_function \(aggregate) is not supported")
        }
        // Nodes and leaf weights by tree.
        var nodesByTree: [Int: [Int: Int]] = [:]  // tree → node id → attribute position
        for position in 0..<count { nodesByTree[treeIDs[position], default: [:]][nodeIDs[position]] = position }
        var leafWeights: [Int: [Int: [Int: Double]]] = [:]  // tree → node → column → weight
        for index in weights.indices {
            leafWeights[weightTrees[index], default: [:]][weightNodes[index], default: [:]][weightColumns[index], default: 0] +=
                weights[index]
        }
        let scale = aggregate == "AVERAGE" ? 1 / Double(max(nodesByTree.count, 1)) : 1
        var result: [DecisionTree] = []
        var resultColumns: [Int] = []
        var totalNodes = 0
        for tree in nodesByTree.keys.sorted() {
            guard let nodes = nodesByTree[tree] else { continue }
            let fed = Set((leafWeights[tree] ?? [:]).values.flatMap(\.keys))
            totalNodes += nodes.count * fed.count
            guard totalNodes <= Self.maximumNodes else {
                throw ModelError(.tooLarge, "the tree ensemble has more than \(Self.maximumNodes) nodes once split by output")
            }
            for column in fed.sorted() {
                do {
                    result.append(
                        try Self.tree(
                            nodes, weights: leafWeights[tree] ?? [:], column: column, scale: scale, featureIDs: featureIDs, values: values,
                            modes: modes, trueIDs: trueIDs, falseIDs: falseIDs, missingTrue: missingTrue, width: width))
                } catch {
                    throw ModelError(.invalidModel, "tree \(tree): \(error)")
                }
                resultColumns.append(column)
            }
        }
        let labels: TreeEnsembleSignature.ClassLabels?
        if classifier {
            // String labels are served by position: Candor's tensors hold numbers.
            let declared = attributes["classlabels_int64s"]?.ints ?? strings("classlabels_strings").indices.map { Int64($0) }
            labels = TreeEnsembleSignature.ClassLabels(labels: declared, binaryThreshold: weights.allSatisfy { $0 >= 0 } ? 0.5 : 0)
        } else {
            labels = nil
        }
        let signature = TreeEnsembleSignature.declared(
            input: input.name, outputs: try Self.declaredOutputs(proto.graph, treeNode: node), classLabels: labels)
        return try TreeEnsemble(
            trees: result, treeColumn: resultColumns, baseMargin: base, featureCount: width, transform: transform, signature: signature)
    }

    /// The graph's outputs, each traced back through the `Identity`, `Cast`, `ZipMap` and
    /// multiplications by one that converters put after the tree node, to the node output it
    /// carries: a classifier's label (its first output) or scores (its second), a regressor's
    /// prediction. A `ZipMap`'s dictionaries are served as the tensor of class scores.
    private static func declaredOutputs(
        _ graph: Onnx_GraphProto, treeNode: Onnx_NodeProto
    ) throws(ModelError) -> [TreeEnsembleSignature.Output] {
        var producers: [String: Onnx_NodeProto] = [:]
        for node in graph.node { for output in node.output { producers[output] = node } }
        let ones = Set(graph.initializer.filter { Self.holdsOnlyOnes($0) }.map(\.name))
        let isClassifier = treeNode.opType == "TreeEnsembleClassifier"
        var outputs: [TreeEnsembleSignature.Output] = []
        for output in graph.output {
            var name = output.name
            var steps = 0
            while treeNode.output.firstIndex(of: name) == nil {
                guard steps < graph.node.count, let producer = producers[name],
                    let next = producer.input.first(where: { !ones.contains($0) })
                else {
                    throw ModelError(
                        .unsupportedFeature, "graph output '\(output.name)' is not computed from the tree ensemble's outputs")
                }
                name = next
                steps += 1
            }
            let position = treeNode.output.firstIndex(of: name) ?? 0
            outputs.append(TreeEnsembleSignature.Output(name: output.name, content: isClassifier && position == 0 ? .label : .scores))
        }
        guard Set(outputs.map(\.name)).count == outputs.count, !outputs.isEmpty else {
            throw ModelError(.invalidModel, "the graph's outputs need distinct names")
        }
        return outputs
    }

    /// Whether an initializer is a float tensor whose every element is 1.
    private static func holdsOnlyOnes(_ tensor: Onnx_TensorProto) -> Bool {
        guard tensor.dataType == Int32(Onnx_TensorProto.DataType.float.rawValue) else { return false }
        if !tensor.floatData.isEmpty { return tensor.floatData.allSatisfy { $0 == 1 } }
        let raw = [UInt8](tensor.rawData)
        guard !raw.isEmpty, raw.count % 4 == 0 else { return false }
        return stride(from: 0, to: raw.count, by: 4).allSatisfy { offset in
            Float(
                bitPattern: UInt32(raw[offset]) | UInt32(raw[offset + 1]) << 8 | UInt32(raw[offset + 2]) << 16 | UInt32(raw[offset + 3])
                    << 24)
                == 1
        }
    }

    struct Invalid: Error, CustomStringConvertible {
        let description: String
    }

    /// One tree's nodes, renumbered breadth-first from its root (id 0) so that children come
    /// after their parent, with the leaf values of one output column and zero covers.
    private static func tree(
        _ nodes: [Int: Int], weights: [Int: [Int: Double]], column: Int, scale: Double, featureIDs: [Int], values: [Double],
        modes: [String], trueIDs: [Int], falseIDs: [Int], missingTrue: [Int], width: Int
    ) throws -> DecisionTree {
        guard nodes[0] != nil else { throw Invalid(description: "no root node 0") }
        var order: [Int] = [0]
        var number: [Int: Int] = [0: 0]
        var cursor = 0
        while cursor < order.count {
            guard let position = nodes[order[cursor]] else { throw Invalid(description: "node \(order[cursor]) is referenced but missing") }
            if modes[position] != "LEAF" {
                for child in [trueIDs[position], falseIDs[position]] where number[child] == nil {
                    guard order.count < nodes.count else { throw Invalid(description: "the nodes do not form a tree") }
                    number[child] = order.count
                    order.append(child)
                }
            }
            cursor += 1
        }
        var inclusive: Bool?
        var left: [Int] = []
        var right: [Int] = []
        var feature: [Int] = []
        var threshold: [Double] = []
        var defaultLeft: [Bool] = []
        var value: [Double] = []
        for id in order {
            guard let position = nodes[id] else { throw Invalid(description: "node \(id) is missing") }
            let mode = modes[position]
            if mode == "LEAF" {
                left.append(-1)
                right.append(-1)
                feature.append(0)
                threshold.append(0)
                defaultLeft.append(false)
                value.append((weights[id]?[column] ?? 0) * scale)
                continue
            }
            // The true branch goes left for ≤ and <; for > and ≥ the false one does.
            let (isInclusive, trueGoesLeft): (Bool, Bool) =
                switch mode {
                case "BRANCH_LEQ": (true, true)
                case "BRANCH_LT": (false, true)
                case "BRANCH_GT": (true, false)
                case "BRANCH_GTE": (false, false)
                default: throw Invalid(description: "node mode \(mode) is not supported")
                }
            if let inclusive, inclusive != isInclusive { throw Invalid(description: "a tree mixes ≤ and < comparisons") }
            inclusive = isInclusive
            let trueChild = number[trueIDs[position]] ?? 0
            let falseChild = number[falseIDs[position]] ?? 0
            left.append(trueGoesLeft ? trueChild : falseChild)
            right.append(trueGoesLeft ? falseChild : trueChild)
            feature.append(featureIDs[position])
            threshold.append(Double(Float(values[position])))
            // NaN takes the true branch when tracked, else fails the comparison: the false one.
            let nanGoesTrue = !missingTrue.isEmpty && missingTrue[position] != 0
            defaultLeft.append(nanGoesTrue == trueGoesLeft)
            value.append(0)
        }
        return try DecisionTree(
            left: left, right: right, feature: feature, threshold: threshold, inclusive: inclusive ?? true, defaultLeft: defaultLeft,
            value: value, cover: Array(repeating: 0, count: order.count), featureCount: width)
    }
}
