import Crypto
import Foundation
import HTTPTypes
import Synchronization

/// What the service says of a stored dataset (`GET /v1/datasets/{id}`).
struct DatasetInfo: Codable, Sendable, Equatable {
    let id: String
    let name: String
    let columns: [String]
    /// The label column's name, when the upload named one (its values are kept apart).
    let label: String?
    let rows: Int
    /// SHA-256 of the columns, values and labels: what analysis results are cached by.
    let sha256: String
    let createdAt: Date

    enum CodingKeys: String, CodingKey {
        case id, name, columns, label, rows, sha256
        case createdAt = "created_at"
    }
}

/// The uploaded datasets, under `<data.directory>/datasets/`: per dataset its values as
/// little-endian float64 (`ID.values`), its labels as a JSON array (`ID.labels.json`) and its
/// description (`ID.info.json`), written in that order, each whole and switched in with a
/// rename — the description last, so a dataset exists exactly when its description does.
/// Descriptions are held in memory; values are read from disk when an analysis uses them.
final class DatasetStore: Sendable {
    let folder: URL
    private let maxCount: Int
    private let infos = Mutex<[String: DatasetInfo]>([:])
    /// Uploads being written, which count against `maxCount` already.
    private let writing = Atomic<Int>(0)

    init(folder: URL, maxCount: Int) {
        self.folder = folder
        self.maxCount = maxCount
    }

    /// Reads the descriptions on disk, and removes what an interrupted upload left.
    func load() {
        AtomicFile.removeLeftovers(in: folder)
        let names = (try? FileManager.default.contentsOfDirectory(atPath: folder.path)) ?? []
        var found: [String: DatasetInfo] = [:]
        let decoder = JSONDecoder.candor
        for name in names where name.hasSuffix(".info.json") {
            guard let data = try? Data(contentsOf: folder.appendingPathComponent(name)),
                let info = try? decoder.decode(DatasetInfo.self, from: data), Self.isValidID(info.id),
                FileManager.default.fileExists(atPath: valuesURL(info.id).path)
            else { continue }
            found[info.id] = info
        }
        for name in names where !name.hasSuffix(".info.json") {
            let id = String(name.prefix { $0 != "." })
            if found[id] == nil { try? FileManager.default.removeItem(at: folder.appendingPathComponent(name)) }
        }
        infos.withLock { $0 = found }
    }

    /// Ids are made here, so anything else is not one (and never reaches a path).
    static func isValidID(_ id: String) -> Bool {
        id.count == 32 && id.allSatisfy { $0.isHexDigit && !$0.isUppercase }
    }

    var all: [DatasetInfo] { infos.withLock { Array($0.values) }.sorted { ($0.createdAt, $0.id) > ($1.createdAt, $1.id) } }

    func info(_ id: String) -> DatasetInfo? { infos.withLock { $0[id] } }

    /// Stores `table` under a new id; a 409 when `datasets.max_count` are stored already.
    func add(_ table: DatasetTable, name: String) throws -> DatasetInfo {
        let id = UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased()
        let reserved = infos.withLock { infos -> Bool in
            guard infos.count + writing.load(ordering: .relaxed) < maxCount else { return false }
            writing.add(1, ordering: .relaxed)
            return true
        }
        guard reserved else {
            throw Problem(
                .conflict, code: "too-many-datasets",
                detail: "\(maxCount) datasets are stored, the configured datasets.max_count: delete one first")
        }
        defer { writing.subtract(1, ordering: .relaxed) }
        do {
            let values = table.values.withUnsafeBufferPointer { Data(buffer: $0) }
            let labels = try table.labels.map { try JSONEncoder().encode($0) }
            var hash = SHA256()
            hash.update(data: try JSONEncoder.candor.encode(table.columns))
            hash.update(data: values)
            if let labels { hash.update(data: labels) }
            let info = DatasetInfo(
                id: id, name: name, columns: table.columns, label: table.labelColumn, rows: table.rowCount,
                sha256: hash.finalize().hexString, createdAt: Date())
            try AtomicFile.write(values, to: valuesURL(id))
            if let labels { try AtomicFile.write(labels, to: labelsURL(id)) }
            try AtomicFile.write(try JSONEncoder.candor.encode(info), to: infoURL(id))
            infos.withLock { $0[id] = info }
            return info
        } catch {
            remove(files: id)
            throw error
        }
    }

    /// Removes a dataset; false when there is none by that id.
    func remove(_ id: String) -> Bool {
        guard Self.isValidID(id), infos.withLock({ $0.removeValue(forKey: id) }) != nil else { return false }
        // The description first: without it the rest is a leftover, removed at the next start.
        remove(files: id)
        return true
    }

    /// A dataset's values (rows × columns) and labels, read from disk.
    func table(_ info: DatasetInfo) throws -> DatasetTable {
        let data = try Data(contentsOf: valuesURL(info.id))
        guard data.count == info.rows * info.columns.count * MemoryLayout<Double>.size else {
            throw CocoaError(.fileReadCorruptFile)
        }
        let values = data.withUnsafeBytes { Array($0.bindMemory(to: Double.self)) }
        let labels = try info.label.map { _ in try JSONDecoder().decode([String].self, from: Data(contentsOf: labelsURL(info.id))) }
        return DatasetTable(columns: info.columns, values: values, labelColumn: info.label, labels: labels)
    }

    private func remove(files id: String) {
        for url in [infoURL(id), valuesURL(id), labelsURL(id)] { try? FileManager.default.removeItem(at: url) }
    }

    private func infoURL(_ id: String) -> URL { folder.appendingPathComponent("\(id).info.json") }
    private func valuesURL(_ id: String) -> URL { folder.appendingPathComponent("\(id).values") }
    private func labelsURL(_ id: String) -> URL { folder.appendingPathComponent("\(id).labels.json") }
}

extension JSONDecoder {
    /// Reads what ``JSONEncoder/candor`` writes (dates as ISO 8601).
    static var candor: JSONDecoder {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        return decoder
    }
}
