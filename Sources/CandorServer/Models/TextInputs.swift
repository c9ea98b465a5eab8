import CandorExplain
import CandorModel
import CandorTensor
import CandorText
import Foundation
import HTTPTypes

/// How text becomes a text model's inputs: the tokenizer its sidecar names (`tokenizer`, a
/// Hugging Face `tokenizer.json` beside the model) and which input takes what. The inputs go
/// by the names Hugging Face's exporters give them — `input_ids` (required), `attention_mask`
/// and `token_type_ids` — each [batch, sequence]; a model with any other input is refused,
/// since Candor could not know what to feed it.
struct TextInputs: Sendable {
    let tokenizer: TextTokenizer
    /// The tokenizer file, as the sidecar names it.
    let file: String
    /// Positions among the model's inputs.
    let ids: Int
    let attentionMask: Int?
    let tokenTypes: Int?
    /// The output of the lookup of `input_ids` in the word-embedding table, where the text
    /// methods attribute by default (Captum's `model.embeddings`); nil when the graph has no
    /// such lookup, and then a layer method needs its `layer` named.
    let embeddingLayer: String?

    /// The sequence length the model was exported with, when its sequence axis is fixed.
    let fixedLength: Int?

    static let roles = ["input_ids", "attention_mask", "token_type_ids"]

    /// Reads the sidecar's tokenizer and checks the model takes text as Hugging Face exports do.
    init(file: String, data: Data, model: any PredictiveModel, onnx: ONNXModel?, sidecar: String) throws {
        do { tokenizer = try TextTokenizer(json: data) } catch {
            throw ModelMetadata.SidecarError(description: "\(sidecar): tokenizer \(file): \(error.description)")
        }
        let names = model.inputs.map(\.name)
        if let other = names.first(where: { !Self.roles.contains($0) }) {
            throw ModelMetadata.SidecarError(
                description:
                    "\(sidecar): a model with a tokenizer takes inputs named \(Self.roles.joined(separator: ", ")) (input_ids required); '\(other)' is none of them"
            )
        }
        guard let ids = names.firstIndex(of: "input_ids") else {
            throw ModelMetadata.SidecarError(description: "\(sidecar): a model with a tokenizer needs an input named input_ids")
        }
        if let input = model.inputs.first(where: { $0.shape.count != 2 }) {
            throw ModelMetadata.SidecarError(
                description: "\(sidecar): text input '\(input.name)' must be [batch, sequence], not of rank \(input.shape.count)")
        }
        self.file = file
        self.ids = ids
        attentionMask = names.firstIndex(of: "attention_mask")
        tokenTypes = names.firstIndex(of: "token_type_ids")
        embeddingLayer = onnx?.embeddingLookup(of: "input_ids")?.layer
        fixedLength = model.inputs[ids].shape[1].fixedValue
    }

    /// Whether a request's `inputs` are text instances (`[{"text": ...}, ...]`).
    static func holdsText(_ inputs: JSONValue?) -> Bool {
        guard case .array(let instances)? = inputs, case .object(let first)? = instances.first else { return false }
        return first["text"] != nil
    }

    /// One batch of text instances, tokenized.
    struct Batch: Sendable {
        /// One tensor per model input, [batch, sequence], token ids as float32 (whole numbers).
        let inputs: [Tensor]
        let encodings: [TextEncoding]
        /// The instances' texts (and pairs), as sent.
        let texts: [(text: String, pair: String?)]
    }

