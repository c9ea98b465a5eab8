import CandorTensor
import CandorTestSupport
import Foundation
import Testing

@testable import CandorModel

/// A text model's int64 inputs (token ids, attention mask), on the demo transformer exported by
/// PyTorch's dynamo exporter (scripts/train_text_demo_model.py): the ids arrive as float32
/// whole numbers, evaluate as onnxruntime evaluates them, and carry no gradient of their own.
@Suite struct IntegerInputTests {
    static func model() throws -> ONNXModel {
        try ONNXModelLoader.load(contentsOf: Fixtures.repository.appendingPathComponent("models/review_sentiment.onnx"))
    }

    static func golden() throws -> [(ids: [Int], logits: [Double])] {
        let root = try #require(try Fixtures.json("text/review_sentiment.golden.json") as? [String: Any])
        let cases = try #require(root["cases"] as? [[String: Any]])
        return cases.map { ($0["ids"] as? [Int] ?? [], $0["logits"] as? [Double] ?? []) }
    }

    @Test func int64InputsAreDeclaredAsSuch() throws {
        let model = try Self.model()
        #expect(model.inputs.map(\.name) == ["input_ids", "attention_mask"])
        #expect(model.inputs.allSatisfy { $0.elementType == .int64 })
        #expect(model.embeddingLookup(of: "input_ids")?.layer == "embedding")
        #expect(model.embeddingLookup(of: "input_ids")?.table.shape.last == 32)
        #expect(model.embeddingLookup(of: "attention_mask") == nil)
    }

    @Test func tokenIdsEvaluateAsOnnxruntimeEvaluatesThem() throws {
        let model = try Self.model()
        for (ids, logits) in try Self.golden() {
            let idTensor = try Tensor(shape: [1, ids.count], scalars: ids.map(Float.init))
            let mask = try Tensor(repeating: 1, shape: [1, ids.count])
            let output = try model.predict([idTensor, mask])[0].scalars
            #expect(zip(output, logits).allSatisfy { abs(Double($0) - $1) < 1e-4 }, "\(output) vs \(logits)")
        }
    }

    @Test func anIdThatIsNotAWholeNumberIsRefused() throws {
        let model = try Self.model()
        let inputs = [try Tensor(shape: [1, 3], scalars: [2, 7.5, 3]), try Tensor(repeating: 1, shape: [1, 3])]
        let error = #expect(throws: ModelError.self) { try model.predict(inputs) }
        #expect(error?.code == .invalidInput)
        #expect(error?.message.contains("input 'input_ids' takes whole numbers") == true, "\(String(describing: error))")
    }

    /// Gradients stop at the lookup: the ids get zeros shaped like them, the embeddings the
    /// real gradient (what the text methods read).
    @Test func integerInputsGetZeroGradientsAndTheEmbeddingsTheRealOne() throws {
        let model = try Self.model()
        let (ids, _) = try #require(try Self.golden().first)
        let idTensor = try Tensor(shape: [1, ids.count], scalars: ids.map(Float.init))
        let mask = try Tensor(repeating: 1, shape: [1, ids.count])
        let result = try model.gradient([idTensor, mask], output: 0, pass: BackwardPass(layers: ["embedding"])) {
            output, _ throws(ModelError) in
            do { return try Tensor(shape: output.shape, scalars: [1, 0]) } catch { throw ModelError(.inconsistentShapes, "\(error)") }
        }
        #expect(result.inputGradients.map(\.shape) == [[1, ids.count], [1, ids.count]])
        #expect(result.inputGradients.allSatisfy { $0.scalars.allSatisfy { $0 == 0 } })
        #expect(result.layerGradients[0].shape == [1, ids.count, 32])
        #expect(result.layerGradients[0].scalars.contains { $0 != 0 })
    }

