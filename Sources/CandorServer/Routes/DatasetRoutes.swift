import CandorExplain
import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOCore

/// `POST /v1/datasets` and `DELETE /v1/datasets/{id}` (admin), `GET /v1/datasets` and
/// `GET /v1/datasets/{id}`.
struct DatasetRoutes {
    let service: CandorService

    func register(on router: Router<CandorRequestContext>) {
        router.post("/v1/datasets") { request, _ in try await add(request) }
        router.get("/v1/datasets") { _, _ in try list() }
        router.get("/v1/datasets/{id}") { _, context in try describe(context) }
        router.delete("/v1/datasets/{id}") { request, context in try remove(request, context) }
    }

    /// The longest dataset name kept.
    static let maximumNameLength = 200

    /// Stores an upload: CSV (`Content-Type: text/csv`, `?name=` and `?label=` naming the
    /// dataset and its label column) or JSON (`{"name", "label", "columns", "rows"}`).
    func add(_ request: Request) async throws -> Response {
        try AdminAuthorization.check(request, token: service.configuration.admin.token)
        let settings = service.configuration.datasets
        try RequestBody.refuseDeclaredLength(of: request, over: settings.maxBytes)
        let contentType = request.headers[.contentType]?.lowercased() ?? ""
        var request = request
        let buffer = try await request.collectBody(upTo: settings.maxBytes)
        let data = Data(buffer.readableBytesView)
        var name = request.uri.queryParameters.get("name").map { String($0) }
        let table: DatasetTable
        if contentType.hasPrefix("text/csv") {
            table = try DatasetTable.csv(
                data, labelColumn: request.uri.queryParameters.get("label").map { String($0) }, maxRows: settings.maxRows)
        } else if contentType.hasPrefix("application/json") {
            let body = try RequestBody.jsonObject(data, allowedKeys: ["name", "label", "columns", "rows"])
            var label: String?
            switch body["label"] {
            case nil, .null?: break
            case .string(let column)?: label = column
            case let other?: throw Problem.badRequest("invalid-dataset", "'label' must be a column name, got \(other.typeName)")
            }
            if case .string(let given)? = body["name"] { name = given }
            table = try DatasetTable.json(body, labelColumn: label, maxRows: settings.maxRows)
        } else {
            throw Problem(
                .unsupportedMediaType, code: "unsupported-media-type",
                detail: "send a dataset as text/csv (a header row, then one row per line) or application/json")
        }
        let datasetName = name ?? "dataset"
        guard !datasetName.isEmpty, datasetName.count <= Self.maximumNameLength else {
            throw Problem.badRequest("invalid-dataset", "a dataset's name must have 1 to \(Self.maximumNameLength) characters")
        }
        let info: DatasetInfo
        do { info = try service.datasets.add(table, name: datasetName) } catch let problem as Problem { throw problem } catch {
            service.logger.error("cannot store a dataset", metadata: ["error": "\(error)"])
            throw Problem(.internalServerError, code: "storage-failed", detail: "the dataset could not be written to the data folder")
        }
        return try JSONResponse.make(info, status: .created, headers: [.location: "/v1/datasets/\(info.id)"])
    }

    func list() throws -> Response {
        struct Body: Encodable { let datasets: [DatasetInfo] }
        return try JSONResponse.make(Body(datasets: service.datasets.all))
    }

    func describe(_ context: CandorRequestContext) throws -> Response {
        let id = context.parameters.get("id") ?? ""
        guard DatasetStore.isValidID(id), let info = service.datasets.info(id) else { throw Self.unknown(id) }
        return try JSONResponse.make(info)
    }

    func remove(_ request: Request, _ context: CandorRequestContext) throws -> Response {
        try AdminAuthorization.check(request, token: service.configuration.admin.token)
        let id = context.parameters.get("id") ?? ""
        guard service.datasets.remove(id) else { throw Self.unknown(id) }
        return Response(status: .noContent)
    }

    private static func unknown(_ id: String) -> Problem {
        Problem.notFound("unknown-dataset", "no dataset with id '\(id.prefix(64))'; GET /v1/datasets lists them")
    }
}
