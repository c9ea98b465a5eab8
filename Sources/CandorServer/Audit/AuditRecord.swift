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

/// What an audit record holds of an answer that costs work in proportion to the request — the
/// effective parameters as JSON, each instance's target and model output as
/// `[{"target", "output"}, ...]`, and the SHA-256 of the inputs and of the answer — computed on
/// the worker that made the answer, and kept beside a cached answer, so that a cache hit is
/// recorded as fully as the miss that computed it without hashing anything again.
struct AuditDigest: Sendable {
    let params: String
    let answers: String
    let inputsSHA256: String
    let payloadSHA256: String

    private struct Answer: Encodable {
        let target: Int
        let output: NestedTensor
    }

    init(params: [String: JSONValue], targets: [Int], outputs: [Tensor], inputs: [Tensor], body: [UInt8]) throws {
        self.params = String(decoding: try ResponseJSONEncoder.encode(JSONValue.object(params)), as: UTF8.self)
        let answers = zip(targets, outputs).map { Answer(target: $0, output: NestedTensor(tensor: $1)) }
        self.answers = String(decoding: try ResponseJSONEncoder.encode(answers), as: UTF8.self)
        var inputsHash = SHA256()
        inputsHash.update(tensors: inputs)
        inputsSHA256 = inputsHash.finalize().hexString
        payloadSHA256 = SHA256.hash(data: body).hexString
    }

    /// The digest when the audit log is on; nil when it is off, or when the digest cannot be
    /// made — which costs the record (counted as dropped), never the answer.
    static func ifAudited(
        _ audited: Bool, params: [String: JSONValue], targets: [Int], outputs: [Tensor], inputs: [Tensor], body: [UInt8]
    ) -> AuditDigest? {
        guard audited else { return nil }
        return try? AuditDigest(params: params, targets: targets, outputs: outputs, inputs: inputs, body: body)
    }

    /// What the digest weighs beside a cached answer.
    var byteCount: Int { params.utf8.count + answers.utf8.count + 128 }
}

extension AuditRecord {
    /// The record of an answer a route is about to send.
    init(
        route: String, context: CandorRequestContext, model: LoadedModel, method: String?, output: Int, digest: AuditDigest,
        mediaType: String, body: [UInt8], storePayload: Bool, cacheHit: Bool, latency: Duration
    ) {
        self.init(
            id: nil, recordedAt: AuditClock.now, requestId: context.requestId, caller: context.remoteAddress, route: route,
            model: model.name, modelSHA256: model.sha256, method: method, params: digest.params,
            output: model.model.outputs.indices.contains(output) ? model.model.outputs[output].name : "\(output)",
            answers: digest.answers, inputsSHA256: digest.inputsSHA256, mediaType: mediaType, payloadSHA256: digest.payloadSHA256,
            payload: storePayload ? body : nil, payloadStored: storePayload, cacheHit: cacheHit,
            latencyMicroseconds: latency.nanoseconds / 1_000)
    }
}
