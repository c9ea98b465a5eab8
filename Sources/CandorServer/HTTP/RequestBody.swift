import CandorExplain
import Foundation
import HTTPTypes
import Hummingbird
import NIOCore

/// Reading JSON request bodies with the checks a client deserves clear answers from: the
/// size limit (413), syntax errors (400 with the decoder's location), a top level that is not
/// an object, and unknown fields (a typo such as `parmas` is an error, not silently ignored).
enum RequestBody {
    static func jsonObject(
        _ request: Request, limit: Int, allowedKeys: Set<String>
    ) async throws -> [String: JSONValue] {
        try refuseDeclaredLength(of: request, over: limit)
        var request = request
        let buffer = try await request.collectBody(upTo: limit)
        return try jsonObject(Data(buffer.readableBytesView), allowedKeys: allowedKeys)
    }

    /// A body whose `Content-Length` is over `limit` is refused before a byte of it is read
    /// (otherwise a client declaring 2⁶³ bytes holds the request until the body times out).
    /// The connection then closes, since the body is never read.
    static func refuseDeclaredLength(of request: Request, over limit: Int) throws {
        guard let declared = request.headers[.contentLength] else { return }
        // The HTTP decoder accepted it, so it is digits; too many for an Int is over any limit.
        guard let length = Int(declared), length <= limit else {
            var problem = Problem(
                .contentTooLarge, code: "body-too-large",
                detail: "the request body declares \(declared) bytes; the limit is \(limit)")
            problem.headers[.connection] = "close"
            throw problem
        }
    }

    /// The same checks on bytes already read (a file, for `candor explain`).
    static func jsonObject(_ data: Data, allowedKeys: Set<String>) throws -> [String: JSONValue] {
        guard !data.isEmpty else {
            throw Problem.badRequest("malformed-json", "the request body is empty; send a JSON object")
        }
        let parsed = data.withUnsafeBytes { bytes in Result { () throws(JSONParser.Failure) in try JSONParser.parse(bytes) } }
        let value: JSONValue
        switch parsed {
        case .success(let parsedValue): value = parsedValue
        case .failure(let failure): throw Problem.badRequest("malformed-json", "the request body is not valid JSON: \(failure)")
        }
        guard case .object(let object) = value else {
            throw Problem.badRequest("malformed-json", "the request body must be a JSON object, got \(value.typeName)")
        }
        if let unknown = object.keys.sorted().first(where: { !allowedKeys.contains($0) }) {
            throw Problem.badRequest(
                "unknown-field", "unknown field '\(unknown)'; accepted: \(allowedKeys.sorted().joined(separator: ", "))")
        }
        return object
    }
}
