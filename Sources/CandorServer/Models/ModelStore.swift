import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// The models folder on disk, laid out so that a crash at any moment leaves either the old
/// version of a model or the new one, never a mix of their files.
///
/// Files users drop in by hand keep the flat layout (`NAME.onnx`, its external data,
/// `NAME.yaml`). An uploaded model is one directory holding every file of that version, in
/// the same flat layout, under `.versions/NAME@ID/`; the symbolic link `.versions/NAME` names
/// the version served, and replacing a model switches that link with one `rename(2)` — the
/// only step that changes what a restart loads. An uploaded version takes precedence over
/// loose files of the same name.
///
/// An upload is written into a staging directory `.upload-ID` first; staging directories,
/// half-made links and versions no link names are what a killed upload leaves behind, and
/// `removeLeftovers()` deletes them at start.
struct ModelStore {
    let directory: URL

    /// Where uploaded versions and the links to them live.
    var versions: URL { directory.appendingPathComponent(".versions") }

    static let stagingPrefix = ".upload-"

    /// A new, empty staging directory for one upload.
    func makeStaging() throws -> URL {
        let staging = directory.appendingPathComponent("\(Self.stagingPrefix)\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: staging, withIntermediateDirectories: true)
        return staging
    }

    /// The served version directory of each uploaded model, by name.
    func currentVersions() -> [String: URL] {
        let manager = FileManager.default
        var result: [String: URL] = [:]
        for entry in (try? manager.contentsOfDirectory(atPath: versions.path)) ?? [] where LoadedModel.isValidName(entry) {
            guard let target = try? manager.destinationOfSymbolicLink(atPath: versions.appendingPathComponent(entry).path),
                Self.isVersion(target, of: entry)
            else { continue }
            result[entry] = versions.appendingPathComponent(target)
        }
        return result
    }

    /// Deletes what an interrupted upload or removal left: staging directories, temporary
    /// links, and version directories no link names.
    func removeLeftovers() -> [String] {
        let manager = FileManager.default
        var removed: [String] = []
        for entry in (try? manager.contentsOfDirectory(atPath: directory.path)) ?? [] where entry.hasPrefix(Self.stagingPrefix) {
            if (try? manager.removeItem(at: directory.appendingPathComponent(entry))) != nil { removed.append(entry) }
        }
        let served = Set(currentVersions().values.map(\.lastPathComponent))
        for entry in (try? manager.contentsOfDirectory(atPath: versions.path)) ?? [] {
            let isOrphan = entry.hasPrefix(".") || (entry.contains("@") && !served.contains(entry))
            if isOrphan, (try? manager.removeItem(at: versions.appendingPathComponent(entry))) != nil {
                removed.append(".versions/\(entry)")
            }
        }
        return removed
    }

    /// Makes a staged version the one served: its files and directory are flushed to disk, it
    /// moves into `.versions` under a new id, and the model's link is switched to it by one
    /// rename. Returns the new version's directory and the one it replaced, if any (which the
    /// caller deletes once nothing serves it).
    func publish(_ staging: URL, name: String) throws -> (version: URL, replaced: URL?) {
        try FileManager.default.createDirectory(at: versions, withIntermediateDirectories: true)
        try Self.flushTree(staging)
        CrashPoint.reach("staged")
        let id = UUID().uuidString
        let version = versions.appendingPathComponent("\(name)@\(id)")
        try Self.check(rename(staging.path, version.path), "move the staged upload into .versions")
        try Self.flush(versions)
        CrashPoint.reach("versioned")
        let replaced = currentVersions()[name]
        let temporaryLink = versions.appendingPathComponent(".link-\(id)")
        try Self.check(symlink("\(name)@\(id)", temporaryLink.path), "link the new version")
        try Self.flush(versions)
        CrashPoint.reach("linked")
        // The switch: after this rename a restart serves the new version, before it the old.
        try Self.check(rename(temporaryLink.path, versions.appendingPathComponent(name).path), "switch to the new version")
        try Self.flush(versions)
        CrashPoint.reach("switched")
        return (version, replaced)
    }

    /// Stops a restart from serving an uploaded model: the link goes first (one unlink), then
    /// the version's files.
    func unpublish(_ name: String, version: URL) {
        _ = unlink(versions.appendingPathComponent(name).path)
        try? Self.flush(versions)
        try? FileManager.default.removeItem(at: version)
    }

    /// Whether a link target names a version directory of the model (`NAME@ID`, no path).
    private static func isVersion(_ target: String, of name: String) -> Bool {
        target.hasPrefix("\(name)@") && !target.contains("/") && target.count > name.count + 1
    }

    static func check(_ result: Int32, _ what: String) throws {
        guard result == 0 else { throw StoreError(description: "cannot \(what): \(String(cString: strerror(errno)))") }
    }

    /// fsync of every file and directory under `root` (and `root` itself), so a power loss
    /// after the switch cannot leave the link pointing at files the disk never received.
    private static func flushTree(_ root: URL) throws {
        if let enumerator = FileManager.default.enumerator(atPath: root.path) {
            while let path = enumerator.nextObject() as? String { try flush(root.appendingPathComponent(path)) }
        }
        try flush(root)
    }

    static func flush(_ url: URL) throws {
        let descriptor = open(url.path, O_RDONLY)
        guard descriptor >= 0 else { throw StoreError(description: "cannot open \(url.lastPathComponent) to flush it") }
        defer { close(descriptor) }
        try check(fsync(descriptor), "flush \(url.lastPathComponent)")
    }

    struct StoreError: Error, CustomStringConvertible {
        let description: String
    }
}

/// A test hook: with `CANDOR_TEST_CRASH_AT=<step>` in the environment, the process kills
/// itself with SIGKILL when an upload reaches that step, so tests can show that a restart
/// after `kill -9` at any step serves a whole model version. Unset, it does nothing.
enum CrashPoint {
    static let armed = ProcessInfo.processInfo.environment["CANDOR_TEST_CRASH_AT"]

    /// The steps of an upload, in order.
    static let steps = ["streamed", "staged", "versioned", "linked", "switched", "cleaned"]

    static func reach(_ step: String) {
        if armed == step { kill(getpid(), SIGKILL) }
    }
}
