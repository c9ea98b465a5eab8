import Foundation

/// Reads tensor bytes that an ONNX file keeps in separate files (`data_location: EXTERNAL`),
/// as PyTorch's dynamo exporter and `onnx.save(..., save_as_external_data=True)` write them.
///
/// Locations are resolved inside the model's folder only: an absolute path or one that
/// climbs out with `..` is refused, so a hostile model cannot read other files on the host.
/// Reference: https://onnx.ai/onnx/repo-docs/ExternalData.html
public struct ExternalDataResolver: Sendable {
    /// Where external files are looked up: a folder on disk or in-memory files by name.
    public enum Source: Sendable {
        case directory(URL)
        case files([String: Data])
        case none
    }

    public let source: Source
    private let cache = ExternalFileCache()

    public init(_ source: Source) {
        self.source = source
    }

    /// Every external file read so far, by location (to hash and to list a model's files).
    public var filesRead: [String: Data] { cache.all }

    func bytes(for entries: [Onnx_StringStringEntryProto], tensor: String) throws(ModelError) -> Data {
        var location: String?
        var offset = 0
        var length: Int?
        for entry in entries {
            switch entry.key {
            case "location": location = entry.value
            case "offset":
                guard let value = Int(entry.value), value >= 0 else {
                    throw ModelError(.externalData, "tensor \(tensor): invalid external data offset '\(entry.value)'")
                }
                offset = value
            case "length":
                guard let value = Int(entry.value), value >= 0 else {
                    throw ModelError(.externalData, "tensor \(tensor): invalid external data length '\(entry.value)'")
                }
                length = value
            default: continue  // `checksum` and unknown keys are informational
            }
        }
        guard let location, !location.isEmpty else {
            throw ModelError(.externalData, "tensor \(tensor) is stored externally but names no location")
        }
        let file = try file(location, for: "tensor \(tensor)")
        let available = file.count - min(offset, file.count)
        guard offset <= file.count, (length ?? available) <= available else {
            throw ModelError(
                .externalData,
                "tensor \(tensor): \(length.map(String.init) ?? "the") bytes at offset \(offset) lie beyond the end of '\(location)' (\(file.count) bytes)"
            )
        }
        // A slice, not a copy: the file is mapped, and a copy would hold the weights in memory
        // once more while they are decoded.
        return file[(file.startIndex + offset)..<(file.startIndex + offset + (length ?? available))]
    }

    /// The bytes of a file beside the model (external weights, or a file the model's sidecar
    /// names), by its relative location; `user` names what refers to it, for messages.
    public func file(_ location: String, for user: String) throws(ModelError) -> Data {
        guard let relative = Self.confinedLocation(location) else {
            throw ModelError(.externalData, "\(user): location '\(location)' must be a relative path inside the model's folder")
        }
        return try contents(of: relative, user: user)
    }

    /// A location as a relative path that stays inside the model's folder (empty components
    /// dropped), or nil for an absolute path, one with `..` or `.`, or a backslash.
    public static func confinedLocation(_ location: String) -> String? {
        let components = location.split(separator: "/", omittingEmptySubsequences: true)
        guard !location.hasPrefix("/"), !location.contains("\\"), !components.contains(".."), !components.contains("."),
            !components.isEmpty
        else { return nil }
        return components.joined(separator: "/")
    }

    private func contents(of location: String, user: String) throws(ModelError) -> Data {
        if let cached = cache.data(for: location) { return cached }
        let data: Data
        switch source {
        case .directory(let folder):
            let url = folder.appendingPathComponent(location)
            // A symbolic link must not lead out of the folder either.
            let root = folder.resolvingSymlinksInPath().standardizedFileURL.path
            guard url.resolvingSymlinksInPath().standardizedFileURL.path.hasPrefix(root + "/") else {
                throw ModelError(.externalData, "\(user): file '\(location)' resolves outside the model's folder")
            }
            guard let mapped = try? Data(contentsOf: url, options: .alwaysMapped) else {
                throw ModelError(.externalData, "\(user): file '\(location)' is missing beside the model")
            }
            data = mapped
        case .files(let files):
            guard let file = files[location] else {
                throw ModelError(.externalData, "\(user): file '\(location)' was not provided")
            }
            data = file
        case .none:
            throw ModelError(.externalData, "\(user): file '\(location)' was not provided")
        }
        cache.store(data, for: location)
        return data
    }
}

/// Each external file is read once per load, however many tensors it holds.
private final class ExternalFileCache: @unchecked Sendable {
    private let lock = NSLock()
    private var files: [String: Data] = [:]

    func data(for location: String) -> Data? { lock.withLock { files[location] } }
    func store(_ data: Data, for location: String) { lock.withLock { files[location] = data } }
    var all: [String: Data] { lock.withLock { files } }
}
