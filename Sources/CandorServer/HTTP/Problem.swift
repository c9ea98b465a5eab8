import CandorExplain
import CandorModel
import Foundation
import HTTPTypes
import Hummingbird

/// An error a client sees, rendered as `application/problem+json` (RFC 9457) with a stable
/// `type` URN, a title, the status and a `detail` that says what was wrong.
public struct Problem: Error, HTTPResponseError, Sendable, CustomStringConvertible {
    public let status: HTTPResponse.Status
    /// The stable code, the last part of `urn:candor:error:CODE`.
    public let code: String
    public let detail: String
    public var headers: HTTPFields = [:]

    public init(_ status: HTTPResponse.Status, code: String, detail: String) {
        self.status = status
        self.code = code
        self.detail = detail
    }

    public var description: String { "\(status.code) \(code): \(detail)" }

    struct Body: Encodable {
        let type: String
        let title: String
        let status: Int
        let detail: String
        let instance: String?
    }

    public func response(from request: Request, context: some RequestContext) throws -> Response {
        let data = encodedBody(requestId: (context as? CandorRequestContext)?.requestId)
        var headers = headers
        headers[.contentType] = "application/problem+json"
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }

    /// The Open Inference Protocol's form of the error, `{"error": detail}`, with the same
    /// status and headers.
    func openInferenceResponse() -> Response {
        var headers = headers
        headers[.contentType] = "application/json"
        let body = (try? ResponseJSONEncoder.encode(["error": detail])) ?? []
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: body)))
    }

    /// The `application/problem+json` document; `instance` names the request when known.
    func encodedBody(requestId: String?) -> Data {
        let body = Body(
            type: "urn:candor:error:\(code)", title: status.reasonPhrase, status: status.code, detail: detail,
            instance: requestId.map { "urn:candor:request:\($0)" })
        return (try? JSONEncoder.candor.encode(body)) ?? Data()
    }
}

extension Problem {
    static func badRequest(_ code: String, _ detail: String) -> Problem { Problem(.badRequest, code: code, detail: detail) }
    static func notFound(_ code: String, _ detail: String) -> Problem { Problem(.notFound, code: code, detail: detail) }

    /// The HTTP form of an explanation error: mistakes in the request are 400s, a computation
    /// past a size limit a 413, and a model that cannot compute an answer for this input
    /// (non-finite values, a shape it cannot take) a 422.
    init(_ error: ExplanationError) {
        let status: HTTPResponse.Status =
            switch error.code {
            case .invalidParameter, .invalidInput, .invalidTarget, .unknownOutput, .methodNotApplicable, .missingReferenceData:
                .badRequest
            case .tooLarge: .contentTooLarge
            case .cancelled: .gatewayTimeout
            default: .unprocessableContent
            }
        self.init(status, code: error.code.rawValue, detail: error.message)
    }

    /// The HTTP form of a model failure (an upload, a prediction): 422 naming the problem, 413
    /// when a size limit was hit, 400 for an input the model cannot take as it is.
    init(_ error: ModelError) {
        let status: HTTPResponse.Status =
            switch error.code {
            case .tooLarge: .contentTooLarge
            case .invalidInput: .badRequest
            default: .unprocessableContent
            }
        self.init(status, code: error.code.rawValue, detail: error.message)
    }
}

extension HTTPField.Name {
    static let requestId = Self("X-Request-Id")!
    static let cache = Self("X-Cache")!
}

extension JSONEncoder {
    /// Compact, with keys sorted so equal responses are byte-identical.
    static var candor: JSONEncoder {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        encoder.dateEncodingStrategy = .iso8601
        return encoder
    }
}
