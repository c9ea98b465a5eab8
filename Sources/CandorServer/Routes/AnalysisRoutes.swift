import CandorExplain
import Foundation
import HTTPTypes
import Hummingbird
import NIOCore

/// `POST /v1/models/{name}/analyses` and the job routes: `GET /v1/analyses`,
/// `GET /v1/analyses/{id}`, `GET /v1/analyses/{id}/events` (Server-Sent Events) and
/// `DELETE /v1/analyses/{id}`.
struct AnalysisRoutes {
    let service: CandorService

    func register(on router: Router<CandorRequestContext>) {
        router.post("/v1/models/{name}/analyses") { request, context in try await submit(request, context) }
        router.get("/v1/analyses") { _, _ in try list() }
        router.get("/v1/analyses/{id}") { request, context in try await show(request, context) }
        router.get("/v1/analyses/{id}/events") { _, context in try events(context) }
        router.delete("/v1/analyses/{id}") { _, context in try cancel(context) }
    }

    /// The longest `?wait` a request may hold its connection for (proxies commonly close an
    /// idle response after a minute).
    static let maximumWaitSeconds = 60.0
    /// The longest an event stream stays open: then it ends, and a client reconnects (as
    /// `EventSource` does by itself) for the rest.
    static let maximumStreamSeconds = 60.0

    func submit(_ request: Request, _ context: CandorRequestContext) async throws -> Response {
        let model = try service.model(named: context.parameters.get("name") ?? "")
        let wait = try Self.waitSeconds(request)
        let body = try await RequestBody.jsonObject(
            request, limit: service.configuration.server.maxBodyBytes, allowedKeys: AnalysisRequest.fields)
        let parsed = try AnalysisRequest(body, model: model, catalog: service.analysisCatalog) {
            try AnalysisData(
                body["data"], labels: body["labels"], model: model, datasets: service.datasets, configuration: service.configuration)
        }
        let (job, reused) = try service.analyses.submit(parsed)
        if let wait { _ = await service.analyses.wait(for: job, seconds: wait) }
        var headers: HTTPFields = [.location: "/v1/analyses/\(job.id)"]
        if reused { headers[.cache] = "hit" }
        return try JSONResponse.make(
            try service.analyses.document(job), status: job.currentState.isFinished ? .ok : .accepted, headers: headers)
    }

    func list() throws -> Response {
        struct Body: Encodable { let analyses: [AnalysisDocument] }
        return try JSONResponse.make(Body(analyses: service.analyses.all().map { $0.snapshot() }))
    }

    func show(_ request: Request, _ context: CandorRequestContext) async throws -> Response {
        let job = try job(context)
        if let wait = try Self.waitSeconds(request) { _ = await service.analyses.wait(for: job, seconds: wait) }
        return try JSONResponse.make(try service.analyses.document(job))
    }

    /// Progress as Server-Sent Events (the WHATWG HTML standard's `text/event-stream`): a
    /// `progress` event whenever the state or the count of units done changes, a comment
    /// every 15 s of silence to keep proxies from closing the stream, and a last event named
    /// after the final state (`succeeded`, `failed`, `cancelled`) carrying the whole document
    /// with its result; then the stream ends. A stream open for ``maximumStreamSeconds`` ends
    /// early, after a `retry` line, so no connection is held for the length of a long job.
    func events(_ context: CandorRequestContext) throws -> Response {
        let job = try job(context)
        let analyses = service.analyses
        return Response(
            status: .ok, headers: [.contentType: "text/event-stream", .cacheControl: "no-store"],
            body: ResponseBody { writer in
                let encoder = JSONEncoder.candor
                var last: AnalysisDocument?
                var lastWrite = ContinuousClock.now
                var sequence = 0
                let closesAt = ContinuousClock.now + .seconds(Self.maximumStreamSeconds)
                func send(_ event: String, _ document: AnalysisDocument) async throws {
                    sequence += 1
                    let data = String(decoding: try encoder.encode(document), as: UTF8.self)
                    try await writer.write(ByteBuffer(string: "id: \(sequence)\nevent: \(event)\ndata: \(data)\n\n"))
                    lastWrite = .now
                }
                while true {
                    let document = job.snapshot()
                    if document.state.isFinished {
                        try await send(document.state.rawValue, (try? analyses.document(job)) ?? document)
                        break
                    }
                    if ContinuousClock.now >= closesAt {
                        try await writer.write(ByteBuffer(string: "retry: 1000\n\n"))
                        break
                    }
                    if document.state != last?.state || document.progress != last?.progress {
                        try await send("progress", document)
                        last = document
                    } else if ContinuousClock.now - lastWrite > .seconds(15) {
                        try await writer.write(ByteBuffer(string: ": waiting\n\n"))
                        lastWrite = .now
                    }
                    try await Task.sleep(for: .milliseconds(200))
                }
                try await writer.finish(nil)
            })
    }

    /// Cancels an unfinished job (200 with its document, now `cancelled`), or forgets a
    /// finished one and its result (204).
    func cancel(_ context: CandorRequestContext) throws -> Response {
        let job = try job(context)
        guard service.analyses.cancelOrRemove(job) else { return Response(status: .noContent) }
        return try JSONResponse.make(job.snapshot())
    }

    private func job(_ context: CandorRequestContext) throws -> AnalysisJob {
        let id = context.parameters.get("id") ?? ""
        guard AnalysisJobs.isValidID(id), let job = service.analyses.job(id) else {
            throw Problem.notFound("unknown-analysis-job", "no analysis with id '\(id.prefix(64))'; GET /v1/analyses lists them")
        }
        return job
    }

    /// `?wait=SECONDS`: how long to wait for the job to finish before answering; nil without it.
    static func waitSeconds(_ request: Request) throws -> Double? {
        guard let text = request.uri.queryParameters.get("wait") else { return nil }
        guard let seconds = Double(text), seconds >= 0, seconds <= maximumWaitSeconds else {
            throw Problem.badRequest(
                "invalid-parameter", "'wait' must be a number of seconds from 0 to \(Int(maximumWaitSeconds)), got '\(text.prefix(40))'")
        }
        return seconds
    }
}
