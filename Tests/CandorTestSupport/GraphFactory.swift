import CandorModel
import CandorTensor
import Foundation
import SwiftProtobuf

/// Builds small ONNX files in memory — the hostile, unsupported and analytic models the tests
/// need beyond the generated fixtures.
package enum GraphFactory {
    /// A float input or output declaration with a symbolic batch axis.
    package static func value(_ name: String, _ shape: [Int?]) -> Onnx_ValueInfoProto {
        var info = Onnx_ValueInfoProto()
        info.name = name
        var tensorType = Onnx_TypeProto.Tensor()
        tensorType.elemType = Int32(Onnx_TensorProto.DataType.float.rawValue)
        var shapeProto = Onnx_TensorShapeProto()
        shapeProto.dim = shape.map { extent in
            var dim = Onnx_TensorShapeProto.Dimension()
            if let extent { dim.dimValue = Int64(extent) } else { dim.dimParam = "N" }
            return dim
        }
        tensorType.shape = shapeProto
        info.type.tensorType = tensorType
        return info
    }

    /// A float initializer stored in `raw_data`.
    package static func initializer(_ name: String, _ tensor: Tensor) -> Onnx_TensorProto {
        var proto = Onnx_TensorProto()
        proto.name = name
        proto.dims = tensor.shape.map(Int64.init)
        proto.dataType = Int32(Onnx_TensorProto.DataType.float.rawValue)
        proto.rawData = tensor.scalars.withUnsafeBufferPointer { Data(buffer: $0) }
        return proto
    }

    package static func node(
        _ opType: String, _ inputs: [String], _ outputs: [String], name: String = "",
        attributes: [Onnx_AttributeProto] = []
    ) -> Onnx_NodeProto {
        var node = Onnx_NodeProto()
        node.opType = opType
        node.input = inputs
        node.output = outputs
        node.name = name
        node.attribute = attributes
        return node
    }

    package static func intAttribute(_ name: String, _ value: Int) -> Onnx_AttributeProto {
        var attribute = Onnx_AttributeProto()
        attribute.name = name
        attribute.type = .int
        attribute.i = Int64(value)
        return attribute
    }

    package static func floatAttribute(_ name: String, _ value: Float) -> Onnx_AttributeProto {
        var attribute = Onnx_AttributeProto()
        attribute.name = name
        attribute.type = .float
        attribute.f = value
        return attribute
    }

    /// Serialises a model with the given graph parts at `opset`, importing the other
    /// operator `domains` at the given versions.
    package static func model(
        nodes: [Onnx_NodeProto], inputs: [Onnx_ValueInfoProto], outputs: [Onnx_ValueInfoProto],
        initializers: [Onnx_TensorProto] = [], opset: Int = 13, domains: [String: Int] = [:]
    ) throws -> Data {
        var graph = Onnx_GraphProto()
        graph.name = "test"
        graph.node = nodes
        graph.input = inputs
        graph.output = outputs
        graph.initializer = initializers
        var model = Onnx_ModelProto()
        model.irVersion = 8
        model.producerName = "candor-tests"
        var import_ = Onnx_OperatorSetIdProto()
        import_.domain = ""
        import_.version = Int64(opset)
        model.opsetImport = [import_]
        for (domain, version) in domains.sorted(by: { $0.key < $1.key }) {
            var other = Onnx_OperatorSetIdProto()
            other.domain = domain
            other.version = Int64(version)
            model.opsetImport.append(other)
        }
        model.graph = graph
        return try model.serializedBytes()
    }

    /// y = x·W + b: the linear model on which integrated gradients, DeepLIFT and SHAP must all
    /// give w ⊙ (x − x′).
    package static func linearModel(weights: [[Float]], bias: [Float]) throws -> Data {
        let inputs = weights.count
        let outputs = bias.count
        return try model(
            nodes: [node("MatMul", ["x", "W"], ["xw"], name: "matmul"), node("Add", ["xw", "b"], ["y"], name: "bias")],
            inputs: [value("x", [nil, inputs])], outputs: [value("y", [nil, outputs])],
            initializers: [
                initializer("W", try Tensor(shape: [inputs, outputs], scalars: weights.flatMap { $0 })),
                initializer("b", try Tensor(shape: [outputs], scalars: bias)),
            ])
    }

    package static func stringAttribute(_ name: String, _ value: String) -> Onnx_AttributeProto {
        var attribute = Onnx_AttributeProto()
        attribute.name = name
        attribute.type = .string
        attribute.s = Data(value.utf8)
        return attribute
    }

    package static func intsAttribute(_ name: String, _ values: [Int]) -> Onnx_AttributeProto {
        var attribute = Onnx_AttributeProto()
        attribute.name = name
        attribute.type = .ints
        attribute.ints = values.map(Int64.init)
        return attribute
    }

    /// A small image classifier, x [N, 1, 6, 6] → Conv(2 filters, 3×3, pad 1) → Relu →
    /// MaxPool(2) → Flatten → Gemm → `logits` [N, 3], with fixed pseudo-random weights; its
    /// intermediate tensors are `conv`, `relu`, `pool` and `flat`. `bias` false leaves out
    /// every bias (LRP then conserves relevance exactly).
    package static func smallConvolutionalNetwork(bias: Bool = true) throws -> Data {
        var state: UInt32 = 7
        func weights(_ count: Int) -> [Float] {
            (0..<count).map { _ in
                state = state &* 1_664_525 &+ 1_013_904_223
                return Float(state >> 8) / Float(1 << 24) - 0.5
            }
        }
        var initializers = [
            initializer("W1", try Tensor(shape: [2, 1, 3, 3], scalars: weights(18))),
            initializer("W2", try Tensor(shape: [3, 18], scalars: weights(54))),
        ]
        if bias {
            initializers.append(initializer("b1", try Tensor(shape: [2], scalars: weights(2))))
            initializers.append(initializer("b2", try Tensor(shape: [3], scalars: weights(3))))
        }
        return try model(
            nodes: [
                node(
                    "Conv", bias ? ["x", "W1", "b1"] : ["x", "W1"], ["conv"], name: "conv",
                    attributes: [intsAttribute("kernel_shape", [3, 3]), intsAttribute("pads", [1, 1, 1, 1])]),
                node("Relu", ["conv"], ["relu"], name: "relu"),
                node(
                    "MaxPool", ["relu"], ["pool"], name: "pool",
                    attributes: [intsAttribute("kernel_shape", [2, 2]), intsAttribute("strides", [2, 2])]),
                node("Flatten", ["pool"], ["flat"], name: "flatten"),
                node(
                    "Gemm", bias ? ["flat", "W2", "b2"] : ["flat", "W2"], ["logits"], name: "dense", attributes: [intAttribute("transB", 1)]
                ),
            ],
            inputs: [value("x", [nil, 1, 6, 6])], outputs: [value("logits", [nil, 3])], initializers: initializers)
    }
}
