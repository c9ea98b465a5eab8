import CandorModel
import CandorTensor
import CandorTestSupport
import Foundation
import Testing

/// What current exporters write: every attribute spelled out at its ONNX default (the dynamo
/// exporter writes `storage_order: 0` on each MaxPool), and optional outputs named but never
/// read. Neither may refuse a model; a node with its defaults spelled out computes what the
/// same node without them computes.
@Suite struct DefaultAttributeTests {
    typealias Attribute = Onnx_AttributeProto

    /// One node of `opType` reading `x` (and the initializers), writing `y`.
    static func load(
        _ opType: String, _ attributes: [Attribute], input: [Int?], extraInputs: [String] = [], initializers: [Onnx_TensorProto] = [],
        outputs: [String] = ["y"], graphOutputs: [String] = ["y"], opset: Int = 13
    ) throws -> ONNXModel {
        try ONNXModelLoader.load(
            try GraphFactory.model(
                nodes: [GraphFactory.node(opType, ["x"] + extraInputs, outputs, name: "node", attributes: attributes)],
                inputs: [GraphFactory.value("x", input)], outputs: graphOutputs.map { GraphFactory.value($0, [nil]) },
                initializers: initializers, opset: opset))
    }

    static func image() throws -> Tensor {
        try Tensor(shape: [1, 2, 4, 4], scalars: (0..<32).map { Float(($0 * 7) % 11) - 5 })
    }

    /// A node with its defaults spelled out loads and predicts exactly what the bare node does.
    static func expectDefaultsChangeNothing(
        _ opType: String, _ defaults: [Attribute], required: [Attribute] = [], input: Tensor, extraInputs: [String] = [],
        initializers: [Onnx_TensorProto] = [], opset: Int = 13
    ) throws {
        let shape = [nil] + input.shape.dropFirst().map { Optional($0) }
        let bare = try load(opType, required, input: shape, extraInputs: extraInputs, initializers: initializers, opset: opset)
        let spelled = try load(
            opType, required + defaults, input: shape, extraInputs: extraInputs, initializers: initializers, opset: opset)
        #expect(try spelled.predict([input])[0].scalars == bare.predict([input])[0].scalars, "\(opType)")
    }

    @Test func maxPoolLoadsWithAnyStorageOrderWhenItsIndicesAreNotRead() throws {
        let kernel = GraphFactory.intsAttribute("kernel_shape", [2, 2])
        let bare = try Self.load("MaxPool", [kernel], input: [nil, 2, 4, 4])
        for order in [0, 1] {
            let model = try Self.load("MaxPool", [kernel, GraphFactory.intAttribute("storage_order", order)], input: [nil, 2, 4, 4])
            #expect(try model.predict([Self.image()])[0].scalars == bare.predict([Self.image()])[0].scalars)
        }
        // Indices named but read by nothing: still only the pooled values are computed.
        let named = try Self.load(
            "MaxPool", [kernel, GraphFactory.intAttribute("storage_order", 1)], input: [nil, 2, 4, 4], outputs: ["y", "indices"])
        #expect(try named.predict([Self.image()])[0].scalars == bare.predict([Self.image()])[0].scalars)
        #expect(!named.layerNames.contains("indices"))
    }

