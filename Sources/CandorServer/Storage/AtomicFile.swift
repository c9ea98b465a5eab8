import Foundation

/// Writes a file whole and switches it in with one `rename(2)`, so a reader — or a restart
/// after a crash — sees the old version or the new one, never a part (the rule for anything
/// the service writes to disk). The data is flushed before the rename and the folder after it.
enum AtomicFile {
    static func write(_ data: Data, to url: URL) throws {
        let folder = url.deletingLastPathComponent()
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let temporary = folder.appendingPathComponent(".\(url.lastPathComponent).\(UUID().uuidString).partial")
        do {
            try data.write(to: temporary)
            try ModelStore.flush(temporary)
            try ModelStore.check(rename(temporary.path, url.path), "switch in \(url.lastPathComponent)")
        } catch {
            try? FileManager.default.removeItem(at: temporary)
            throw error
        }
        try ModelStore.flush(folder)
    }

    /// Removes the `.partial` files an interrupted write left in `folder`.
    static func removeLeftovers(in folder: URL) {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: folder.path)) ?? []
        for name in names where name.hasPrefix(".") && name.hasSuffix(".partial") {
            try? FileManager.default.removeItem(at: folder.appendingPathComponent(name))
        }
    }
}
