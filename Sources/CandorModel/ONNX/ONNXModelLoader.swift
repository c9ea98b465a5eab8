import CandorTensor
import Foundation
import SwiftProtobuf

/// Loads an ONNX file into an ``ONNXModel``: parses it with swift-protobuf, decodes the
/// weights (in the file or in external data files), builds one ``Operator`` per node and
/// validates the whole graph by running it once on a dummy batch, so that every problem —
/// an unsupported operator or attribute, a missing weight, shapes that do not fit — is found
/// at load time and named, never at request time.
public enum ONNXModelLoader {
    /// The most tensor elements loading may hold at once: the weights and folded constants,
    /// and separately every activation of the validating trial run (1 GiB of floats each).
    /// A few kilobytes of hostile graph could otherwise ask for any amount of memory.
    public static let defaultElementBudget = 1 << 28

    /// Loads a model from the bytes of an `.onnx` file.
    public static func load(
        _ bytes: Data, externalData: ExternalDataResolver = ExternalDataResolver(.none), elementBudget: Int = defaultElementBudget
    ) throws(ModelError) -> ONNXModel {
        let proto: Onnx_ModelProto
        do {
            proto = try decodeProto(bytes)
        } catch {
            throw ModelError(.invalidModel, "the file is not a valid ONNX model (protobuf decoding failed: \(error))")
        }
        guard proto.hasGraph, proto.irVersion > 0 else {
            throw ModelError(.invalidModel, "the file is not an ONNX model: it has no graph or IR version")
        }
        guard let opset = proto.opsetImport.first(where: { $0.domain.isEmpty || $0.domain == "ai.onnx" }) else {
            throw ModelError(.invalidModel, "the model imports no version of the default ONNX operator set")
        }
        guard let opsetVersion = Int(exactly: opset.version), opsetVersion >= 1 else {
            throw ModelError(.invalidModel, "the model imports invalid opset version \(opset.version)")
        }
        var builder = GraphBuilder(
            graph: proto.graph, opset: opsetVersion, decoder: TensorDecoder(externalData: externalData), elementBudget: elementBudget)
        let graph = try builder.build()
        return try ONNXModel(
            graph: graph.graph, inputs: graph.inputs, outputNames: graph.outputNames, opset: opsetVersion, producer: proto.producerName,
            elementBudget: elementBudget)
    }

    /// The protobuf of an `.onnx` file, nesting bounded so a hostile file cannot exhaust the stack.
    static func decodeProto(_ bytes: Data) throws -> Onnx_ModelProto {
        var options = BinaryDecodingOptions()
        options.messageDepthLimit = 64
        return try Onnx_ModelProto(serializedBytes: bytes, options: options)
    }

    /// Loads `NAME.onnx` from disk, resolving external data beside it.
    public static func load(contentsOf url: URL) throws(ModelError) -> ONNXModel {
        let bytes: Data
        do { bytes = try Data(contentsOf: url, options: .alwaysMapped) } catch {
            throw ModelError(.invalidModel, "cannot read \(url.lastPathComponent): \(error.localizedDescription)")
        }
        return try load(bytes, externalData: ExternalDataResolver(.directory(url.deletingLastPathComponent())))
    }

    /// The operators a model may use.
    public static var supportedOperators: [String] { OperatorRegistry.supportedOperators }
}

/// Walks the graph proto once, assigning slots and building operators.
private struct GraphBuilder {
    let graph: Onnx_GraphProto
    let opset: Int
    let decoder: TensorDecoder

    let elementBudget: Int

    var slotNames: [String] = []
    var slotIndex: [String: Int] = [:]
    var constants: [GraphValue?] = []
    var constantElements = 0

    init(graph: Onnx_GraphProto, opset: Int, decoder: TensorDecoder, elementBudget: Int) {
        self.graph = graph
        self.opset = opset
        self.decoder = decoder
        self.elementBudget = elementBudget
    }

    mutating func slot(for name: String, value: GraphValue?) throws(ModelError) -> Int {
        guard slotIndex[name] == nil else {
            throw ModelError(.invalidModel, "tensor '\(name)' is defined more than once")
        }
        if let value {
            constantElements += value.shape.reduce(1, *)
            guard constantElements <= elementBudget else {
                throw ModelError(.tooLarge, "the model's weights and constants exceed \(elementBudget) elements (at tensor '\(name)')")
            }
        }
        slotIndex[name] = slotNames.count
        slotNames.append(name)
        constants.append(value)
        return slotNames.count - 1
    }

