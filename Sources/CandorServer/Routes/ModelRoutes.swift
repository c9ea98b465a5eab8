import CandorExplain
import CandorModel
import Crypto
import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOCore

/// `GET /v1/models`, `GET /v1/models/{name}`, and the admin routes `POST /v1/models` and
/// `DELETE /v1/models/{name}`.
struct ModelRoutes {
    let service: CandorService

    func register(on router: Router<CandorRequestContext>) {
        router.get("/v1/models") { _, _ in try list() }
        router.get("/v1/models/{name}") { _, context in try describe(context) }
        router.post("/v1/models") { request, context in try await add(request, context) }
        router.delete("/v1/models/{name}") { request, context in try await remove(request, context) }
    }

    func list() throws -> Response {
        struct Refused: Encodable {
            let name: String
            let reason: String
        }
        struct Body: Encodable {
            let models: [ModelDescription]
            let refused: [Refused]
        }
        return try JSONResponse.make(
            Body(
                models: service.registry.models.map { ModelDescription($0, catalog: nil) },
                refused: service.registry.failures.sorted { $0.key < $1.key }.map { Refused(name: $0.key, reason: $0.value) }))
    }

    func describe(_ context: CandorRequestContext) throws -> Response {
        let model = try service.model(named: context.parameters.get("name") ?? "")
        return try JSONResponse.make(ModelDescription(model, catalog: service.catalog))
    }

    /// Receives the upload into a staging directory as it arrives (`UploadReceiver`),
    /// validates the model from there, and publishes it as one version
    /// (`ModelRegistry.add`); a failure leaves nothing behind.
    func add(_ request: Request, _ context: CandorRequestContext) async throws -> Response {
        try AdminAuthorization.check(request, token: service.configuration.admin.token)
        let replacing = request.uri.queryParameters.get("replace") == "true"
        let registry = service.registry
        // A name given in the URL is checked before the body is read.
        if !replacing, let name = request.uri.queryParameters.get("name"), registry.model(named: String(name)) != nil {
            throw Self.exists(String(name))
        }
        let staging: URL
        do { staging = try registry.store.makeStaging() } catch {
            context.logger.error("cannot stage upload", metadata: ["error": "\(error)"])
            throw Problem(.internalServerError, code: "storage-failed", detail: "the model could not be written to the models folder")
        }
        let model: LoadedModel
        do {
            let staged = try await UploadReceiver(staging: staging, limit: service.configuration.models.maxModelBytes).receive(request)
            CrashPoint.reach("streamed")
            if !replacing, registry.model(named: staged.name) != nil { throw Self.exists(staged.name) }
            model = try await service.compute("\(staged.name) load", for: context) { _ in try staged.load(from: staging) }
            try registry.add(model, staging: staging, replacing: replacing)
        } catch {
            try? FileManager.default.removeItem(at: staging)
            switch error as? ModelRegistry.ChangeError {
            case .exists(let name)?:
                throw Self.exists(name)
            case .storage(let reason)?:
                context.logger.error("cannot store model", metadata: ["error": "\(reason)"])
                throw Problem(.internalServerError, code: "storage-failed", detail: "the model could not be written to the models folder")
            default:
                throw error
            }
        }
        service.modelsChanged()
        return try JSONResponse.make(
            ModelDescription(model, catalog: service.catalog), status: .created, headers: [.location: "/v1/models/\(model.name)"])
    }

    private static func exists(_ name: String) -> Problem {
        Problem(.conflict, code: "model-exists", detail: "a model named '\(name)' already exists; add ?replace=true to replace it")
    }

    func remove(_ request: Request, _ context: CandorRequestContext) async throws -> Response {
        try AdminAuthorization.check(request, token: service.configuration.admin.token)
        let name = context.parameters.get("name") ?? ""
        do { try service.registry.remove(name) } catch {
            throw Problem.notFound("unknown-model", "no model named '\(name)' is loaded")
        }
        service.modelsChanged()
        return Response(status: .noContent)
    }
}
