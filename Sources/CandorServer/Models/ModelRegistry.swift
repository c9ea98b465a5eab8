import CandorModel
import Foundation
import Logging
import Synchronization

/// The models the service serves, by name, backed by the models folder.
///
/// Loaded models are immutable and shared read-only by every worker. Adding writes the files
/// under temporary names and renames them into place (the `.onnx` last), so the folder never
/// holds a half-written model; a model that fails validation is refused before anything is
/// written. A file in the folder that fails to load is logged and listed in `failures`, and
/// the service keeps running.
public final class ModelRegistry: Sendable {
    public let directory: URL
    private let state = Mutex(State())
    /// Held across a whole add or remove (check, write, commit), so concurrent changes cannot
    /// interleave on disk.
    private let changes = NSLock()
    private let logger: Logger

    struct State {
        var models: [String: LoadedModel] = [:]
        var failures: [String: String] = [:]
        var hasScanned = false
    }

    public init(directory: URL, logger: Logger) {
        self.directory = directory
        self.logger = logger
    }

    /// Loads every model in the folder: `NAME.onnx` (with its external data), XGBoost's
    /// `NAME.json` and LightGBM's `NAME.txt`, each with its sidecar `NAME.yaml`.
    public func loadDirectory() {
        let files = (try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? []
        if files.isEmpty { logger.warning("no models found", metadata: ["directory": "\(directory.path)"]) }
        var loaded: [String: LoadedModel] = [:]
        var failures: [String: String] = [:]
        for file in files.sorted() where [".onnx", ".json", ".txt"].contains(where: file.hasSuffix) {
            let fileExtension = file.split(separator: ".").last.map(String.init) ?? ""
            let name = String(file.dropLast(fileExtension.count + 1))
            do {
                let data = try Data(contentsOf: directory.appendingPathComponent(file), options: .alwaysMapped)
                // Other JSON and text files (background rows, notes) are not models.
                let format: LoadedModel.ModelFormat? =
                    switch fileExtension {
                    case "onnx": .onnx
                    case "json": LoadedModel.ModelFormat.sniffJSON(data)
                    default: LoadedModel.ModelFormat.sniffText(data)
                    }
                guard let format else { continue }
                guard LoadedModel.isValidName(name) else {
                    failures[name] = "'\(file)': model names may use letters, digits, '.', '_' and '-' (at most 64)"
                    continue
                }
                guard loaded[name] == nil, failures[name] == nil else {
                    failures[name] = "'\(file)': another model file has the same name"
                    continue
                }
                let sidecarURL = directory.appendingPathComponent("\(name).yaml")
                let sidecar = FileManager.default.fileExists(atPath: sidecarURL.path) ? try Data(contentsOf: sidecarURL) : nil
                let model = try LoadedModel.load(
                    name: name, format: format, data: data, externalData: .directory(directory), sidecar: sidecar)
                loaded[name] = model
                logger.info(
                    "loaded model",
                    metadata: [
                        "model": "\(name)", "sha256": "\(model.sha256)", "format": "\(format.rawValue)",
                        "operators": "\((model.onnx?.operatorTypes ?? []).joined(separator: ","))",
                    ])
            } catch {
                failures[name] = "\(error)"
                logger.error("refused model", metadata: ["model": "\(name)", "reason": "\(error)"])
            }
        }
        state.withLock {
            $0.models = loaded
            $0.failures = failures
            $0.hasScanned = true
        }
    }

    public func model(named name: String) -> LoadedModel? { state.withLock { $0.models[name] } }

    /// Every loaded model, by name.
    public var models: [LoadedModel] { state.withLock { $0.models.values.sorted { $0.name < $1.name } } }

    /// Files that could not be loaded, with the reason.
    public var failures: [String: String] { state.withLock { $0.failures } }

    public var hasScanned: Bool { state.withLock { $0.hasScanned } }
    public var count: Int { state.withLock { $0.models.count } }

    /// Why an add or remove cannot be done.
    enum ChangeError: Error {
        case exists(String)
        /// A file of the new model would replace another model's file.
        case fileConflict(String)
        case missing(String)
        case storage(String)
    }

    /// Validates and stores a new model, replacing one of the same name only if asked.
    func add(_ model: LoadedModel, data: Data, externalFiles: [String: Data], sidecar: Data?, replacing: Bool) throws(ChangeError) {
        changes.lock()
        defer { changes.unlock() }
        let (exists, othersFiles) = state.withLock { state in
            (state.models[model.name] != nil, Set(state.models.values.filter { $0.name != model.name }.flatMap(\.files)))
        }
        if exists && !replacing { throw .exists(model.name) }
        // The new model's own files must not be another model's (an XGBoost `B.json` where
        // another model keeps its background rows, say).
        for file in ["\(model.name).\(model.format.fileExtension)", "\(model.name).yaml"] where othersFiles.contains(file) {
            throw .fileConflict(file)
        }
        for file in externalFiles.keys {
            if othersFiles.contains(file) || file.hasSuffix(".onnx") || file.hasSuffix(".yaml") || file.hasPrefix(".")
                || file == "\(model.name).json" || file == "\(model.name).txt"
            {
                throw .fileConflict(file)
            }
        }
        let staging = directory.appendingPathComponent(".upload-\(UUID().uuidString)")
        let manager = FileManager.default
        do {
            try manager.createDirectory(at: staging, withIntermediateDirectories: true)
            defer { try? manager.removeItem(at: staging) }
            var ordered: [(String, Data)] = externalFiles.sorted { $0.key < $1.key }.map { ($0.key, $0.value) }
            if let sidecar { ordered.append(("\(model.name).yaml", sidecar)) }
            ordered.append(("\(model.name).\(model.format.fileExtension)", data))
            for (file, data) in ordered {
                let staged = staging.appendingPathComponent(file)
                try manager.createDirectory(at: staged.deletingLastPathComponent(), withIntermediateDirectories: true)
                try data.write(to: staged)
            }
            for (file, _) in ordered {
                let target = directory.appendingPathComponent(file)
                try manager.createDirectory(at: target.deletingLastPathComponent(), withIntermediateDirectories: true)
                if rename(staging.appendingPathComponent(file).path, target.path) != 0 {
                    throw ChangeError.storage("cannot move \(file) into the models folder (errno \(errno))")
                }
            }
        } catch let error as ChangeError {
            throw error
        } catch {
            throw .storage("cannot write the model to the models folder: \(error.localizedDescription)")
        }
        let replaced = state.withLock { state in
            defer {
                state.models[model.name] = model
                state.failures[model.name] = nil
            }
            return state.models[model.name]
        }
        // Files of the replaced version the new one no longer has (an old sidecar, old external
        // data) would come back at the next start: remove those no other model uses.
        if let replaced {
            let kept = Set(model.files).union(othersFiles)
            for file in replaced.files where !kept.contains(file) {
                try? FileManager.default.removeItem(at: directory.appendingPathComponent(file))
            }
        }
        logger.info("added model", metadata: ["model": "\(model.name)", "sha256": "\(model.sha256)"])
    }

    /// Stops serving a model and deletes its files.
    func remove(_ name: String) throws(ChangeError) {
        changes.lock()
        defer { changes.unlock() }
        guard let model = state.withLock({ $0.models.removeValue(forKey: name) }) else { throw .missing(name) }
        let stillUsed = Set(models.flatMap(\.files))
        for file in model.files where !stillUsed.contains(file) {
            try? FileManager.default.removeItem(at: directory.appendingPathComponent(file))
        }
        logger.info("removed model", metadata: ["model": "\(name)"])
    }
}
