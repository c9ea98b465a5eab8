import CandorModel
import Foundation
import HTTPTypes
import Hummingbird
import MultipartKit
import NIOCore

#if canImport(Glibc)
    import Glibc
#endif

/// Receives a model upload straight into its staging directory as the body arrives, so an
/// upload costs a few chunks of memory whatever its size (collecting the body first held it
/// several times over: the body, the parsed parts, the written copies).
///
/// The body is either the model file itself (`?name=` names it), or `multipart/form-data`
/// with a `model` part, optional `name` and `sidecar` parts, and one `external_data` part per
/// file beside the model, whose filename is the location the model or its sidecar refers to.
/// Parts are written under temporary names and take their final names once the model's name
/// and format are known. The whole body is limited to `limit` bytes (413 past it).
struct UploadReceiver {
    let staging: URL
    let limit: Int

    /// The part that holds the model file, the sidecar, or an external file, as written.
    private static let modelPart = ".model"
    private static let sidecarPart = ".sidecar"
    /// A `name` part is text; anything longer is not a name.
    private static let maximumNameBytes = 1024

    func receive(_ request: Request) async throws -> StagedUpload {
        try RequestBody.refuseDeclaredLength(of: request, over: limit)
        let contentType = request.headers[.contentType] ?? ""
        let queryName = request.uri.queryParameters.get("name").map { String($0) }
        guard contentType.lowercased().hasPrefix("multipart/form-data") else {
            guard let queryName else {
                throw Problem.badRequest(
                    "invalid-upload", "name the model with ?name=NAME (or upload multipart/form-data with a 'name' part)")
            }
            let file = try StagingFile(staging.appendingPathComponent(Self.modelPart))
            let received = try await consume(request.body, file.write)
            try file.close()
            guard received > 0 else { throw Problem.badRequest("invalid-upload", "the body is empty; send the model file") }
            return try finish(name: queryName, externalParts: [], hasSidecar: false)
        }
        let boundary = try MultipartForm.boundary(contentType, code: "invalid-upload")
        let parts = MultipartReceiver(staging: staging, boundary: boundary)
        _ = try await consume(request.body, parts.execute)
        try parts.finish()
        return try finish(name: parts.name ?? queryName, externalParts: parts.externalParts, hasSidecar: parts.hasSidecar)
    }

    /// Hands each chunk of the body to `handle` as it arrives, refusing the body (413) once it
    /// passes the limit; returns how many bytes it had.
    private func consume(_ body: Hummingbird.RequestBody, _ handle: (ByteBuffer) throws -> Void) async throws -> Int {
        var received = 0
        for try await chunk in body {
            received += chunk.readableBytes
            guard received <= limit else { throw Self.tooLarge(limit) }
            try handle(chunk)
        }
        return received
    }

    /// Gives the received files their final names: `NAME.EXT` (the extension from the model
    /// file's content), `NAME.yaml`, and each external file at its checked location.
    private func finish(name: String?, externalParts: [(filename: String, part: String)], hasSidecar: Bool) throws -> StagedUpload {
        let manager = FileManager.default
        let model = staging.appendingPathComponent(Self.modelPart)
        guard let size = (try? manager.attributesOfItem(atPath: model.path))?[.size] as? Int, size > 0 else {
            throw Problem.badRequest(
                "invalid-upload", "the upload has no 'model' part with the model file (ONNX, XGBoost JSON or LightGBM text)")
        }
        guard let name, !name.isEmpty else {
            throw Problem.badRequest("invalid-upload", "the upload names no model: add a 'name' part or ?name=")
        }
        guard LoadedModel.isValidName(name) else {
            throw Problem.badRequest(
                "invalid-name",
                "model name '\(name)' is not allowed: use 1–64 letters, digits, '.', '_' or '-', starting with a letter or digit")
        }
        let head =
            (try? FileHandle(forReadingFrom: model)).map { handle in
                defer { try? handle.close() }
                return (try? handle.read(upToCount: 256)) ?? Data()
            } ?? Data()
        let modelFile = "\(name).\(LoadedModel.ModelFormat.sniff(head).fileExtension)"
        var locations: Set<String> = []
        do {
            for (filename, part) in externalParts {
                let location = try StagedUpload.location(filename, name: name)
                let target = staging.appendingPathComponent(location)
                // Locations that cannot all be files ('a' and 'a/b') are the client's mistake.
                do {
                    try manager.createDirectory(at: target.deletingLastPathComponent(), withIntermediateDirectories: true)
                    try Self.move(staging.appendingPathComponent(part), to: target)
                } catch {
                    throw Problem.badRequest("invalid-upload", "external_data filename '\(filename)' clashes with another part's location")
                }
                locations.insert(location)
            }
            if hasSidecar {
                try Self.move(staging.appendingPathComponent(Self.sidecarPart), to: staging.appendingPathComponent("\(name).yaml"))
            }
            try Self.move(model, to: staging.appendingPathComponent(modelFile))
        } catch let problem as Problem {
            throw problem
        } catch {
            throw Problem(.internalServerError, code: "storage-failed", detail: "the model could not be written to the models folder")
        }
        return StagedUpload(name: name, modelFile: modelFile, externalFiles: locations)
    }

    private static func move(_ source: URL, to target: URL) throws {
        guard rename(source.path, target.path) == 0 else {
            throw ModelStore.StoreError(description: "cannot rename \(source.lastPathComponent): \(String(cString: strerror(errno)))")
        }
    }

