import CandorModel
import CandorTensor
import CandorTestSupport
import Foundation
import SwiftProtobuf
import Testing

@Suite struct ModelLoadingTests {
    func loadError(_ bytes: Data, externalData: ExternalDataResolver = ExternalDataResolver(.none)) -> ModelError? {
        do {
            _ = try ONNXModelLoader.load(bytes, externalData: externalData)
            return nil
        } catch {
            return error
        }
    }

    @Test func externalDataIsReadFromBesideTheModel() throws {
        let model = try Fixtures.model("models/mlp_dynamo.onnx")
        #expect(model.inputs.count == 1)
        #expect(model.inputs[0].shape.first == .symbolic("N"))
        #expect(model.outputs.map(\.name) == ["logits"])
        #expect(model.layers.contains { $0.name == model.outputs[0].name })
    }

    @Test func emptyAndRandomBytesAreRefusedAsInvalid() {
        #expect(loadError(Data())?.code == .invalidModel)
        var generator = SystemRandomNumberGenerator()
        for length in [1, 7, 100, 4096] {
            let noise = Data((0..<length).map { _ in UInt8.random(in: 0...255, using: &generator) })
            #expect(loadError(noise) != nil, "random bytes of length \(length) were accepted")
        }
    }

    @Test func everyTruncationOfARealModelIsRefusedWithoutCrashing() throws {
        let bytes = try Data(contentsOf: Fixtures.url("models/mlp_torchscript.onnx"))
        for length in stride(from: 0, to: bytes.count, by: max(1, bytes.count / 97)) {
            #expect(loadError(bytes.prefix(length)) != nil, "a model truncated to \(length) bytes was accepted")
        }
    }

    @Test func anUnsupportedOperatorIsNamedWithItsNode() throws {
        let bytes = try GraphFactory.model(
            nodes: [GraphFactory.node("Erfinv", ["x"], ["y"], name: "mystery")],
            inputs: [GraphFactory.value("x", [nil, 3])], outputs: [GraphFactory.value("y", [nil, 3])])
        let error = try #require(loadError(bytes))
        #expect(error.code == .unsupportedOperator)
        #expect(error.message.contains("node 'mystery' (Erfinv)"))
        #expect(error.message.contains("Gemm"))
    }

    @Test func anUnknownAttributeIsRefused() throws {
        let bytes = try GraphFactory.model(
            nodes: [GraphFactory.node("Relu", ["x"], ["y"], name: "act", attributes: [GraphFactory.floatAttribute("slope", 2)])],
            inputs: [GraphFactory.value("x", [nil, 3])], outputs: [GraphFactory.value("y", [nil, 3])])
        let error = try #require(loadError(bytes))
        #expect(error.code == .unsupportedAttribute)
        #expect(error.message.contains("slope"))
    }

    @Test func aMissingInitializerIsNamed() throws {
        let bytes = try GraphFactory.model(
            nodes: [GraphFactory.node("MatMul", ["x", "W"], ["y"], name: "dense")],
            inputs: [GraphFactory.value("x", [nil, 3])], outputs: [GraphFactory.value("y", [nil, 2])])
        let error = try #require(loadError(bytes))
        #expect(error.code == .missingValue)
        #expect(error.message.contains("'W'"))
    }

    @Test func inconsistentShapesAreFoundAtLoadTime() throws {
        let bytes = try GraphFactory.model(
            nodes: [GraphFactory.node("MatMul", ["x", "W"], ["y"], name: "dense")],
            inputs: [GraphFactory.value("x", [nil, 3])], outputs: [GraphFactory.value("y", [nil, 2])],
            initializers: [GraphFactory.initializer("W", try Tensor(repeating: 1, shape: [4, 2]))])
        let error = try #require(loadError(bytes))
        #expect(error.code == .inconsistentShapes)
        #expect(error.message.contains("node 'dense' (MatMul)"))
    }

