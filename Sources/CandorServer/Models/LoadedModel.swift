import CandorModel
import Crypto
import Foundation

/// A model the service serves: the loaded graph, its sidecar metadata, and the SHA-256 that
/// identifies its exact bytes (the ONNX file and every external data file it reads).
public struct LoadedModel: Sendable {
    public let name: String
    public let sha256: String
    public let model: ONNXModel
    public let metadata: ModelMetadata
    /// SHA-256 of the name, the model's bytes and the sidecar: what a cached answer (which
    /// carries the name and the class names) depends on, computed once here.
    let identity: String
    /// Files in the models folder that make up this model (for removal).
    let files: [String]

    /// Loads and validates a model from its bytes; nothing is written anywhere.
    static func load(
        name: String, onnx: Data, externalData: ExternalDataResolver.Source, sidecar: Data?
    ) throws -> LoadedModel {
        let resolver = ExternalDataResolver(externalData)
        let model = try ONNXModelLoader.load(onnx, externalData: resolver)
        guard let batchAxis = model.inputs.first?.shape.first, model.inputs.allSatisfy({ $0.shape.first == batchAxis }) else {
            throw ModelError(.unsupportedFeature, "the model needs inputs that all share a batch axis, first, to be served")
        }
        // Explanations are per instance: every output keeps the batch axis first and holds a
        // fixed number of values per instance.
        for output in model.outputs
        where output.shape.first != batchAxis || !output.shape.dropFirst().allSatisfy({ ($0.fixedValue ?? 0) > 0 }) {
            throw ModelError(
                .unsupportedFeature,
                "output '\(output.name)' has shape [\(output.shape.map(\.description).joined(separator: ", "))]: Candor needs every output to keep the batch axis (\(batchAxis)) first and a fixed, non-empty shape per instance"
            )
        }
        let metadata = try sidecar.map { try ModelMetadata.parse($0, file: "\(name).yaml") } ?? ModelMetadata()
        if let names = metadata.featureNames, let width = model.inputs.first?.instanceShape.first?.fixedValue,
            model.inputs.count == 1, model.inputs[0].instanceShape.count == 1, names.count != width
        {
            throw ModelMetadata.SidecarError(description: "\(name).yaml names \(names.count) features but the model's input has \(width)")
        }
        var hash = SHA256()
        hash.update(data: onnx)
        for (location, data) in resolver.filesRead.sorted(by: { $0.key < $1.key }) {
            hash.update(data: Data(location.utf8))
            hash.update(data: data)
        }
        let sha256 = hash.finalize().hexString
        let files = ["\(name).onnx"] + resolver.filesRead.keys.sorted() + (sidecar == nil ? [] : ["\(name).yaml"])
        var identity = SHA256()
        identity.update(data: Data("\(name)\n\(sha256)\n".utf8))
        identity.update(data: sidecar ?? Data())
        return LoadedModel(
            name: name, sha256: sha256, model: model, metadata: metadata, identity: identity.finalize().hexString, files: files)
    }

    /// Names addressable in URLs and safe as file names.
    static func isValidName(_ name: String) -> Bool {
        guard (1...64).contains(name.count), let first = name.unicodeScalars.first,
            CharacterSet.alphanumerics.contains(first), first.isASCII
        else { return false }
        return name.unicodeScalars.allSatisfy {
            $0.isASCII && (CharacterSet.alphanumerics.contains($0) || "._-".unicodeScalars.contains($0))
        }
    }
}
