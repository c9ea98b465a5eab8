import CandorExplain
import CandorModel
import Crypto
import Foundation
import HTTPTypes
import Hummingbird
import Logging
import MultipartKit
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
        let name = context.parameters.get("name") ?? ""
        guard let model = service.registry.model(named: name) else {
            throw Problem.notFound("unknown-model", "no model named '\(name)' is loaded; GET /v1/models lists them")
        }
        return try JSONResponse.make(ModelDescription(model, catalog: service.catalog))
    }

    /// Adding and removing models need `Authorization: Bearer <admin.token>`; with no token
    /// configured the routes are disabled.
    private func authorize(_ request: Request) throws {
        let token = service.configuration.admin.token
        guard !token.isEmpty else {
            throw Problem(
                .forbidden, code: "admin-disabled",
                detail: "model administration is disabled: set admin.token in the configuration (or CANDOR_ADMIN_TOKEN) to enable it")
        }
        let given = request.headers[.authorization].flatMap(Self.bearerToken) ?? ""
        // Compare digests, so the comparison takes the same time wherever the strings differ.
        guard SHA256.hash(data: Data(given.utf8)) == SHA256.hash(data: Data(token.utf8)) else {
            var problem = Problem(
                .unauthorized, code: "unauthorized", detail: "this route needs the admin bearer token: Authorization: Bearer <token>")
            problem.headers[.wwwAuthenticate] = "Bearer"
            throw problem
        }
    }

    /// The token of a `Bearer` credential. The scheme is case-insensitive and followed by one
    /// or more spaces (RFC 9110 §11.1, §11.4; RFC 6750 §2.1).
    static func bearerToken(_ credentials: String) -> String? {
        guard let space = credentials.firstIndex(of: " "), credentials[..<space].lowercased() == "bearer" else { return nil }
        return String(credentials[space...].drop(while: { $0 == " " }))
    }

    func add(_ request: Request, _ context: CandorRequestContext) async throws -> Response {
        try authorize(request)
        var request = request
        let buffer = try await request.collectBody(upTo: service.configuration.models.maxModelBytes)
        let upload = try ModelUpload.parse(buffer, request: request)
        guard LoadedModel.isValidName(upload.name) else {
            throw Problem.badRequest(
                "invalid-name",
                "model name '\(upload.name)' is not allowed: use 1–64 letters, digits, '.', '_' or '-', starting with a letter or digit")
        }
        let replacing = request.uri.queryParameters.get("replace") == "true"
        if !replacing, service.registry.model(named: upload.name) != nil {
            throw Problem(
                .conflict, code: "model-exists", detail: "a model named '\(upload.name)' already exists; add ?replace=true to replace it")
        }
        let registry = service.registry
        let model = try await service.compute("\(upload.name) load", for: context) { _ in
            do {
                return try LoadedModel.load(
                    name: upload.name, format: upload.format, data: upload.data, externalData: .files(upload.externalFiles),
                    sidecar: upload.sidecar)
            } catch let error as ModelError {
                throw Problem(error)
            } catch {
                throw Problem(.unprocessableContent, code: "invalid-sidecar", detail: "\(error)")
            }
        }
        // Only the files the model reads are stored — under locations the loader has already
        // confined to the models folder — so an upload cannot place other files there.
        if let unused = upload.externalFiles.keys.sorted().first(where: { !model.files.contains($0) }) {
            throw Problem.badRequest("invalid-upload", "external_data part '\(unused)' is not read by the model")
        }
        do {
            try registry.add(model, data: upload.data, externalFiles: upload.externalFiles, sidecar: upload.sidecar, replacing: replacing)
        } catch .exists(let name) {
            throw Problem(
                .conflict, code: "model-exists", detail: "a model named '\(name)' already exists; add ?replace=true to replace it")
        } catch .fileConflict(let file) {
            throw Problem(
                .conflict, code: "file-conflict",
                detail: "the model's file '\(file)' would overwrite a file of another model or a model file; rename the external data")
        } catch {
            context.logger.error("cannot store model", metadata: ["error": "\(error)"])
            throw Problem(.internalServerError, code: "storage-failed", detail: "the model could not be written to the models folder")
        }
        service.modelsChanged()
        return try JSONResponse.make(
            ModelDescription(model, catalog: service.catalog), status: .created, headers: [.location: "/v1/models/\(model.name)"])
    }

    func remove(_ request: Request, _ context: CandorRequestContext) async throws -> Response {
        try authorize(request)
        let name = context.parameters.get("name") ?? ""
        do { try service.registry.remove(name) } catch {
            throw Problem.notFound("unknown-model", "no model named '\(name)' is loaded")
        }
        service.modelsChanged()
        return Response(status: .noContent)
    }
}