    mutating func build() throws(ModelError) -> (graph: ComputationGraph, inputs: [TensorInfo], outputNames: [String]) {
        guard graph.sparseInitializer.isEmpty else {
            throw ModelError(.unsupportedFeature, "the graph has sparse initializers, which Candor does not support")
        }
        for initializer in graph.initializer {
            guard !initializer.name.isEmpty else { throw ModelError(.invalidModel, "an initializer has no name") }
            _ = try slot(for: initializer.name, value: try decoder.decode(initializer))
        }

        // Graph inputs that are also initializers (older exporters list weights as inputs)
        // are constants, not something a client provides.
        var inputs: [TensorInfo] = []
        var inputSlots: [Int] = []
        for input in graph.input where slotIndex[input.name] == nil {
            let info = try Self.inputInfo(input)
            inputs.append(info)
            inputSlots.append(try slot(for: input.name, value: nil))
        }

        // Every tensor name something reads: a node's input or a graph output. An optional
        // output (position ≥ 1) outside this set is left uncomputed.
        let consumedNames = Set(graph.node.flatMap(\.input) + graph.output.map(\.name))
        var steps: [ComputationGraph.Step] = []
        for (index, node) in graph.node.enumerated() {
            let identity = NodeIdentity(name: node.name.isEmpty ? "#\(index)" : node.name, operatorType: node.opType)
            guard let domainFactories = OperatorRegistry.factories(forDomain: node.domain) else {
                throw ModelError(
                    .unsupportedOperator,
                    "\(identity) is from operator domain '\(node.domain)', which Candor does not implement; supported operators: \(OperatorRegistry.supportedOperators.joined(separator: ", "))"
                )
            }
            guard let factory = domainFactories[node.opType] else {
                throw ModelError(
                    .unsupportedOperator,
                    "\(identity) uses operator \(node.opType), which Candor does not implement; supported operators: \(OperatorRegistry.supportedOperators.joined(separator: ", "))"
                )
            }
            var inputSlots: [Int?] = []
            for name in node.input {
                if name.isEmpty {
                    inputSlots.append(nil)
                } else if let slot = slotIndex[name] {
                    inputSlots.append(slot)
                } else {
                    throw ModelError(.missingValue, "\(identity) reads '\(name)', which no input, initializer or earlier node defines")
                }
            }
            var attributes = try NodeAttributes(node.attribute, node: identity)
            let consumed = node.output.enumerated().map { position, name in
                !name.isEmpty && (position == 0 || consumedNames.contains(name))
            }
            let context = OperatorContext(
                node: identity, opset: opset, constantInputs: inputSlots.map { $0.flatMap { constants[$0] } },
                consumedOutputs: consumed)
            let op = try factory(&attributes, context, decoder)
            if let unread = attributes.unreadNames.first {
                throw ModelError(
                    .unsupportedAttribute, "\(identity) has attribute '\(unread)', which Candor's \(node.opType) does not implement")
            }

            // A node whose inputs are all known now is evaluated once, here (constant folding).
            let isConstant = inputSlots.allSatisfy { $0.map { constants[$0] != nil } ?? true }
            var folded: [GraphValue]?
            if isConstant {
                do { folded = try op.forward(context.constantInputs) } catch { throw ModelError.atNode(identity, error) }
            }
            var outputSlots: [Int?] = []
            for (position, name) in node.output.enumerated() {
                if !consumed[position] {
                    // The name stays reserved (defined once), but nothing computes or reads it.
                    if !name.isEmpty { _ = try slot(for: name, value: nil) }
                    outputSlots.append(nil)
                } else {
                    let value = folded.flatMap { position < $0.count ? $0[position] : nil }
                    if folded != nil && value == nil {
                        throw ModelError(.inconsistentShapes, "\(identity) produced no value for output '\(name)'")
                    }
                    outputSlots.append(try slot(for: name, value: value))
                }
            }
            if !isConstant {
                steps.append(.init(node: identity, op: op, inputs: inputSlots, outputs: outputSlots))
            }
        }

        var outputSlots: [Int] = []
        if let repeated = Dictionary(grouping: graph.output.map(\.name), by: { $0 }).first(where: { $1.count > 1 })?.key {
            throw ModelError(.invalidModel, "graph output '\(repeated)' is listed more than once")
        }
        for output in graph.output {
            guard let slot = slotIndex[output.name] else {
                throw ModelError(.missingValue, "graph output '\(output.name)' is not produced by any node")
            }
            outputSlots.append(slot)
        }
        guard !outputSlots.isEmpty else { throw ModelError(.invalidModel, "the graph has no outputs") }
        let computation = ComputationGraph(
            slotNames: slotNames, constants: constants, steps: ComputationGraph.markingSiLUPairs(steps), inputSlots: inputSlots,
            outputSlots: outputSlots)
        return (computation, inputs, graph.output.map(\.name))
    }

    /// The declared type and shape of a graph input; Candor needs float32 inputs (or int64
    /// ones, such as a text model's token ids and attention mask) of known rank.
    static func inputInfo(_ input: Onnx_ValueInfoProto) throws(ModelError) -> TensorInfo {
        guard case .tensorType(let tensorType)? = input.type.value else {
            throw ModelError(.unsupportedFeature, "input '\(input.name)' is not a tensor")
        }
        let elementType: ElementType
        switch Onnx_TensorProto.DataType(rawValue: Int(tensorType.elemType)) {
        case .float?: elementType = .float32
        case .int64?: elementType = .int64
        case let other:
            throw ModelError(
                .unsupportedFeature,
                "input '\(input.name)' has element type \(other ?? .undefined); Candor's inputs must be float32 or int64")
        }
        guard tensorType.hasShape else {
            throw ModelError(
                .unsupportedFeature, "input '\(input.name)' declares no shape; Candor needs at least its rank, with a batch axis first")
        }
        var shape: [Dimension] = []
        for (axis, dim) in tensorType.shape.dim.enumerated() {
            switch dim.value {
            case .dimValue(let value)?:
                guard let extent = Int(exactly: value), extent > 0, extent <= Tensor.maximumElementCount else {
                    throw ModelError(.invalidModel, "input '\(input.name)' has invalid extent \(value) on axis \(axis)")
                }
                shape.append(.fixed(extent))
            case .dimParam(let name)?:
                shape.append(.symbolic(name.isEmpty ? "N" : name))
            case nil:
                shape.append(.symbolic(axis == 0 ? "N" : "d\(axis)"))
            }
        }
        return TensorInfo(name: input.name, elementType: elementType, shape: shape)
    }
}
