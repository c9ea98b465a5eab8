import CandorModel
import Foundation
import Hummingbird
import MultipartKit
import NIOCore

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

    /// Writes the upload's files into the staging directory under their final names.
    func write(to staging: URL) throws -> StagedUpload {
        let modelFile = "\(name).\(format.fileExtension)"
        var locations: Set<String> = []
        do {
            for (filename, data) in externalFiles {
                let location = try StagedUpload.location(filename, name: name)
                let url = staging.appendingPathComponent(location)
                try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
                try data.write(to: url)
                locations.insert(location)
            }
            if let sidecar { try sidecar.write(to: staging.appendingPathComponent("\(name).yaml")) }
            try data.write(to: staging.appendingPathComponent(modelFile))
        } catch let problem as Problem {
            throw problem
        } catch {
            throw Problem(.internalServerError, code: "storage-failed", detail: "the model could not be written to the models folder")
        }
        return StagedUpload(name: name, modelFile: modelFile, externalFiles: locations)
    }

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

/// An upload written into its staging directory under the names the model will have:
/// `NAME.EXT`, `NAME.yaml`, and each external file at its location.
struct StagedUpload: Sendable {
    let name: String
    let modelFile: String
    /// The external files' locations, relative to the staging directory.
    let externalFiles: Set<String>

    /// The location an `external_data` part is written to: a relative path inside the
    /// folder, no part of it hidden, and not the model's or its sidecar's own file.
    static func location(_ filename: String, name: String) throws -> String {
        guard let relative = ExternalDataResolver.confinedLocation(filename),
            !relative.split(separator: "/").contains(where: { $0.hasPrefix(".") }),
            !["onnx", "json", "txt", "yaml"].contains(where: { relative == "\(name).\($0)" })
        else {
            throw Problem.badRequest(
                "invalid-upload",
                "external_data filename '\(filename)' must be a relative path inside the model's folder, with no hidden part, other than the model's and the sidecar's own file names"
            )
        }
        return relative
    }

    /// Validates the staged model (on a worker: loading is CPU work); every external file
    /// must be one the model or its sidecar reads.
    func load(from staging: URL) throws -> LoadedModel {
        let model: LoadedModel?
        do { model = try LoadedModel.load(name: name, file: modelFile, folder: staging) } catch let error as ModelError {
            throw Problem(error)
        } catch {
            throw Problem(.unprocessableContent, code: "invalid-sidecar", detail: "\(error)")
        }
        guard let model else {
            throw Problem(.unprocessableContent, code: "invalid-model", detail: "the model file is not an ONNX, XGBoost or LightGBM model")
        }
        // Only files the model reads are kept, so an upload cannot place other files.
        if let unused = externalFiles.sorted().first(where: { !model.files.contains($0) }) {
            throw Problem.badRequest("invalid-upload", "external_data part '\(unused)' is not read by the model")
        }
        return model
    }
}