/// A model upload: either the ONNX bytes as the body (`?name=` names it), or
/// `multipart/form-data` with a `model` file part, optional `name` and `sidecar` parts, and an
/// `external_data` part per external weights file (its filename is the location the model
/// refers to).
struct ModelUpload {
    var name: String
    /// The model file: ONNX, XGBoost's JSON or LightGBM's text (recognised by its content).
    var data: Data
    var format: LoadedModel.ModelFormat { LoadedModel.ModelFormat.sniff(data) }
    var externalFiles: [String: Data] = [:]
    var sidecar: Data?

    static func parse(_ buffer: ByteBuffer, request: Request) throws -> ModelUpload {
        let contentType = request.headers[.contentType] ?? ""
        let queryName = request.uri.queryParameters.get("name")
        guard contentType.lowercased().hasPrefix("multipart/form-data") else {
            guard let queryName else {
                throw Problem.badRequest(
                    "invalid-upload", "name the model with ?name=NAME (or upload multipart/form-data with a 'name' part)")
            }
            guard buffer.readableBytes > 0 else { throw Problem.badRequest("invalid-upload", "the body is empty; send the ONNX file") }
            return ModelUpload(name: queryName, data: Data(buffer.readableBytesView))
        }
        guard
            let boundary = contentType.split(separator: ";").lazy.map({ $0.trimmingCharacters(in: .whitespaces) })
                .first(where: { $0.lowercased().hasPrefix("boundary=") })
                .map({ String($0.dropFirst("boundary=".count)).trimmingCharacters(in: CharacterSet(charactersIn: "\"")) })
        else {
            throw Problem.badRequest("invalid-upload", "multipart/form-data without a boundary")
        }
        let parts = try MultipartParts.parse(buffer, boundary: boundary)
        var name = queryName
        var onnx: Data?
        var upload = ModelUpload(name: "", data: Data())
        for part in parts {
            switch part.field {
            case "name": name = String(decoding: part.body, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
            case "model": onnx = part.body
            case "sidecar": upload.sidecar = part.body
            case "external_data":
                guard let file = part.filename, !file.isEmpty else {
                    throw Problem.badRequest(
                        "invalid-upload", "each 'external_data' part needs a filename: the location the model refers to")
                }
                upload.externalFiles[file] = part.body
            default:
                throw Problem.badRequest("invalid-upload", "unknown part '\(part.field)'; expected name, model, sidecar, external_data")
            }
        }
        guard let onnx, !onnx.isEmpty else {
            throw Problem.badRequest("invalid-upload", "the upload has no 'model' part with the model file (ONNX, or XGBoost JSON)")
        }
        guard let name, !name.isEmpty else {
            throw Problem.badRequest("invalid-upload", "the upload names no model: add a 'name' part or ?name=")
        }
        upload.name = name
        upload.data = onnx
        return upload
    }
}

/// The parts of a `multipart/form-data` body, parsed with MultipartKit.
struct MultipartParts {
    struct Part {
        var field = ""
        var filename: String?
        var body = Data()
    }

    static func parse(_ buffer: ByteBuffer, boundary: String) throws -> [Part] {
        let parser = MultipartParser(boundary: boundary)
        var parts: [Part] = []
        var current = Part()
        parser.onHeader = { name, value in
            guard name.lowercased() == "content-disposition" else { return }
            for item in value.split(separator: ";").map({ $0.trimmingCharacters(in: .whitespaces) }) {
                let pair = item.split(separator: "=", maxSplits: 1).map(String.init)
                guard pair.count == 2 else { continue }
                let unquoted = pair[1].trimmingCharacters(in: CharacterSet(charactersIn: "\""))
                if pair[0] == "name" { current.field = unquoted }
                if pair[0] == "filename" { current.filename = unquoted }
            }
        }
        parser.onBody = { body in current.body.append(contentsOf: body.readableBytesView) }
        parser.onPartComplete = {
            parts.append(current)
            current = Part()
        }
        do { try parser.execute(buffer) } catch {
            throw Problem.badRequest("invalid-upload", "the multipart body is malformed: \(error)")
        }
        return parts
    }
}