    /// Seen from its embeddings, the model predicts what the ids predict, and the embeddings'
    /// input gradient is the gradient at the lookup's output in the model on ids.
    @Test func theEmbeddingsAsInputGiveTheSameOutputsAndGradients() throws {
        let model = try Self.model()
        let embedded = try #require(EmbeddingInputModel(model, ids: "input_ids"))
        #expect(embedded.inputs.map(\.name) == ["embedding", "attention_mask"])
        let (ids, logits) = try #require(try Self.golden().last)
        let idTensor = try Tensor(shape: [1, ids.count], scalars: ids.map(Float.init))
        let mask = try Tensor(repeating: 1, shape: [1, ids.count])
        let embeddings = try embedded.lookup.embeddings(of: idTensor)
        let output = try embedded.predict([embeddings, mask])[0].scalars
        #expect(zip(output, logits).allSatisfy { abs(Double($0) - $1) < 1e-4 }, "\(output) vs \(logits)")
        func seed(_ output: Tensor, _ rows: Range<Int>) throws(ModelError) -> Tensor {
            do { return try Tensor(shape: output.shape, scalars: [0, 1]) } catch { throw ModelError(.inconsistentShapes, "\(error)") }
        }
        let viaIds = try model.gradient([idTensor, mask], output: 0, pass: BackwardPass(layers: ["embedding"]), seed: seed)
        let viaEmbeddings = try embedded.gradient([embeddings, mask], output: 0, pass: .plain, seed: seed)
        #expect(viaEmbeddings.inputGradients.map(\.shape) == [[1, ids.count, 32], [1, ids.count]])
        #expect(viaEmbeddings.inputGradients[0].scalars == viaIds.layerGradients[0].scalars)
        #expect(throws: ModelError.self) { try embedded.lookup.embeddings(of: try Tensor(shape: [1, 1], scalars: [1e6])) }
    }

    /// The transformer's gradient at its embeddings (through attention, its mask, layer
    /// normalisation, GELU and the head) agrees with central differences of its output.
    @Test func theEmbeddingGradientIsTheOutputsSlope() throws {
        let embedded = try #require(EmbeddingInputModel(try Self.model(), ids: "input_ids"))
        let (ids, _) = try #require(try Self.golden().first)
        let idTensor = try Tensor(shape: [1, ids.count], scalars: ids.map(Float.init))
        let mask = try Tensor(repeating: 1, shape: [1, ids.count])
        let embeddings = try embedded.lookup.embeddings(of: idTensor)
        let gradient = try embedded.gradient([embeddings, mask], output: 0, pass: .plain) { output, _ throws(ModelError) in
            do { return try Tensor(shape: output.shape, scalars: [1, 0]) } catch { throw ModelError(.inconsistentShapes, "\(error)") }
        }.inputGradients[0]
        let step: Float = 1e-2
        for element in stride(from: 3, to: embeddings.count, by: 29) {
            var up = embeddings
            var down = embeddings
            up.scalars[element] += step
            down.scalars[element] -= step
            let slope = (try embedded.predict([up, mask])[0].scalars[0] - embedded.predict([down, mask])[0].scalars[0]) / (2 * step)
            #expect(abs(slope - gradient.scalars[element]) <= 2e-3 + 2e-2 * abs(gradient.scalars[element]), "element \(element)")
        }
    }

    /// A transformer's instance grows with its sequence (attention is n × n): the estimate for
    /// a length is the count of the elements a pass at that length keeps, not the count at one
    /// token that load-time shape inference measures.
    @Test(arguments: [8, 40])
    func passesAreSizedForTheSequenceLength(_ length: Int) throws {
        let model = try Self.model()
        let ids = GraphValue.integer(try IntegerTensor(shape: [1, length], values: Array(repeating: 2, count: length)))
        let mask = GraphValue.integer(try IntegerTensor(shape: [1, length], values: Array(repeating: 1, count: length)))
        let values = try model.graph.forward([ids, mask], retainingAll: true)
        let kept = values.enumerated().reduce(0) { total, entry in
            model.graph.constants[entry.offset] == nil ? total + (entry.element?.shape.reduce(1, *) ?? 0) : total
        }
        #expect(model.sized(forFreeExtent: length).elementsPerInstance == 2 * kept)
        #expect(model.sized(forFreeExtent: length).elementsPerInstance > 4 * model.elementsPerInstance)
    }
}
