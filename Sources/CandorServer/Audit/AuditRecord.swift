import CandorExplain
import CandorModel
import CandorTensor
import Crypto

/// One explanation or evaluation as answered, kept so that it can be shown later (an
/// adverse-action notice, a clinical audit): when, to whom and for which request; which model
/// (by name and by the SHA-256 of its bytes), method, effective parameters and output; a
/// SHA-256 of the inputs; each instance's target and model output; and the answer itself, byte
/// for byte, or only its SHA-256 when `audit.store_payloads` is off.
struct AuditRecord: Sendable, Equatable {
    /// The store's sequence number: the order records were written in, and the list's cursor.
    var id: Int64?
    /// Microseconds since 1970-01-01 UTC.
    let recordedAt: Int64
    let requestId: String
    /// The client's address as the connection saw it.
    let caller: String
    /// `explain` or `evaluate`.
    let route: String
    let model: String
    let modelSHA256: String
    /// The explanation method; nil for an evaluation of attributions the client sent.
    let method: String?
    /// The effective parameters as JSON text (defaults filled in; for an evaluation, the
    /// metrics and their parameters too).
    let params: String
    /// The explained output's name.
    let output: String
    /// Per instance, `{"target", "output"}` as JSON text: what the model predicted and which
    /// class was explained, kept even when the payload is not.
    let answers: String
    /// SHA-256 of the input tensors' shapes and values (`SHA256.update(tensors:)`).
    let inputsSHA256: String
    let mediaType: String
    let payloadSHA256: String
    /// The answer's bytes; nil when payloads are not stored, and in a listing.
    let payload: [UInt8]?
    /// Whether the store holds the answer's bytes (a listing says so without carrying them).
    let payloadStored: Bool
    let cacheHit: Bool
    let latencyMicroseconds: Int64

    /// Roughly what the record weighs in memory and on the wire, for the queue's byte limit
    /// and the writer's batches.
    var weight: Int { (payload?.count ?? 0) + answers.utf8.count + params.utf8.count + 512 }
}

/// What a response says of each instance beyond its attributions: its target and the model's
/// output, as `[{"target", "output"}, ...]` JSON. Kept beside a cached answer, so a cache hit
/// is recorded as fully as a miss.
enum AnswerSummary {
    private struct Answer: Encodable {
        let target: Int
        let output: NestedTensor
    }

    static func json(targets: [Int], outputs: [Tensor]) throws -> [UInt8] {
        try ResponseJSONEncoder.encode(zip(targets, outputs).map { Answer(target: $0, output: NestedTensor(tensor: $1)) })
    }
}

extension AuditRecord {
    /// The record of an answer a route is about to send.
    init(
        route: String, context: CandorRequestContext, model: LoadedModel, method: String?, params: [String: JSONValue],
        output: Int, answers: [UInt8], inputs: [Tensor], mediaType: String, body: [UInt8], storePayload: Bool, cacheHit: Bool,
        latency: Duration
    ) throws {
        var inputsHash = SHA256()
        inputsHash.update(tensors: inputs)
        self.init(
            id: nil, recordedAt: AuditClock.now, requestId: context.requestId, caller: context.remoteAddress, route: route,
            model: model.name, modelSHA256: model.sha256, method: method,
            params: String(decoding: try ResponseJSONEncoder.encode(JSONValue.object(params)), as: UTF8.self),
            output: model.model.outputs.indices.contains(output) ? model.model.outputs[output].name : "\(output)",
            answers: String(decoding: answers, as: UTF8.self), inputsSHA256: inputsHash.finalize().hexString, mediaType: mediaType,
            payloadSHA256: SHA256.hash(data: body).hexString, payload: storePayload ? body : nil, payloadStored: storePayload,
            cacheHit: cacheHit,
            latencyMicroseconds: latency.nanoseconds / 1_000)
    }
}