    @Test func externalDataOutsideTheModelFolderIsRefused() throws {
        for location in ["../../etc/passwd", "/etc/passwd", "sub/../../x"] {
            var weight = GraphFactory.initializer("W", try Tensor(repeating: 1, shape: [3, 2]))
            weight.rawData = Data()
            weight.dataLocation = .external
            var entry = Onnx_StringStringEntryProto()
            entry.key = "location"
            entry.value = location
            weight.externalData = [entry]
            let bytes = try GraphFactory.model(
                nodes: [GraphFactory.node("MatMul", ["x", "W"], ["y"])],
                inputs: [GraphFactory.value("x", [nil, 3])], outputs: [GraphFactory.value("y", [nil, 2])],
                initializers: [weight])
            let error = try #require(loadError(bytes, externalData: ExternalDataResolver(.directory(Fixtures.url("models")))))
            #expect(error.code == .externalData)
            #expect(error.message.contains("inside the model's folder"))
        }
    }

    @Test func missingExternalDataIsNamed() throws {
        let bytes = try Data(contentsOf: Fixtures.url("models/mlp_dynamo.onnx"))
        let error = try #require(loadError(bytes, externalData: ExternalDataResolver(.files([:]))))
        #expect(error.code == .externalData)
        #expect(error.message.contains("mlp_dynamo.onnx.data"))
    }

    @Test func aFixedBatchModelIsEvaluatedInChunks() throws {
        let bytes = try GraphFactory.model(
            nodes: [GraphFactory.node("Tanh", ["x"], ["y"])],
            inputs: [GraphFactory.value("x", [1, 2])], outputs: [GraphFactory.value("y", [1, 2])])
        let model = try ONNXModelLoader.load(bytes)
        #expect(model.fixedBatchSize == 1)
        let batch = try Tensor(shape: [3, 2], scalars: [0, 1, 2, 3, -1, -2])
        let output = try model.predict([batch])[0]
        #expect(output.shape == [3, 2])
        #expect(isClose(output.scalars, batch.scalars.map { tanhf($0) }, absolute: 1e-6))
    }
}

/// Hostile files: thousands of corrupted variants of real models must each load or be refused
/// with a ModelError — never crash, hang or allocate without bound.
@Suite struct CorruptedModelTests {
    /// A small deterministic generator, so a failure can be replayed.
    struct SplitMix: RandomNumberGenerator {
        var state: UInt64
        mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
    }

    @Test(arguments: ["models/mlp_torchscript.onnx", "models/mlp_handbuilt.onnx", "models/mlp_dynamo.onnx"])
    func corruptedBytesLoadOrAreRefused(_ file: String) throws {
        let original = try Data(contentsOf: Fixtures.url(file))
        let external = ExternalDataResolver(.directory(Fixtures.url("models")))
        var generator = SplitMix(state: 2026)
        var refused = 0
        for _ in 0..<600 {
            var bytes = [UInt8](original)
            for _ in 0..<Int.random(in: 1...8, using: &generator) {
                let index = Int.random(in: 0..<bytes.count, using: &generator)
                bytes[index] = UInt8.random(in: 0...255, using: &generator)
            }
            do {
                let model = try ONNXModelLoader.load(Data(bytes), externalData: external)
                // Whatever loaded must also evaluate (or refuse) a batch without crashing.
                if let input = model.inputs.first {
                    let shape = input.shape.map { $0.fixedValue ?? 2 }
                    if let batch = try? Tensor(repeating: 0.5, shape: shape) { _ = try? model.predict([batch]) }
                }
            } catch {
                refused += 1
            }
        }
        #expect(refused > 0)
    }
}

/// Hostile shapes and offsets found in review: each is refused, none traps.
@Suite struct HostileModelTests {
    @Test func aZeroExtentInitializerWithHugeOtherAxesIsRefused() throws {
        var weight = GraphFactory.initializer("W", try Tensor(shape: [0], scalars: []))
        weight.dims = [0, 1 << 62, 1 << 62]
        let bytes = try GraphFactory.model(
            nodes: [GraphFactory.node("Flatten", ["W"], ["f"]), GraphFactory.node("Identity", ["x"], ["y"])],
            inputs: [GraphFactory.value("x", [nil, 2])], outputs: [GraphFactory.value("y", [nil, 2])], initializers: [weight])
        #expect(throws: ModelError.self) { try ONNXModelLoader.load(bytes) }
    }

