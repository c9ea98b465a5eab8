import CandorExplain
import CandorImage
import CandorModel
import CandorTensor
import Crypto
import Foundation

/// A model the service serves: the loaded graph, its sidecar metadata, and the SHA-256 that
/// identifies its exact bytes (the ONNX file and every external data file it reads).
public struct LoadedModel: Sendable {
    public let name: String
    public let sha256: String
    public let model: any PredictiveModel
    /// The ONNX graph, for an ONNX model (its producer, operators and layers).
    public let onnx: ONNXModel?
    public let format: ModelFormat
    public let metadata: ModelMetadata
    /// What the sidecar says about the training data, in the form the explainers use.
    public let dataset: DatasetSummary
    /// How pictures become the image inputs, by input name (`ImageInputs`).
    public let imageInputs: [String: ImagePreprocessing]
    /// How text becomes the inputs, for a model whose sidecar names a tokenizer.
    let text: TextInputs?
    /// SHA-256 of the name, the model's bytes and the sidecar: what a cached answer (which
    /// carries the name and the class names) depends on, computed once here.
    let identity: String
    /// Files in the models folder that make up this model (for removal).
    let files: [String]

    /// The file formats a model may come in, by extension.
    public enum ModelFormat: String, Sendable {
        /// `NAME.onnx`, with external data beside it.
        case onnx
        /// `NAME.json`, as XGBoost's `save_model` writes it.
        case xgboost
        /// `NAME.txt`, as LightGBM's `save_model` writes it.
        case lightgbm

        public var fileExtension: String {
            switch self {
            case .onnx: "onnx"
            case .xgboost: "json"
            case .lightgbm: "txt"
            }
        }

        /// The format of a model file's bytes: XGBoost's JSON or LightGBM's text if they look
        /// like one, else ONNX (whose loader says what is wrong).
        static func sniff(_ data: Data) -> ModelFormat {
            sniffJSON(data) ?? (sniffText(data) ?? .onnx)
        }

        /// LightGBM's text models start with a `tree` line and a `version=` line.
        static func sniffText(_ data: Data) -> ModelFormat? {
            let head = String(decoding: data.prefix(64), as: UTF8.self)
            return head.hasPrefix("tree\n") && head.contains("version=") ? .lightgbm : nil
        }

        /// The format of a `.json` file: XGBoost's model files are an object with a `learner`
        /// (other JSON files in the folder, such as background rows, are not models).
        static func sniffJSON(_ data: Data) -> ModelFormat? {
            let head = String(decoding: data.prefix(256), as: UTF8.self)
            return head.drop { $0.isWhitespace }.hasPrefix("{") && head.contains("\"learner\"") ? .xgboost : nil
        }
    }

    /// Loads the model file `file` (`NAME.onnx`, `.json` or `.txt`) from `folder`, with the
    /// external data beside it and its sidecar `NAME.yaml`; nil when the file is JSON or text
    /// that is not a model (background rows, notes). The file is mapped, not read.
    static func load(name: String, file: String, folder: URL) throws -> LoadedModel? {
        let data = try Data(contentsOf: folder.appendingPathComponent(file), options: .alwaysMapped)
        let format: ModelFormat? =
            if file.hasSuffix(".onnx") { .onnx } else if file.hasSuffix(".json") { ModelFormat.sniffJSON(data) } else {
                ModelFormat.sniffText(data)
            }
        guard let format else { return nil }
        guard isValidName(name) else {
            throw InvalidName(description: "'\(file)': model names may use letters, digits, '.', '_' and '-' (at most 64)")
        }
        let sidecarURL = folder.appendingPathComponent("\(name).yaml")
        let sidecar = FileManager.default.fileExists(atPath: sidecarURL.path) ? try Data(contentsOf: sidecarURL) : nil
        return try load(name: name, format: format, data: data, externalData: .directory(folder), sidecar: sidecar)
    }

    /// Loads and validates an ONNX model from its bytes; nothing is written anywhere.
    static func load(
        name: String, onnx: Data, externalData: ExternalDataResolver.Source, sidecar: Data?
    ) throws -> LoadedModel {
        try load(name: name, format: .onnx, data: onnx, externalData: externalData, sidecar: sidecar)
    }

