import Foundation
import Logging
import NIOCore
import SQLiteNIO

/// The audit store of a single instance: an SQLite file in the data directory
/// (`audit.sqlite`), in write-ahead-log mode so that reading the log never waits for the
/// writer, and with full synchronisation, so that a record written is on disk.
actor SQLiteAuditStore: AuditStore {
    nonisolated let kind = "sqlite"
    let path: String
    private let logger: Logger
    private var connection: SQLiteConnection?

    init(path: String, logger: Logger) {
        self.path = path
        self.logger = logger
    }

    func open() async throws {
        guard connection == nil else { return }
        try FileManager.default.createDirectory(
            at: URL(fileURLWithPath: path).deletingLastPathComponent(), withIntermediateDirectories: true)
        let opened = try await SQLiteConnection.open(storage: .file(path: path), logger: logger)
        do {
            _ = try await opened.query("PRAGMA journal_mode = WAL")
            _ = try await opened.query("PRAGMA synchronous = FULL")
            _ = try await opened.query("PRAGMA busy_timeout = 5000")
            try await Self.migrate(opened)
        } catch {
            await Self.close(opened)
            throw error
        }
        // An open that a timeout gave up on may finish after its retry did.
        if connection == nil { connection = opened } else { await Self.close(opened) }
    }

    /// Closes in a task of its own, which a cancelled caller's cancellation does not reach: a
    /// connection must be closed before it is released (SQLiteNIO asserts it).
    private static func close(_ connection: SQLiteConnection) async {
        await Task { try? await connection.close() }.value
    }

    /// Applies the steps the file lacks, each in its own transaction with its version row.
    private static func migrate(_ connection: SQLiteConnection) async throws {
        _ = try await connection.query(
            "CREATE TABLE IF NOT EXISTS candor_audit_migrations (version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL)")
        let applied = Set(
            try await connection.query("SELECT version FROM candor_audit_migrations").compactMap { $0.column("version")?.integer })
        for step in AuditMigrations.steps where !applied.contains(SQLiteInt64(step.version)) {
            _ = try await connection.query("BEGIN IMMEDIATE")
            do {
                for statement in step.sqlite { _ = try await connection.query(statement) }
                _ = try await connection.query(
                    "INSERT INTO candor_audit_migrations (version, applied_at) VALUES (?, ?)",
                    [.integer(SQLiteInt64(step.version)), .integer(SQLiteInt64(AuditClock.now))])
                _ = try await connection.query("COMMIT")
            } catch {
                _ = try? await connection.query("ROLLBACK")
                throw error
            }
        }
    }

    private func opened() throws -> SQLiteConnection {
        guard let connection else { throw AuditStoreError(description: "the SQLite audit store at \(path) is not open") }
        return connection
    }

    /// One multi-row INSERT: a single statement is atomic without an explicit transaction.
    func insert(_ records: [AuditRecord]) async throws {
        guard !records.isEmpty else { return }
        let connection = try opened()
        let columns = AuditMigrations.columns.dropFirst()
        let row = "(" + Array(repeating: "?", count: columns.count).joined(separator: ", ") + ")"
        let sql =
            "INSERT INTO audit_records (\(columns.joined(separator: ", "))) VALUES "
            + Array(repeating: row, count: records.count).joined(separator: ", ")
        _ = try await connection.query(sql, records.flatMap(Self.binds))
    }

    private static func binds(_ record: AuditRecord) -> [SQLiteData] {
        func text(_ value: String?) -> SQLiteData { value.map { .text($0) } ?? .null }
        return [
            .integer(SQLiteInt64(record.recordedAt)), .text(record.requestId), .text(record.caller), .text(record.route),
            .text(record.model),
            .text(record.modelSHA256), text(record.method), .text(record.params), .text(record.output), .text(record.answers),
            .text(record.inputsSHA256), .text(record.mediaType), .text(record.payloadSHA256),
            record.payload.map { .blob(ByteBuffer(bytes: $0)) } ?? .null, .integer(SQLiteInt64(record.cacheHit ? 1 : 0)),
            .integer(SQLiteInt64(record.latencyMicroseconds)),
        ]
    }

    func records(matching query: AuditQuery) async throws -> [AuditRecord] {
        var conditions = ["id > ?"]
        var binds: [SQLiteData] = [.integer(SQLiteInt64(query.after))]
        if let model = query.model {
            conditions.append("model = ?")
            binds.append(.text(model))
        }
        if let requestId = query.requestId {
            conditions.append("request_id = ?")
            binds.append(.text(requestId))
        }
        if let since = query.since {
            conditions.append("recorded_at >= ?")
            binds.append(.integer(SQLiteInt64(since)))
        }
        if let until = query.until {
            conditions.append("recorded_at <= ?")
            binds.append(.integer(SQLiteInt64(until)))
        }
        binds.append(.integer(SQLiteInt64(query.limit)))
        let rows = try await opened().query(
            "SELECT \(AuditMigrations.listed.joined(separator: ", ")) FROM audit_records WHERE "
                + conditions.joined(separator: " AND ") + " ORDER BY id LIMIT ?", binds)
        return try rows.map(Self.record)
    }

    func records(requestId: String, recordId: Int64?) async throws -> [AuditRecord] {
        var sql = "SELECT \(AuditMigrations.selected.joined(separator: ", ")) FROM audit_records WHERE request_id = ?"
        var binds: [SQLiteData] = [.text(requestId)]
        if let recordId {
            sql += " AND id = ?"
            binds.append(.integer(SQLiteInt64(recordId)))
        }
        return try await opened().query(sql + " ORDER BY id LIMIT 2", binds).map(Self.record)
    }

    /// Counted first: `changes()` would count whatever statement ran last on the connection,
    /// and records written meanwhile are newer than `time`, so the count is exact.
    func deleteRecords(before time: Int64) async throws -> Int {
        let connection = try opened()
        let count = try await connection.query(
            "SELECT count(*) AS count FROM audit_records WHERE recorded_at < ?", [.integer(SQLiteInt64(time))])
        _ = try await connection.query("DELETE FROM audit_records WHERE recorded_at < ?", [.integer(SQLiteInt64(time))])
        return Int(count.first?.column("count")?.integer ?? 0)
    }

    func close() async {
        if let connection { await Self.close(connection) }
        connection = nil
    }

    private static func record(_ row: SQLiteRow) throws -> AuditRecord {
        func text(_ name: String) throws -> String {
            guard let value = row.column(name)?.string else { throw AuditStoreError(description: "audit record lacks \(name)") }
            return value
        }
        func integer(_ name: String) throws -> Int64 {
            guard let value = row.column(name)?.integer else { throw AuditStoreError(description: "audit record lacks \(name)") }
            return Int64(value)
        }
        return AuditRecord(
            id: try integer("id"), recordedAt: try integer("recorded_at"), requestId: try text("request_id"),
            caller: try text("caller"), route: try text("route"), model: try text("model"), modelSHA256: try text("model_sha256"),
            method: row.column("method")?.string, params: try text("params"), output: try text("output"),
            answers: try text("answers"), inputsSHA256: try text("inputs_sha256"), mediaType: try text("media_type"),
            payloadSHA256: try text("payload_sha256"), payload: row.column("payload")?.blob.map { Array($0.readableBytesView) },
            payloadStored: try integer("payload_stored") != 0, cacheHit: try integer("cache_hit") != 0,
            latencyMicroseconds: try integer("latency_us"))
    }
}

/// A store that cannot do what was asked: closed, or a row it cannot read.
struct AuditStoreError: Error, CustomStringConvertible {
    let description: String
}

/// Audit timestamps: microseconds since 1970-01-01 UTC.
enum AuditClock {
    static var now: Int64 { Int64((Date().timeIntervalSince1970 * 1_000_000).rounded()) }
}