    /// Tokenizes `{"text": ..., "text_pair"?: ...}` instances and lays them out as the model's
    /// inputs, padded to the longest (or to the model's fixed length).
    func batch(_ instances: [JSONValue], inputCount: Int, limits: CandorConfiguration.Limits) throws(Problem) -> Batch {
        guard !instances.isEmpty else { throw Problem.badRequest("invalid-input", "the batch is empty: send at least one instance") }
        guard instances.count <= limits.maxBatchSize else {
            throw Problem(
                .contentTooLarge, code: "batch-too-large",
                detail: "\(instances.count) instances exceed the limit of \(limits.maxBatchSize) per request")
        }
        var texts: [(text: String, pair: String?)] = []
        for (index, instance) in instances.enumerated() {
            guard case .object(let fields) = instance, case .string(let text)? = fields["text"] else {
                throw Problem.badRequest(
                    "invalid-input",
                    "instance \(index): a text instance is {\"text\": \"...\"} (with \"text_pair\" for a pair), and every instance of a batch takes that form"
                )
            }
            if let unknown = fields.keys.sorted().first(where: { $0 != "text" && $0 != "text_pair" }) {
                throw Problem.badRequest(
                    "invalid-input", "instance \(index): unknown field '\(unknown)'; a text instance has text and text_pair")
            }
            var pair: String?
            switch fields["text_pair"] {
            case nil, .null?: pair = nil
            case .string(let second)?: pair = second
            case let other?:
                throw Problem.badRequest("invalid-input", "instance \(index): text_pair must be a string, got \(other.typeName)")
            }
            texts.append((text, pair))
        }
        // Every text's length is checked before any is padded: padding a batch to one
        // over-long text would multiply it by the batch size.
        let unpadded = texts.map { tokenizer.encode($0.text, pair: $0.pair) }
        let length = unpadded.map(\.ids.count).max() ?? 0
        if let fixedLength, length > fixedLength {
            throw Problem.badRequest(
                "invalid-input", "a text has \(length) tokens; this model takes at most \(fixedLength) (its sequence axis is fixed)")
        }
        guard length <= limits.maxTextTokens else {
            throw Problem(
                .contentTooLarge, code: "input-too-large",
                detail: "a text has \(length) tokens, more than the configured limit of \(limits.maxTextTokens) (limits.max_text_tokens)")
        }
        guard instances.count * max(length, fixedLength ?? 0) * inputCount <= limits.maxInputElements else {
            throw Problem(
                .contentTooLarge, code: "input-too-large",
                detail: "\(instances.count) texts of \(length) tokens exceed the configured limit on input elements")
        }
        let encodings = tokenizer.padded(unpadded, length: fixedLength ?? 0)
        return Batch(inputs: try inputs(encodings, count: inputCount), encodings: encodings, texts: texts)
    }

    /// Encodings of one length as the model's `count` inputs, [encodings, length] each.
    func inputs(_ encodings: [TextEncoding], count: Int) throws(Problem) -> [Tensor] {
        let length = encodings.first?.ids.count ?? 0
        var columns: [(Int, KeyPath<TextEncoding, [Int]>)] = [(ids, \.ids)]
        if let attentionMask { columns.append((attentionMask, \.attentionMask)) }
        if let tokenTypes { columns.append((tokenTypes, \.typeIds)) }
        var inputs = [Tensor?](repeating: nil, count: count)
        for (position, column) in columns {
            let scalars = encodings.flatMap { $0[keyPath: column].map(Float.init) }
            do { inputs[position] = try Tensor(shape: [encodings.count, length], scalars: scalars) } catch {
                throw Problem.badRequest("invalid-input", "the texts do not fit one tensor: \(error)")
            }
        }
        return inputs.compactMap { $0 }
    }

    /// The reference Captum's text tutorials integrate from: each instance's own special tokens
    /// ([CLS], [SEP], padding) kept and every other token replaced by the padding token, as
    /// the `input_ids` batch; the other inputs (attention mask, token types) stay as they are.
    func referenceInputs(_ batch: Batch) -> [Tensor] {
        var inputs = batch.inputs
        let padding = Float(tokenizer.paddingId)
        let scalars = zip(batch.encodings.flatMap(\.ids), batch.encodings.flatMap(\.specialTokensMask)).map { id, special in
            special == 1 ? Float(id) : padding
        }
        if let reference = try? Tensor(shape: inputs[ids].shape, scalars: scalars) { inputs[ids] = reference }
        return inputs
    }
}