    /// The rest of the body is never read, so the connection closes with this answer.
    static func tooLarge(_ limit: Int) -> Problem {
        var problem = Problem(
            .contentTooLarge, code: "body-too-large",
            detail: "the upload exceeds models.max_model_bytes (\(limit) bytes)")
        problem.headers[.connection] = "close"
        return problem
    }

    /// Feeds body chunks to MultipartKit's incremental parser and writes each part's bytes to
    /// its file as they come. The parser's callbacks cannot throw: the first failure is kept
    /// and reported after the chunk.
    private final class MultipartReceiver {
        let staging: URL
        let parser: MultipartParser
        private(set) var name: String?
        private(set) var externalParts: [(filename: String, part: String)] = []
        private(set) var hasSidecar = false
        private var field = ""
        private var filename: String?
        private var file: StagingFile?
        private var nameBytes: [UInt8] = []
        private var failure: (any Error)?

        init(staging: URL, boundary: String) {
            self.staging = staging
            self.parser = MultipartParser(boundary: boundary)
            parser.onHeader = { [unowned self] name, value in self.header(name, value) }
            parser.onBody = { [unowned self] body in self.body(body) }
            parser.onPartComplete = { [unowned self] in self.complete() }
        }

        func execute(_ chunk: ByteBuffer) throws {
            do { try parser.execute(chunk) } catch {
                throw Problem.badRequest("invalid-upload", "the multipart body is malformed: \(error)")
            }
            if let failure { throw failure }
        }

        /// Every part must have ended: a body cut short is refused, not read as far as it goes.
        func finish() throws {
            if let failure { throw failure }
            guard file == nil, field.isEmpty, nameBytes.isEmpty else {
                throw Problem.badRequest("invalid-upload", "the multipart body ends inside its '\(field)' part")
            }
        }

        private func header(_ name: String, _ value: String) {
            guard name.lowercased() == "content-disposition" else { return }
            for item in value.split(separator: ";").map({ $0.trimmingCharacters(in: .whitespaces) }) {
                let pair = item.split(separator: "=", maxSplits: 1).map(String.init)
                guard pair.count == 2 else { continue }
                let unquoted = pair[1].trimmingCharacters(in: CharacterSet(charactersIn: "\""))
                if pair[0] == "name" { field = unquoted }
                if pair[0] == "filename" { filename = unquoted }
            }
        }

        /// The file a part's bytes go to, opened at its first bytes.
        private func openFile() throws -> StagingFile? {
            if let file { return file }
            let part: String
            switch field {
            case "name": return nil
            case "model": part = UploadReceiver.modelPart
            case "sidecar": part = UploadReceiver.sidecarPart
            case "external_data":
                guard let filename, !filename.isEmpty else {
                    throw Problem.badRequest(
                        "invalid-upload", "each 'external_data' part needs a filename: the location the model refers to")
                }
                part = ".part-\(externalParts.count)"
            default:
                throw Problem.badRequest("invalid-upload", "unknown part '\(field)'; expected name, model, sidecar, external_data")
            }
            let opened = try StagingFile(staging.appendingPathComponent(part))
            file = opened
            return opened
        }

        private func body(_ body: ByteBuffer) {
            guard failure == nil else { return }
            do {
                if let file = try openFile() {
                    try file.write(body)
                } else {
                    guard nameBytes.count + body.readableBytes <= UploadReceiver.maximumNameBytes else {
                        throw Problem.badRequest("invalid-upload", "the 'name' part is longer than a model name can be")
                    }
                    nameBytes += body.readableBytesView
                }
            } catch {
                failure = error
            }
        }

        private func complete() {
            guard failure == nil else { return }
            do {
                // A part with no bytes still counts (an empty model part is refused later).
                let file = try openFile()
                try file?.close()
                switch field {
                case "name": name = String(decoding: nameBytes, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
                case "external_data": externalParts.append((filename ?? "", ".part-\(externalParts.count)"))
                case "sidecar": hasSidecar = true
                default: break
                }
            } catch {
                failure = error
            }
            field = ""
            filename = nil
            file = nil
            nameBytes = []
        }
    }
}

/// A file in the staging directory written chunk by chunk with `write(2)`, straight from the
/// body's buffers.
final class StagingFile {
    private var descriptor: Int32
    let url: URL

    init(_ url: URL) throws {
        self.url = url
        descriptor = open(url.path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard descriptor >= 0 else { throw Self.failed() }
    }

    deinit { if descriptor >= 0 { _ = Glibc.close(descriptor) } }

    func write(_ buffer: ByteBuffer) throws {
        try buffer.withUnsafeReadableBytes { bytes in
            var offset = 0
            while offset < bytes.count {
                let written = Glibc.write(descriptor, bytes.baseAddress.map { $0 + offset }, bytes.count - offset)
                guard written > 0 else {
                    if written < 0 && errno == EINTR { continue }
                    throw Self.failed()
                }
                offset += written
            }
        }
    }

    func close() throws {
        guard descriptor >= 0 else { return }
        let result = Glibc.close(descriptor)
        descriptor = -1
        guard result == 0 else { throw Self.failed() }
    }

    private static func failed() -> Problem {
        Problem(.internalServerError, code: "storage-failed", detail: "the model could not be written to the models folder")
    }
}
