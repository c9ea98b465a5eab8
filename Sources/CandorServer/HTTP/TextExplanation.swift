import CandorExplain
import CandorTensor
import CandorText
import HTTPTypes

/// Explaining text instances: which methods take them, what those methods default to on a
/// text model, and the answer's form — one attribution per token, beside the token and where
/// it stands in the text.
///
/// The methods attribute at the word embeddings (the lookup of `input_ids`, Captum's
/// `model.embeddings`) unless the request names another `layer`, and the path methods start
/// from Captum's tutorial reference: every token but the special ones replaced by the padding
/// token, the attention mask and token types unchanged. A token's attribution is the sum over
/// the layer's values at its position (the embedding dimensions), as Captum's tutorials
/// `summarize_attributions`, without their normalisation.
enum TextExplanation {
    /// The methods that explain text instances today, each checked against Captum on the demo
    /// model (Tests/Fixtures/text/review_sentiment.golden.json).
    static let methods = ["layer_integrated_gradients", "layer_gradient_x_activation"]

    /// The parameters `method` runs with on a text batch: the request's, with the embedding
    /// layer and the reference filled in where the request leaves them out.
    static func parameters(
        _ given: [String: JSONValue], method: MethodDescriptor, text: TextInputs, batch: TextInputs.Batch, inputNames: [String]
    ) throws -> [String: JSONValue] {
        guard methods.contains(method.name) else {
            throw Problem.badRequest(
                "method-not-applicable",
                "\(method.name) does not explain text instances yet; on text: \(methods.joined(separator: ", ")) (or send the tokenizer's ids by input name)"
            )
        }
        var parameters = given
        if parameters["layer"] == nil || parameters["layer"] == .null {
            guard let layer = text.embeddingLayer else {
                throw Problem.badRequest(
                    "invalid-parameter",
                    "this model's graph looks input_ids up in no embedding table Candor can find: name the layer to attribute at with 'layer'"
                )
            }
            parameters["layer"] = .string(layer)
        }
        let takesBaselines = method.parameters.contains { $0.name == "baselines" }
        if takesBaselines, parameters["baselines"] == nil || parameters["baselines"] == .null {
            let reference = text.referenceInputs(batch)
            parameters["baselines"] = .object(
                Dictionary(uniqueKeysWithValues: zip(inputNames, reference.map(TensorJSON.value(of:)))))
        }
        return parameters
    }

    /// One instance's attributions per token: the layer's (or `input_ids`') attributions at
    /// each position summed over the rest of their axes, the padding left out.
    static func tokenAttributions(_ attributions: Tensor, encoding: TextEncoding) throws(Problem) -> Tensor {
        let length = encoding.ids.count
        guard attributions.rank >= 1, attributions.shape[0] == length else {
            throw Problem(
                .internalServerError, code: "internal-error",
                detail: "attributions of shape \(attributions.shape) are not one per token of \(length)")
        }
        let width = attributions.count / max(length, 1)
        let scalars = attributions.scalars
        var perToken: [Float] = []
        for position in 0..<length where encoding.attentionMask[position] == 1 {
            var sum: Float = 0
            for index in (position * width)..<((position + 1) * width) { sum += scalars[index] }
            perToken.append(sum)
        }
        do { return try Tensor(shape: [perToken.count], scalars: perToken) } catch {
            throw Problem(.internalServerError, code: "internal-error", detail: "\(error)")
        }
    }

    /// A token of the answer: its text, and where it stands in the instance's text (or its
    /// pair, `"in": "text_pair"`); the special tokens the tokenizer adds carry no offsets.
    struct Token: Encodable {
        let token: String
        let start: Int?
        let end: Int?
        let special: Bool?
        let within: String?

        enum CodingKeys: String, CodingKey {
            case token, start, end, special
            case within = "in"
        }
    }

    /// The tokens of one instance, padding left out.
    static func tokens(_ encoding: TextEncoding) -> [Token] {
        encoding.ids.indices.filter { encoding.attentionMask[$0] == 1 }.map { position in
            guard let sequence = encoding.sequenceIds[position] else {
                return Token(token: encoding.tokens[position], start: nil, end: nil, special: true, within: nil)
            }
            let offsets = encoding.offsets[position]
            return Token(
                token: encoding.tokens[position], start: offsets.lowerBound, end: offsets.upperBound, special: nil,
                within: sequence == 1 ? "text_pair" : nil)
        }
    }
}