    /// Loads and validates a model from its bytes; nothing is written anywhere.
    static func load(
        name: String, format: ModelFormat, data: Data, externalData: ExternalDataResolver.Source, sidecar: Data?
    ) throws -> LoadedModel {
        let resolver = ExternalDataResolver(externalData)
        let model: any PredictiveModel
        let onnx: ONNXModel?
        switch format {
        case .onnx where ONNXTreeEnsembleLoader.holdsTreeEnsemble(data):
            (model, onnx) = (try ONNXTreeEnsembleLoader.load(data), nil)
        case .onnx:
            let graph = try ONNXModelLoader.load(data, externalData: resolver)
            (model, onnx) = (graph, graph)
        case .xgboost:
            (model, onnx) = (try XGBoostModelLoader.load(data), nil)
        case .lightgbm:
            (model, onnx) = (try LightGBMModelLoader.load(data), nil)
        }
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
        hash.update(data: data)
        for (location, data) in resolver.filesRead.sorted(by: { $0.key < $1.key }) {
            hash.update(data: Data(location.utf8))
            hash.update(data: data)
        }
        let sha256 = hash.finalize().hexString
        var identity = SHA256()
        identity.update(data: Data("\(name)\n\(sha256)\n".utf8))
        identity.update(data: sidecar ?? Data())
        let dataset = try datasetSummary(metadata, model: model, resolver: resolver, name: name, identity: &identity)
        let imageInputs = try ImageInputs.resolve(declared: metadata.imageInputs ?? [:], inputs: model.inputs, sidecar: "\(name).yaml")
        let text = try metadata.tokenizer.map { file in
            let data = try resolver.file(file, for: "\(name).yaml tokenizer")
            guard data.count <= maximumSidecarFileBytes else {
                throw ModelMetadata.SidecarError(
                    description: "\(name).yaml: tokenizer \(file) has \(data.count) bytes, more than the \(maximumSidecarFileBytes) allowed"
                )
            }
            identity.update(data: data)
            return try TextInputs(file: file, data: data, model: model, onnx: onnx, sidecar: "\(name).yaml")
        }
        let files = ["\(name).\(format.fileExtension)"] + resolver.filesRead.keys.sorted() + (sidecar == nil ? [] : ["\(name).yaml"])
        return LoadedModel(
            name: name, sha256: sha256, model: model, onnx: onnx, format: format, metadata: metadata, dataset: dataset,
            imageInputs: imageInputs, text: text, identity: identity.finalize().hexString, files: files)
    }

    /// The sidecar's statistics and background file, checked against the model: a sidecar
    /// whose numbers do not fit the model refuses the model, naming what is wrong.
    private static func datasetSummary(
        _ metadata: ModelMetadata, model: any PredictiveModel, resolver: ExternalDataResolver, name: String, identity: inout SHA256
    ) throws -> DatasetSummary {
        let sidecar = "\(name).yaml"
        var summary = DatasetSummary(featureNames: metadata.featureNames, classNames: metadata.classNames)
        do {
            summary.domains = try FeatureDomains(
                integerNames: metadata.integerFeatures ?? [], categoricalValues: metadata.categoricalFeatures ?? [:],
                immutableNames: metadata.immutableFeatures ?? [], featureNames: metadata.featureNames)
        } catch {
            throw ModelMetadata.SidecarError(description: "\(sidecar): \(error)")
        }
        if let stored = metadata.trainingStatistics {
            let width =
                model.inputs.count == 1 && model.inputs[0].instanceShape.count == 1 ? model.inputs[0].instanceShape[0].fixedValue : nil
            do { summary.statistics = try TrainingStatistics(stored, featureCount: width) } catch {
                throw ModelMetadata.SidecarError(description: "\(sidecar): \(error)")
            }
        }
        if let file = metadata.background {
            let data = try resolver.file(file, for: "\(sidecar) background")
            guard data.count <= maximumSidecarFileBytes else {
                throw ModelMetadata.SidecarError(
                    description:
                        "\(sidecar): background file \(file) has \(data.count) bytes, more than the \(maximumSidecarFileBytes) allowed")
            }
            identity.update(data: data)
            let parsed = data.withUnsafeBytes { bytes in Result { () throws(JSONParser.Failure) in try JSONParser.parse(bytes) } }
            let value: JSONValue
            switch parsed {
            case .success(let parsedValue): value = parsedValue
            case .failure(let failure):
                throw ModelMetadata.SidecarError(description: "\(sidecar): background file \(file) is not valid JSON: \(failure)")
            }
            var inputs: [(name: String, shape: [Int])] = []
            for input in model.inputs {
                let shape = input.instanceShape.compactMap(\.fixedValue)
                guard shape.count == input.instanceShape.count else {
                    throw ModelMetadata.SidecarError(
                        description: "\(sidecar): a background file needs inputs of fixed instance shape; '\(input.name)' has a free axis")
                }
                inputs.append((input.name, shape))
            }
            do {
                let rows = try BackgroundRows.parse(
                    value, inputs: inputs, what: "background file \(file)", allowingMissing: model is TreeEnsemble)
                summary = summary.withBackground(rows, source: file)
            } catch {
                throw ModelMetadata.SidecarError(description: "\(sidecar): \(error.message)")
            }
        }
        return summary
    }

    /// The largest background or tokenizer file a sidecar may name (each is parsed whole into
    /// memory).
    static let maximumSidecarFileBytes = 64 << 20

    struct InvalidName: Error, CustomStringConvertible {
        let description: String
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
