import CandorExplain
import Foundation
import HTTPTypes
import Hummingbird
import NIOCore

/// `GET /v1/audit` and `GET /v1/audit/{request_id}` (admin bearer token): what the audit log
/// recorded (``AuditLog``), listed page by page in the order it was written, and one answer
/// as it was sent.
struct AuditRoutes {
    let service: CandorService

    static let queryFields: Set<String> = ["model", "since", "until", "request_id", "after", "limit"]
    static let maximumLimit = 1_000

    func register(on router: Router<CandorRequestContext>) {
        router.get("/v1/audit") { request, _ in try await list(request) }
        router.get("/v1/audit/{request_id}") { request, context in try await answer(request, context) }
    }

    private func log(_ request: Request) throws -> AuditLog {
        try AdminAuthorization.check(request, token: service.configuration.admin.token)
        guard let audit = service.audit else {
            throw Problem.notFound("audit-disabled", "the audit log is off (audit.enabled: false in the configuration)")
        }
        return audit
    }

    /// A read of the store; a store that is down (or not open yet) is a 503 saying why.
    private func reading<Result: Sendable>(_ audit: AuditLog, _ read: @escaping @Sendable () async throws -> Result) async throws
        -> Result
    {
        do { return try await AuditLog.withTimeout(AuditLog.operationTimeout, read) } catch {
            var problem = Problem(
                .serviceUnavailable, code: "audit-unavailable", detail: "the audit store (\(audit.store.kind)) cannot be read: \(error)")
            problem.headers[.retryAfter] = "5"
            throw problem
        }
    }

    func list(_ request: Request) async throws -> Response {
        let audit = try log(request)
        let query = try Self.query(request.uri.queryParameters)
        let records = try await reading(audit) { try await audit.store.records(matching: query) }
        var next: String?
        if records.count == query.limit, let last = records.last?.id {
            var components = URLComponents()
            components.path = "/v1/audit"
            components.queryItems =
                request.uri.queryParameters.filter { $0.key != "after" }.map { URLQueryItem(name: String($0.key), value: String($0.value)) }
                .sorted { $0.name < $1.name } + [URLQueryItem(name: "after", value: String(last))]
            next = components.string
        }
        struct Body: Encodable {
            let records: [AuditRecordBody]
            let next: String?
        }
        return try JSONResponse.make(Body(records: try records.map(AuditRecordBody.init), next: next))
    }

    /// The answer as it was sent, byte for byte, with its media type (`X-Audit-Record` names
    /// the record); when payloads are not stored, the record itself (`application/json`, with
    /// the answer's SHA-256). Clients choose their request ids, so when one names several
    /// answers — a retry, or another client reusing it — the answer is 409 until `?record=`
    /// picks one: never silently the latest.
    func answer(_ request: Request, _ context: CandorRequestContext) async throws -> Response {
        let audit = try log(request)
        let requestId = context.parameters.get("request_id") ?? ""
        var recordId: Int64?
        for (key, value) in request.uri.queryParameters {
            guard key == "record", let id = Int64(String(value)), id > 0 else {
                throw Problem.badRequest(
                    "invalid-parameter", "the only query parameter is 'record', a record id (a whole number ≥ 1); got '\(key)=\(value)'")
            }
            recordId = id
        }
        let chosen = recordId
        let found = try await reading(audit) { try await audit.store.records(requestId: requestId, recordId: chosen) }
        guard let record = found.first else {
            throw Problem.notFound(
                "unknown-request", "no audit record has request id '\(requestId)'\(recordId.map { " and id \($0)" } ?? "")")
        }
        guard found.count == 1 else {
            throw Problem(
                .conflict, code: "ambiguous-request-id",
                detail: "several answers were recorded under request id '\(requestId)' (clients choose their ids): list them with "
                    + "GET /v1/audit?request_id=\(requestId) and ask for one with ?record=ID")
        }
        guard let payload = record.payload else { return try JSONResponse.make(try AuditRecordBody(record)) }
        return Response(
            status: .ok, headers: [.contentType: record.mediaType, Self.recordHeader: String(record.id ?? 0)],
            body: .init(byteBuffer: ByteBuffer(bytes: payload)))
    }

    static let recordHeader = HTTPField.Name("X-Audit-Record")!

