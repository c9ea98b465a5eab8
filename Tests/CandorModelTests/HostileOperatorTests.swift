import CandorModel
import CandorTensor
import CandorTestSupport
import Foundation
import SwiftProtobuf
import Testing

/// Model files a client controls: operator attributes and constant inputs at their extremes
/// are refused at load time with an error, never a crash or a runaway allocation.
@Suite struct HostileOperatorTests {
    static func integers(_ name: String, _ values: [Int64]) -> Onnx_TensorProto {
        var proto = Onnx_TensorProto()
        proto.name = name
        proto.dims = [Int64(values.count)]
        proto.dataType = Int32(Onnx_TensorProto.DataType.int64.rawValue)
        proto.int64Data = values
        return proto
    }

    static func load(_ nodes: [Onnx_NodeProto], input: [Int?], initializers: [Onnx_TensorProto] = []) throws -> ONNXModel {
        try ONNXModelLoader.load(
            try GraphFactory.model(
                nodes: nodes, inputs: [GraphFactory.value("x", input)], outputs: [GraphFactory.value("y", [nil])],
                initializers: initializers))
    }

    @Test func convTransposeWithAnAbsurdOutputIsRefused() throws {
        let weights = GraphFactory.initializer("W", try Tensor(repeating: 1, shape: [1, 1, 2, 2]))
        for attributes in [
            [GraphFactory.intsAttribute("output_shape", [-5, 7])],
            [GraphFactory.intsAttribute("dilations", [65536, 65536])],
            [GraphFactory.intsAttribute("output_padding", [Int(Int32.max), 0])],
        ] {
            #expect(throws: ModelError.self) {
                _ = try Self.load(
                    [GraphFactory.node("ConvTranspose", ["x", "W"], ["y"], attributes: attributes)], input: [nil, 1, 1, 1],
                    initializers: [weights])
            }
        }
    }

    @Test func sliceAndPadAtTheInt64ExtremesDoNotTrap() throws {
        let sliced = try Self.load(
            [GraphFactory.node("Slice", ["x", "starts", "ends", "axes", "steps"], ["y"])], input: [nil, 5],
            initializers: [
                Self.integers("starts", [Int64.min]), Self.integers("ends", [Int64.max]), Self.integers("axes", [1]),
                Self.integers("steps", [Int64.max]),
            ])
        #expect(try sliced.predict([try Tensor(shape: [1, 5], scalars: [1, 2, 3, 4, 5])])[0].scalars == [1])
        let backwards = try Self.load(
            [GraphFactory.node("Slice", ["x", "starts", "ends", "axes", "steps"], ["y"])], input: [nil, 5],
            initializers: [
                Self.integers("starts", [Int64.max]), Self.integers("ends", [Int64.min]), Self.integers("axes", [1]),
                Self.integers("steps", [Int64.min]),
            ])
        #expect(try backwards.predict([try Tensor(shape: [1, 5], scalars: [1, 2, 3, 4, 5])])[0].scalars == [5])
        #expect(throws: ModelError.self) {
            _ = try Self.load(
                [GraphFactory.node("Pad", ["x", "pads"], ["y"])], input: [nil, 2],
                initializers: [Self.integers("pads", [0, Int64.min, 0, Int64.max])])
        }
    }

    @Test func aHugePoolingWindowIsRefused() {
        #expect(throws: ModelError.self) {
            _ = try Self.load(
                [
                    GraphFactory.node(
                        "AveragePool", ["x"], ["y"],
                        attributes: [
                            GraphFactory.intsAttribute("kernel_shape", [65536, 65536]),
                            GraphFactory.intsAttribute("pads", [65535, 65535, 0, 0]),
                        ])
                ], input: [nil, 1, 1, 1])
        }
    }

    @Test func anAxisOfAScalarIsRefused() throws {
        #expect(throws: ModelError.self) {
            _ = try Self.load(
                [
                    GraphFactory.node("ReduceSum", ["x"], ["s"], attributes: [GraphFactory.intAttribute("keepdims", 0)]),
                    GraphFactory.node("Concat", ["s", "s"], ["y"], attributes: [GraphFactory.intAttribute("axis", 0)]),
                ], input: [nil, 2])
        }
    }

    /// A 1-D convolution may give pads without kernel_shape (the kernel comes from W).
    @Test func aOneDimensionalConvolutionTakesItsPadsWithoutAKernelShape() throws {
        let model = try Self.load(
            [GraphFactory.node("Conv", ["x", "W"], ["y"], attributes: [GraphFactory.intsAttribute("pads", [1, 1])])], input: [nil, 1, 5],
            initializers: [GraphFactory.initializer("W", try Tensor(repeating: 1, shape: [2, 1, 3]))])
        let output = try model.predict([try Tensor(shape: [1, 1, 5], scalars: [1, 2, 3, 4, 5])])[0]
        #expect(output.shape == [1, 2, 5])
        #expect(Array(output.scalars.prefix(5)) == [3, 6, 9, 12, 9])
    }

    /// The operators added for current exporters refuse what they cannot compute, at load.
    @Test func normalizationSplitAndExpandRefuseHostileAttributes() throws {
        let scale = GraphFactory.initializer("scale", try Tensor(repeating: 1, shape: [4]))
        let planes = GraphFactory.initializer("planes", try Tensor(repeating: 1, shape: [4, 2, 2]))
        func node(_ opType: String, _ inputs: [String], _ attribute: Onnx_AttributeProto) -> Onnx_NodeProto {
            GraphFactory.node(opType, inputs, ["y"], attributes: [attribute])
        }
        let groups = ["x", "scale", "scale"]
        // (node, opset, what the refusal must say); the same nodes with sound values load.
        let cases: [(Onnx_NodeProto, Int, String)] = [
            (node("GroupNormalization", groups, GraphFactory.intAttribute("num_groups", 0)), 21, "num_groups"),
            (node("GroupNormalization", groups, GraphFactory.intAttribute("num_groups", 3)), 21, "do not split into 3 groups"),
            (node("GroupNormalization", groups, GraphFactory.intAttribute("num_groups", 2)), 18, "opset 21"),
            (node("LayerNormalization", ["x", "planes"], GraphFactory.floatAttribute("epsilon", -1)), 17, "epsilon"),
            (node("LayerNormalization", ["x", "planes"], GraphFactory.intAttribute("axis", 7)), 17, "axis 7"),
            (node("Split", ["x"], GraphFactory.intAttribute("num_outputs", 3)), 18, "num_outputs"),
        ]
        func load(_ node: Onnx_NodeProto, _ opset: Int) throws -> ONNXModel {
            try ONNXModelLoader.load(
                try GraphFactory.model(
                    nodes: [node], inputs: [GraphFactory.value("x", [nil, 4, 2, 2])], outputs: [GraphFactory.value("y", [nil])],
                    initializers: [scale, planes], opset: opset))
        }
        for (node, opset, reason) in cases {
            let error = try #require(throws: ModelError.self) { try load(node, opset) }
            #expect(error.message.contains(reason), "\(error.message)")
        }
        _ = try load(node("GroupNormalization", groups, GraphFactory.intAttribute("num_groups", 2)), 21)
        _ = try load(node("LayerNormalization", ["x", "planes"], GraphFactory.intAttribute("axis", 1)), 17)
        _ = try load(node("Split", ["x"], GraphFactory.intAttribute("num_outputs", 1)), 18)
        // LayerNormalization's Mean output read by the graph: refused by name.
        let error = try #require(
            throws: ModelError.self,
            performing: {
                try ONNXModelLoader.load(
                    try GraphFactory.model(
                        nodes: [GraphFactory.node("LayerNormalization", ["x", "scale"], ["y", "mean"], name: "norm")],
                        inputs: [GraphFactory.value("x", [nil, 4])],
                        outputs: [GraphFactory.value("y", [nil]), GraphFactory.value("mean", [nil])],
                        initializers: [scale], opset: 17))
            })
        #expect(error.message.contains("node 'norm' (LayerNormalization)"))
        // An Expand to an absurd shape is refused before anything is allocated.
        #expect(throws: ModelError.self) {
            try Self.load(
                [GraphFactory.node("Expand", ["x", "shape"], ["y"])], input: [nil, 1],
                initializers: [Self.integers("shape", [1 << 20, 1 << 20, 1 << 20])])
        }
    }

    /// int64 shape arithmetic from a model file: absurd shapes, overflow and division by
    /// zero are load-time errors, never a trap.
    @Test func integerShapeArithmeticRefusesWhatItCannotCompute() throws {
        let hostile: [(Onnx_NodeProto, [Onnx_TensorProto], reason: String)] = [
            (GraphFactory.node("ConstantOfShape", ["shape"], ["y"]), [Self.integers("shape", [1 << 20, 1 << 20, 1 << 20])], "exceeds"),
            (GraphFactory.node("Mul", ["big", "big"], ["y"]), [Self.integers("big", [Int64.max])], "overflows"),
            (
                GraphFactory.node("Div", ["big", "zero"], ["y"]), [Self.integers("big", [Int64.min]), Self.integers("zero", [0])], "by zero"
            ),
            (
                GraphFactory.node("Div", ["big", "minus"], ["y"]), [Self.integers("big", [Int64.min]), Self.integers("minus", [-1])],
                "overflows"
            ),
            (GraphFactory.node("Mod", ["big", "zero"], ["y"]), [Self.integers("big", [7]), Self.integers("zero", [0])], "by zero"),
        ]
        for (node, initializers, reason) in hostile {
            let error = try #require(throws: ModelError.self) { try Self.load([node], input: [nil, 1], initializers: initializers) }
            #expect(error.message.contains("(\(node.opType))") && error.message.contains(reason), "\(error.message)")
        }
    }
}
