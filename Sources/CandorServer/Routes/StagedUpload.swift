import CandorModel
import Foundation
import HTTPTypes

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