    @Test func anExternalDataOffsetNearIntMaxIsRefused() throws {
        var weight = GraphFactory.initializer("W", try Tensor(repeating: 1, shape: [3, 2]))
        weight.rawData = Data()
        weight.dataLocation = .external
        weight.externalData = [("location", "mlp_dynamo.onnx.data"), ("offset", "9223372036854775807"), ("length", "1")].map {
            var entry = Onnx_StringStringEntryProto()
            entry.key = $0.0
            entry.value = $0.1
            return entry
        }
        let bytes = try GraphFactory.model(
            nodes: [GraphFactory.node("MatMul", ["x", "W"], ["y"])],
            inputs: [GraphFactory.value("x", [nil, 3])], outputs: [GraphFactory.value("y", [nil, 2])], initializers: [weight])
        #expect(throws: ModelError.self) {
            try ONNXModelLoader.load(bytes, externalData: ExternalDataResolver(.directory(Fixtures.url("models"))))
        }
    }

    @Test func duplicateOutputNamesAreRefused() throws {
        let bytes = try GraphFactory.model(
            nodes: [GraphFactory.node("Tanh", ["x"], ["y"])],
            inputs: [GraphFactory.value("x", [nil, 2])], outputs: [GraphFactory.value("y", [nil, 2]), GraphFactory.value("y", [nil, 2])])
        #expect(throws: ModelError.self) { try ONNXModelLoader.load(bytes) }
    }

    /// A model exported with batch 2, explained with 3 instances: the padded chunk gets no seed.
    @Test func aFixedBatchModelHasGradientsForAnyBatch() throws {
        let bytes = try GraphFactory.model(
            nodes: [GraphFactory.node("Tanh", ["x"], ["y"])],
            inputs: [GraphFactory.value("x", [2, 2])], outputs: [GraphFactory.value("y", [2, 2])])
        let model = try ONNXModelLoader.load(bytes)
        let batch = try Tensor(shape: [3, 2], scalars: [0, 1, 2, 3, -1, -2])
        let (_, gradients) = try model.gradient([batch], output: 0) { value, _ in
            value.map { _ in 1 }
        }
        #expect(gradients[0].shape == [3, 2])
        #expect(isClose(gradients[0].scalars, batch.scalars.map { 1 - tanhf($0) * tanhf($0) }, absolute: 1e-6))
    }
}

extension HostileModelTests {
    /// A few bytes of graph asking for far more memory than its file: refused at load, within
    /// the element budget, whether the memory would go to folded constants or activations.
    @Test func loadingStaysWithinItsElementBudget() throws {
        let column = GraphFactory.initializer("c", try Tensor(repeating: 1, shape: [64, 1]))
        let row = GraphFactory.initializer("r", try Tensor(repeating: 1, shape: [1, 64]))
        let folded = try GraphFactory.model(
            nodes: (0..<4).map { GraphFactory.node("MatMul", ["c", "r"], ["p\($0)"]) } + [GraphFactory.node("Identity", ["x"], ["y"])],
            inputs: [GraphFactory.value("x", [nil, 2])], outputs: [GraphFactory.value("y", [nil, 2])], initializers: [column, row])
        #expect(throws: ModelError.self) { try ONNXModelLoader.load(folded, elementBudget: 10_000) }
        #expect(throws: Never.self) { try ONNXModelLoader.load(folded, elementBudget: 20_000) }

        // An outer product of the input with itself: 64 numbers in, 4,096 activations out.
        func shape(_ name: String, _ values: [Int64]) throws -> Onnx_TensorProto {
            var proto = Onnx_TensorProto()
            proto.name = name
            proto.dims = [Int64(values.count)]
            proto.dataType = Int32(Onnx_TensorProto.DataType.int64.rawValue)
            proto.int64Data = values
            return proto
        }
        let widening = try GraphFactory.model(
            nodes: [
                GraphFactory.node("Reshape", ["x", "column"], ["xc"]), GraphFactory.node("Reshape", ["x", "row"], ["xr"]),
                GraphFactory.node("Mul", ["xc", "xr"], ["outer"]), GraphFactory.node("Identity", ["x"], ["y"]),
            ],
            inputs: [GraphFactory.value("x", [nil, 64])], outputs: [GraphFactory.value("y", [nil, 64])],
            initializers: [try shape("column", [0, 64, 1]), try shape("row", [0, 1, 64])])
        let error = try #require(throws: ModelError.self) { try ONNXModelLoader.load(widening, elementBudget: 1_000) }
        #expect(error.code == .tooLarge && error.message.contains("activations"))
    }
}
