import CandorModel
import Foundation
import Logging
import Synchronization

/// The models the service serves, by name, backed by the models folder (`ModelStore`).
///
/// Loaded models are immutable and shared read-only by every worker. An upload is validated
/// from its staging directory and published as a whole version by one rename, so the folder
/// never holds a half-written or mixed model, even after `kill -9`. A file in the folder that
/// fails to load is logged and listed in `failures`, and the service keeps running.
public final class ModelRegistry: Sendable {
    public let directory: URL
    let store: ModelStore
    private let state = Mutex(State())
    /// Held across a whole add or remove (check, write, commit), so concurrent changes cannot
    /// interleave on disk.
    private let changes = NSLock()
    private let logger: Logger

    struct State {
        var models: [String: LoadedModel] = [:]
        /// The version directory of each uploaded model; loose models have none.
        var versions: [String: URL] = [:]
        var failures: [String: String] = [:]
        var hasScanned = false
    }

    public init(directory: URL, logger: Logger) {
        self.directory = directory
        self.store = ModelStore(directory: directory)
        self.logger = logger
    }

    /// Removes what an interrupted upload left, then loads every model in the folder: loose
    /// `NAME.onnx` (with its external data), XGBoost's `NAME.json` and LightGBM's `NAME.txt`,
    /// each with its sidecar `NAME.yaml`; then every uploaded version, which takes the place
    /// of loose files of the same name.
    public func loadDirectory() {
        let leftovers = store.removeLeftovers()
        if !leftovers.isEmpty {
            logger.warning("removed what an interrupted upload left", metadata: ["entries": "\(leftovers.joined(separator: ", "))"])
        }
        let files = (try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? []
        var loaded: [String: LoadedModel] = [:]
        var failures: [String: String] = [:]
        for file in files.sorted() where [".onnx", ".json", ".txt"].contains(where: file.hasSuffix) && !file.hasPrefix(".") {
            let fileExtension = file.split(separator: ".").last.map(String.init) ?? ""
            let name = String(file.dropLast(fileExtension.count + 1))
            do {
                guard let model = try LoadedModel.load(name: name, file: file, folder: directory) else { continue }
                guard loaded[name] == nil, failures[name] == nil else {
                    failures[name] = "'\(file)': another model file has the same name"
                    continue
                }
                loaded[name] = model
            } catch {
                failures[name] = "\(error)"
            }
        }
        let versions = store.currentVersions()
        for (name, version) in versions {
            loaded[name] = nil
            failures[name] = nil
            do {
                let file = ["onnx", "json", "txt"].map { "\(name).\($0)" }.first {
                    FileManager.default.fileExists(atPath: version.appendingPathComponent($0).path)
                }
                guard let file, let model = try LoadedModel.load(name: name, file: file, folder: version) else {
                    throw ModelStore.StoreError(description: "the uploaded version \(version.lastPathComponent) holds no model file")
                }
                loaded[name] = model
            } catch {
                failures[name] = "\(error)"
            }
        }
        for model in loaded.values.sorted(by: { $0.name < $1.name }) {
            logger.info(
                "loaded model",
                metadata: [
                    "model": "\(model.name)", "sha256": "\(model.sha256)", "format": "\(model.format.rawValue)",
                    "operators": "\((model.onnx?.operatorTypes ?? []).joined(separator: ","))",
                ])
        }
        for (name, reason) in failures.sorted(by: { $0.key < $1.key }) {
            logger.error("refused model", metadata: ["model": "\(name)", "reason": "\(reason)"])
        }
        state.withLock {
            $0.models = loaded
            $0.versions = versions.filter { loaded[$0.key] != nil }
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
        case missing(String)
        case storage(String)
    }

    /// Publishes a validated model from its staging directory (which holds exactly its
    /// files), replacing one of the same name only if asked. Once the new version is served,
    /// the version it replaced is deleted — or, for a loose model, its files that no other
    /// loose model uses.
    func add(_ model: LoadedModel, staging: URL, replacing: Bool) throws(ChangeError) {
        changes.lock()
        defer { changes.unlock() }
        if !replacing, state.withLock({ $0.models[model.name] != nil }) { throw .exists(model.name) }
        let published: (version: URL, replaced: URL?)
        do { published = try store.publish(staging, name: model.name) } catch {
            throw .storage("\(error)")
        }
        let (replaced, wasLoose, looseFiles) = state.withLock { state in
            let replaced = state.models[model.name]
            let wasLoose = replaced != nil && state.versions[model.name] == nil
            state.models[model.name] = model
            state.versions[model.name] = published.version
            state.failures[model.name] = nil
            return (replaced, wasLoose, Self.looseFiles(state, except: model.name))
        }
        if let old = published.replaced { try? FileManager.default.removeItem(at: old) }
        // A loose model's files would come back at the next start were they kept — but the
        // uploaded version takes precedence, so a crash before this point is harmless.
        if let replaced, wasLoose {
            for file in replaced.files where !looseFiles.contains(file) {
                try? FileManager.default.removeItem(at: directory.appendingPathComponent(file))
            }
        }
        CrashPoint.reach("cleaned")
        logger.info("added model", metadata: ["model": "\(model.name)", "sha256": "\(model.sha256)"])
    }

    /// Stops serving a model and deletes its files (an uploaded model's link first, then its
    /// version directory).
    func remove(_ name: String) throws(ChangeError) {
        changes.lock()
        defer { changes.unlock() }
        let removed = state.withLock { state -> (LoadedModel, URL?, Set<String>)? in
            guard let model = state.models.removeValue(forKey: name) else { return nil }
            return (model, state.versions.removeValue(forKey: name), Self.looseFiles(state, except: name))
        }
        guard let removed else { throw .missing(name) }
        let (model, version, stillUsed) = removed
        if let version {
            store.unpublish(name, version: version)
        } else {
            for file in model.files where !stillUsed.contains(file) {
                try? FileManager.default.removeItem(at: directory.appendingPathComponent(file))
            }
        }
        logger.info("removed model", metadata: ["model": "\(name)"])
    }

    /// The files loose models other than `name` read, relative to the models folder.
    private static func looseFiles(_ state: State, except name: String) -> Set<String> {
        Set(state.models.values.filter { $0.name != name && state.versions[$0.name] == nil }.flatMap(\.files))
    }
}