    @Test func maxPoolIndicesTheGraphReadsAreRefusedByName() throws {
        let error = try #require(
            throws: ModelError.self,
            performing: {
                try Self.load(
                    "MaxPool", [GraphFactory.intsAttribute("kernel_shape", [2, 2])], input: [nil, 2, 4, 4], outputs: ["y", "indices"],
                    graphOutputs: ["y", "indices"])
            })
        #expect(error.code == .unsupportedFeature)
        #expect(error.message.contains("node 'node' (MaxPool)"))
        #expect(error.message.contains("Indices"))
    }

    @Test func dropoutMaskIsRefusedOnlyWhenRead() throws {
        let input = try Tensor(shape: [1, 3], scalars: [1, -2, 3])
        let unread = try Self.load("Dropout", [], input: [nil, 3], outputs: ["y", "mask"])
        #expect(try unread.predict([input])[0].scalars == input.scalars)
        #expect(throws: ModelError.self) {
            try Self.load("Dropout", [], input: [nil, 3], outputs: ["y", "mask"], graphOutputs: ["y", "mask"])
        }
        // Before opset 7 is_test = 1 is inference; its default 0 asks for a random mask.
        let inference = try Self.load("Dropout", [GraphFactory.intAttribute("is_test", 1)], input: [nil, 3], opset: 6)
        #expect(try inference.predict([input])[0].scalars == input.scalars)
        #expect(throws: ModelError.self) { try Self.load("Dropout", [], input: [nil, 3], opset: 6) }
    }

    @Test func windowOperatorsAcceptTheirDefaults() throws {
        let window: [Attribute] = [
            GraphFactory.stringAttribute("auto_pad", "NOTSET"), GraphFactory.intsAttribute("dilations", [1, 1]),
            GraphFactory.intsAttribute("strides", [1, 1]), GraphFactory.intsAttribute("pads", [0, 0, 0, 0]),
        ]
        let kernel = GraphFactory.intsAttribute("kernel_shape", [3, 3])
        try Self.expectDefaultsChangeNothing(
            "MaxPool", window + [GraphFactory.intAttribute("ceil_mode", 0), GraphFactory.intAttribute("storage_order", 0)],
            required: [kernel], input: Self.image())
        try Self.expectDefaultsChangeNothing(
            "AveragePool", window + [GraphFactory.intAttribute("ceil_mode", 0), GraphFactory.intAttribute("count_include_pad", 0)],
            required: [kernel], input: Self.image(), opset: 19)
        let weights = GraphFactory.initializer("W", try Tensor(shape: [2, 2, 3, 3], scalars: (0..<36).map { Float($0 % 5) - 2 }))
        try Self.expectDefaultsChangeNothing(
            "Conv", window + [GraphFactory.intAttribute("group", 1), kernel], input: Self.image(), extraInputs: ["W"],
            initializers: [weights])
        try Self.expectDefaultsChangeNothing(
            "ConvTranspose",
            window + [GraphFactory.intAttribute("group", 1), GraphFactory.intsAttribute("output_padding", [0, 0]), kernel],
            input: Self.image(), extraInputs: ["W"], initializers: [weights])
    }

    @Test func elementwiseAndShapeOperatorsAcceptTheirDefaults() throws {
        let rows = try Tensor(shape: [2, 3], scalars: [0.5, -1, 2, -3, 0.25, 1.5])
        let cases: [(String, [Attribute], Int)] = [
            ("LeakyRelu", [GraphFactory.floatAttribute("alpha", 0.01)], 13),
            ("Elu", [GraphFactory.floatAttribute("alpha", 1)], 13),
            ("HardSigmoid", [GraphFactory.floatAttribute("alpha", 0.2), GraphFactory.floatAttribute("beta", 0.5)], 13),
            ("Gelu", [GraphFactory.stringAttribute("approximate", "none")], 20),
            ("Softmax", [GraphFactory.intAttribute("axis", -1)], 13),
            ("LogSoftmax", [GraphFactory.intAttribute("axis", -1)], 13),
            ("Flatten", [GraphFactory.intAttribute("axis", 1)], 13),
            ("Transpose", [GraphFactory.intsAttribute("perm", [1, 0])], 13),
            ("ReduceMean", [GraphFactory.intAttribute("keepdims", 1), GraphFactory.intAttribute("noop_with_empty_axes", 0)], 18),
            ("ReduceSum", [GraphFactory.intAttribute("keepdims", 1), GraphFactory.intAttribute("noop_with_empty_axes", 0)], 13),
            ("Cast", [GraphFactory.intAttribute("saturate", 1)], 19),
            ("Dropout", [GraphFactory.floatAttribute("ratio", 0.5)], 13),
        ]
        for (opType, defaults, opset) in cases {
            let required = opType == "Cast" ? [GraphFactory.intAttribute("to", 1)] : []
            try Self.expectDefaultsChangeNothing(opType, defaults, required: required, input: rows, opset: opset)
        }
    }

    @Test func gemmAndBatchNormalizationAcceptTheirDefaults() throws {
        let rows = try Tensor(shape: [2, 3], scalars: [0.5, -1, 2, -3, 0.25, 1.5])
        try Self.expectDefaultsChangeNothing(
            "Gemm",
            [
                GraphFactory.floatAttribute("alpha", 1), GraphFactory.floatAttribute("beta", 1), GraphFactory.intAttribute("transA", 0),
                GraphFactory.intAttribute("transB", 0),
            ], input: rows, extraInputs: ["B", "C"],
            initializers: [
                GraphFactory.initializer("B", try Tensor(shape: [3, 2], scalars: [1, 2, 3, 4, 5, 6])),
                GraphFactory.initializer("C", try Tensor(shape: [2], scalars: [0.5, -0.5])),
            ])
        let perChannel = { (name: String, value: Float) in
            GraphFactory.initializer(name, try Tensor(shape: [2], scalars: [value, value + 1]))
        }
        try Self.expectDefaultsChangeNothing(
            "BatchNormalization",
            [
                GraphFactory.floatAttribute("epsilon", 1e-5), GraphFactory.floatAttribute("momentum", 0.9),
                GraphFactory.intAttribute("training_mode", 0),
            ], input: Self.image(), extraInputs: ["scale", "bias", "mean", "var"],
            initializers: [try perChannel("scale", 1), try perChannel("bias", 0), try perChannel("mean", 0.5), try perChannel("var", 2)],
            opset: 15)
    }

    @Test func normalizationAndResizeAcceptTheirDefaults() throws {
        let rows = try Tensor(shape: [2, 3], scalars: [0.5, -1, 2, -3, 0.25, 1.5])
        try Self.expectDefaultsChangeNothing(
            "LayerNormalization",
            [
                GraphFactory.intAttribute("axis", -1), GraphFactory.floatAttribute("epsilon", 1e-5),
                GraphFactory.intAttribute("stash_type", 1),
            ], input: rows, extraInputs: ["scale"],
            initializers: [GraphFactory.initializer("scale", try Tensor(shape: [3], scalars: [1, 2, 0.5]))], opset: 17)
        let scales = GraphFactory.initializer("scales", try Tensor(shape: [4], scalars: [1, 1, 2, 2]))
        let roi = GraphFactory.initializer("roi", try Tensor(shape: [0], scalars: []))
        try Self.expectDefaultsChangeNothing(
            "Resize",
            [
                GraphFactory.stringAttribute("mode", "nearest"),
                GraphFactory.stringAttribute("coordinate_transformation_mode", "half_pixel"),
                GraphFactory.stringAttribute("nearest_mode", "round_prefer_floor"), GraphFactory.floatAttribute("cubic_coeff_a", -0.75),
                GraphFactory.intAttribute("exclude_outside", 0), GraphFactory.floatAttribute("extrapolation_value", 0),
                GraphFactory.intAttribute("antialias", 0), GraphFactory.stringAttribute("keep_aspect_ratio_policy", "stretch"),
            ], input: Self.image(), extraInputs: ["roi", "scales"], initializers: [roi, scales], opset: 19)
    }

    /// Before opset 7 element-wise operators took `broadcast` (default 0) and BatchNormalization
    /// `is_test`; the defaults and inference mode load and compute what opset 7+ computes.
    @Test func opsetSixAttributesLoadAtTheirDefaultsAndInInferenceMode() throws {
        let rows = try Tensor(shape: [2, 3], scalars: [0.5, -1, 2, -3, 0.25, 1.5])
        let constant = GraphFactory.initializer("b", try Tensor(shape: [2, 3], scalars: [1, 2, 3, 4, 5, 6]))
        for opType in ["Add", "Sub", "Mul", "Div"] {
            let legacy = try Self.load(
                opType, [GraphFactory.intAttribute("broadcast", 0)], input: [nil, 3], extraInputs: ["b"], initializers: [constant],
                opset: 6)
            let current = try Self.load(opType, [], input: [nil, 3], extraInputs: ["b"], initializers: [constant], opset: 13)
            #expect(try legacy.predict([rows])[0].scalars == current.predict([rows])[0].scalars, "\(opType)")
        }
        #expect(throws: ModelError.self) {
            try Self.load(
                "Add", [GraphFactory.intAttribute("broadcast", 1), GraphFactory.intAttribute("axis", 0)], input: [nil, 3],
                extraInputs: ["b"], initializers: [constant], opset: 6)
        }
        let perChannel = { (name: String, value: Float) in
            GraphFactory.initializer(name, try Tensor(shape: [2], scalars: [value, value + 1]))
        }
        let statistics = [try perChannel("scale", 1), try perChannel("bias", 0), try perChannel("mean", 0.5), try perChannel("var", 2)]
        let names = ["scale", "bias", "mean", "var"]
        let inference = try Self.load(
            "BatchNormalization", [GraphFactory.intAttribute("is_test", 1), GraphFactory.intAttribute("spatial", 1)],
            input: [nil, 2, 4, 4], extraInputs: names, initializers: statistics, opset: 6)
        let current = try Self.load(
            "BatchNormalization", [], input: [nil, 2, 4, 4], extraInputs: names, initializers: statistics, opset: 15)
        #expect(try inference.predict([Self.image()])[0].scalars == current.predict([Self.image()])[0].scalars)
        // is_test's default 0 normalises with the batch's statistics: refused, with the reason.
        let training = try #require(
            throws: ModelError.self,
            performing: {
                try Self.load("BatchNormalization", [], input: [nil, 2, 4, 4], extraInputs: names, initializers: statistics, opset: 6)
            })
        #expect(training.message.contains("training mode"))
    }

    /// An attribute of `operators/default_attributes.json` (onnx.defs' defaults) as a proto.
    static func attribute(_ entry: [String: Any]) throws -> Attribute {
        var attribute = Attribute()
        attribute.name = try #require(entry["name"] as? String)
        let value = entry["value"]
        switch entry["type"] as? String {
        case "int": return GraphFactory.intAttribute(attribute.name, try #require((value as? NSNumber)?.intValue))
        case "float": return GraphFactory.floatAttribute(attribute.name, try #require((value as? NSNumber)?.floatValue))
        case "string": return GraphFactory.stringAttribute(attribute.name, try #require(value as? String))
        case "ints": return GraphFactory.intsAttribute(attribute.name, try #require(value as? [NSNumber]).map(\.intValue))
        case "floats":
            attribute.type = .floats
            attribute.floats = try #require(value as? [NSNumber]).map(\.floatValue)
        case "strings":
            attribute.type = .strings
            attribute.strings = try #require(value as? [String]).map { Data($0.utf8) }
        default: Issue.record("unknown attribute type in \(entry)")
        }
        return attribute
    }

    /// Every version of every supported operator, its defaulted attributes set to their ONNX
    /// defaults: the model may fail to load for want of inputs, but never because of one of
    /// those attributes.
    @Test func noSupportedOperatorRefusesAnAttributeAtItsDefault() throws {
        let entries = try #require(try Fixtures.json("operators/default_attributes.json") as? [[String: Any]])
        let supported = Set(ONNXModelLoader.supportedOperators)
        var checked = 0
        for entry in entries {
            let opType = try #require(entry["op"] as? String)
            let domain = entry["domain"] as? String ?? ""
            let version = try #require(entry["since_version"] as? Int)
            guard supported.contains(domain.isEmpty ? opType : "\(domain).\(opType)") else { continue }
            let attributes = try (entry["attributes"] as? [[String: Any]] ?? []).map(Self.attribute)
            var node = GraphFactory.node(opType, ["x"], ["y"], name: "node", attributes: attributes)
            node.domain = domain
            let bytes = try GraphFactory.model(
                nodes: [node], inputs: [GraphFactory.value("x", [nil, 3])], outputs: [GraphFactory.value("y", [nil])],
                opset: domain.isEmpty ? version : 13, domains: domain.isEmpty ? [:] : [domain: version])
            checked += 1
            do {
                _ = try ONNXModelLoader.load(bytes)
            } catch {
                for name in attributes.map(\.name) {
                    #expect(!error.message.contains("attribute '\(name)'"), "\(opType) v\(version): \(error.message)")
                }
            }
        }
        #expect(checked >= 100)
    }
}