    /// The page a query string asks for; a parameter that is unknown or malformed is a 400.
    static func query(_ parameters: Hummingbird.Parameters) throws -> AuditQuery {
        var query = AuditQuery()
        for (key, value) in parameters {
            let (key, value) = (String(key), String(value))
            switch key {
            case "model": query.model = value
            case "request_id": query.requestId = value
            case "since": query.since = try time(value, named: key)
            case "until": query.until = try time(value, named: key)
            case "after":
                guard let after = Int64(value), after >= 0 else {
                    throw Problem.badRequest("invalid-parameter", "'after' must be a record id (a whole number ≥ 0), got '\(value)'")
                }
                query.after = after
            case "limit":
                guard let limit = Int(value), (1...maximumLimit).contains(limit) else {
                    throw Problem.badRequest(
                        "invalid-parameter", "'limit' must be a whole number from 1 to \(maximumLimit), got '\(value)'")
                }
                query.limit = limit
            default:
                throw Problem.badRequest(
                    "invalid-parameter", "unknown query parameter '\(key)'; accepted: \(queryFields.sorted().joined(separator: ", "))")
            }
        }
        return query
    }

    /// An RFC 3339 time (`2026-12-07T12:00:00Z`, with up to six fractional digits, which
    /// count: records are timed to the microsecond) in microseconds.
    static func time(_ text: String, named name: String) throws -> Int64 {
        let problem = Problem.badRequest(
            "invalid-parameter", "'\(name)' must be an RFC 3339 time such as 2026-12-07T12:00:00.123456Z, got '\(text)'")
        // The fraction is read here, to the microsecond (Foundation keeps milliseconds).
        var whole = text
        var fraction: Int64 = 0
        if let dot = text.firstIndex(of: ".") {
            let digits = text[text.index(after: dot)...].prefix { $0.isASCII && $0.isNumber }
            guard (1...6).contains(digits.count), let value = Int64(digits) else { throw problem }
            fraction = value * Int64(pow(10, Double(6 - digits.count)))
            whole = String(text[..<dot]) + text[digits.endIndex...]
        }
        // Years 1 to 9999 (RFC 3339's): a longer year would overflow the microseconds.
        guard let date = ISO8601DateFormatter().date(from: whole), abs(date.timeIntervalSince1970) <= 253_402_300_799 else {
            throw problem
        }
        return Int64(date.timeIntervalSince1970.rounded()) * 1_000_000 + fraction
    }
}

/// One record as `GET /v1/audit` lists it (`AuditRecord` in openapi.yaml).
struct AuditRecordBody: Encodable {
    let id: Int64
    let recordedAt: String
    let requestId: String
    let caller: String
    let route: String
    let model: ExplainResponse.ModelReference
    let method: String?
    let params: JSONValue
    let output: String
    let answers: JSONValue
    let inputsSHA256: String
    let mediaType: String
    let payloadSHA256: String
    let payloadStored: Bool
    let cacheHit: Bool
    let latencyMs: Double

    enum CodingKeys: String, CodingKey {
        case id, caller, route, model, method, params, output, answers
        case recordedAt = "recorded_at"
        case requestId = "request_id"
        case inputsSHA256 = "inputs_sha256"
        case mediaType = "media_type"
        case payloadSHA256 = "payload_sha256"
        case payloadStored = "payload_stored"
        case cacheHit = "cache_hit"
        case latencyMs = "latency_ms"
    }

    init(_ record: AuditRecord) throws {
        id = record.id ?? 0
        recordedAt = Self.rfc3339(microseconds: record.recordedAt)
        requestId = record.requestId
        caller = record.caller
        route = record.route
        model = ExplainResponse.ModelReference(name: record.model, sha256: record.modelSHA256)
        method = record.method
        params = try Self.parse(record.params)
        output = record.output
        answers = try Self.parse(record.answers)
        inputsSHA256 = record.inputsSHA256
        mediaType = record.mediaType
        payloadSHA256 = record.payloadSHA256
        payloadStored = record.payloadStored
        cacheHit = record.cacheHit
        latencyMs = Double(record.latencyMicroseconds) / 1_000
    }

    /// A JSON column, as the service wrote it.
    private static func parse(_ text: String) throws -> JSONValue {
        var text = text
        return try text.withUTF8 { bytes throws(JSONParser.Failure) in try JSONParser.parse(UnsafeRawBufferPointer(bytes)) }
    }

    /// `2026-12-07T12:00:00.123456Z`.
    static func rfc3339(microseconds: Int64) -> String {
        let (seconds, fraction) = microseconds.quotientAndRemainder(dividingBy: 1_000_000)
        let whole = Date(timeIntervalSince1970: TimeInterval(seconds)).formatted(.iso8601)
        let digits = String(fraction)
        return whole.dropLast() + "." + String(repeating: "0", count: 6 - digits.count) + digits + "Z"
    }
}
