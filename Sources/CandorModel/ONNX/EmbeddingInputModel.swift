import CandorTensor

/// A constant table a graph looks token ids up in: the word embeddings of a text model.
public struct EmbeddingLookup: Sendable {
    /// The lookup's output: the embeddings of a batch of ids, [batch, sequence, width].
    public let layer: String
    /// [vocabulary, width].
    public let table: Tensor

    /// The rows of the table for a batch of ids (whole numbers, as the model's inputs carry
    /// them), [batch, sequence, width].
    public func embeddings(of ids: Tensor) throws(ModelError) -> Tensor {
        let (rows, width) = (table.shape[0], table.shape[1])
        var scalars: [Float] = []
        scalars.reserveCapacity(ids.count * width)
        for id in ids.scalars {
            guard id == id.rounded(), id >= 0, id < Float(rows) else {
                throw ModelError(.invalidInput, "token id \(id) is not a row of the \(rows)-row embedding table")
            }
            let row = Int(id) * width
            scalars.append(contentsOf: table.scalars[row..<(row + width)])
        }
        do { return try Tensor(shape: ids.shape + [width], scalars: scalars) } catch { throw ModelError(.tooLarge, "\(error)") }
    }
}

/// A text model seen from its word embeddings: the lookup of the token ids in the embedding
/// table is replaced by its output, which becomes the model's first input, so that the input
/// methods (saliency, input × gradient) attribute to the embeddings as Captum's text
/// tutorials do when they run the model on `inputs_embeds`. The other inputs (attention mask,
/// token types) follow unchanged. The graph still reads the token ids: it gets zeros of
/// their shape, since nothing but the replaced lookup reads their values in the exports
/// Candor serves (an export that derived its attention mask from the ids would not fit).
public final class EmbeddingInputModel: DifferentiableModel {
    public let base: ONNXModel
    public let lookup: EmbeddingLookup
    /// The position of the token ids among the base model's inputs.
    let idsInput: Int
    public let inputs: [TensorInfo]

    /// The model over the embeddings of input `ids`, or nil when the graph looks them up in no
    /// constant table.
    public init?(_ base: ONNXModel, ids: String) {
        guard let idsInput = base.inputs.firstIndex(where: { $0.name == ids }), let lookup = base.embeddingLookup(of: ids),
            let layer = base.layer(named: lookup.layer)
        else { return nil }
        self.base = base
        self.lookup = lookup
        self.idsInput = idsInput
        var inputs = base.inputs
        inputs.remove(at: idsInput)
        self.inputs = [TensorInfo(name: lookup.layer, elementType: .float32, shape: layer.shape)] + inputs
    }

    public var outputs: [TensorInfo] { base.outputs }
    public var elementsPerInstance: Int { base.elementsPerInstance }
    public var layers: [TensorInfo] { base.layers }
    public var fixedBatchSize: Int? { base.fixedBatchSize }
    public var lastConvolutionOutput: String? { base.lastConvolutionOutput }
    public func lrpRefusals(feeding output: Int) -> [LRPRefusal] { base.lrpRefusals(feeding: output) }
    public var attentionProbabilities: [String] { base.attentionProbabilities }

    /// The base model's inputs for these: placeholder ids in their place, and the embeddings.
    private func baseInputs(_ inputs: [Tensor]) throws(ModelError) -> (inputs: [Tensor], embeddings: Tensor) {
        guard let embeddings = inputs.first, embeddings.rank == 3 else {
            throw ModelError(.inconsistentShapes, "the embeddings must be [batch, sequence, width]")
        }
        var rest = Array(inputs.dropFirst())
        do { rest.insert(try Tensor(repeating: 0, shape: Array(embeddings.shape.prefix(2))), at: idsInput) } catch {
            throw ModelError(.tooLarge, "\(error)")
        }
        return (rest, embeddings)
    }

    public func predict(_ inputs: [Tensor]) throws(ModelError) -> [Tensor] {
        let (inputs, embeddings) = try baseInputs(inputs)
        return try base.predict(inputs, replacing: [lookup.layer: embeddings])
    }

    /// The base model's pass with the lookup's output replaced by the embeddings and tapped:
    /// its gradient there is the embeddings' input gradient.
    public func gradient(
        _ inputs: [Tensor], output: Int, pass: BackwardPass, seed: (Tensor, Range<Int>) throws(ModelError) -> Tensor
    ) throws(ModelError) -> GradientResult {
        let (baseInputs, embeddings) = try baseInputs(inputs)
        var replaced = pass
        replaced.overrides[lookup.layer] = embeddings
        replaced.layers.append(lookup.layer)
        let result = try base.gradient(baseInputs, output: output, pass: replaced, seed: seed)
        guard let embeddingGradient = result.layerGradients.last else {
            throw ModelError(.missingValue, "the pass gave no gradient at '\(lookup.layer)'")
        }
        var inputGradients = result.inputGradients
        if pass.needsInputGradients, inputGradients.indices.contains(idsInput) {
            inputGradients.remove(at: idsInput)
            inputGradients.insert(embeddingGradient, at: 0)
        }
        return GradientResult(
            outputs: result.outputs, inputGradients: inputGradients, layerValues: Array(result.layerValues.dropLast()),
            layerGradients: Array(result.layerGradients.dropLast()))
    }
}
