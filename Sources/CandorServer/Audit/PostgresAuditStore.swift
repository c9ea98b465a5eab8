import Foundation
import Logging
import NIOCore
import NIOSSL
import PostgresNIO

/// The audit store replicas share: a PostgreSQL database named by `audit.postgres_url`,
/// through a postgres-nio connection pool. Migrations run under an advisory lock, so replicas
/// starting together apply each step once.
final class PostgresAuditStore: AuditStore {
    let kind = "postgres"
    /// nil when the URL does not parse (configuration loading refuses such a URL first).
    private let client: PostgresClient?
    private let urlError: AuditStoreError?
    private let logger: Logger
    /// Any constant: it only has to be the same in every replica.
    private static let migrationLock: Int64 = 0x63616E646F72

    init(url: String, logger: Logger) {
        do {
            client = PostgresClient(configuration: try Self.configuration(url: url), backgroundLogger: logger)
            urlError = nil
        } catch {
            client = nil
            urlError = error as? AuditStoreError ?? AuditStoreError(description: "\(error)")
        }
        self.logger = logger
    }

    /// The pool's connections live while this runs (the audit log's service runs it).
    func run() async {
        await client?.run()
    }

    private func connected() throws -> PostgresClient {
        guard let client else { throw urlError ?? AuditStoreError(description: "audit.postgres_url is not usable") }
        return client
    }

    /// `postgres://user:password@host:port/database?sslmode=…&sslrootcert=…` (`postgresql://`
    /// too), with libpq's meanings of `sslmode`: `disable` plain; `prefer` (the default) and
    /// `require` encrypted without checking the server's certificate (prefer falls back to
    /// plain only when the server refuses TLS); `verify-ca` the certificate checked against
    /// the roots (`sslrootcert`, a PEM file, else the system's); `verify-full` the host name
    /// too. User and password are percent-decoded once, as URLs write them.
    static func configuration(url text: String) throws -> PostgresClient.Configuration {
        guard let url = URLComponents(string: text), url.scheme == "postgres" || url.scheme == "postgresql",
            let host = url.host, !host.isEmpty, let user = url.user
        else {
            throw AuditStoreError(description: "audit.postgres_url must be postgres://user:password@host:port/database")
        }
        let database = url.path.hasPrefix("/") ? String(url.path.dropFirst()) : url.path
        let mode = url.queryItems?.first { $0.name == "sslmode" }?.value ?? "prefer"
        var settings = TLSConfiguration.makeClientConfiguration()
        if let roots = url.queryItems?.first(where: { $0.name == "sslrootcert" })?.value { settings.trustRoots = .file(roots) }
        let tls: PostgresClient.Configuration.TLS
        switch mode {
        case "disable": tls = .disable
        case "allow", "prefer", "require":
            settings.certificateVerification = .none
            tls = mode == "require" ? .require(settings) : .prefer(settings)
        case "verify-ca":
            settings.certificateVerification = .noHostnameVerification
            tls = .require(settings)
        case "verify-full": tls = .require(settings)
        default:
            throw AuditStoreError(
                description: "audit.postgres_url: sslmode must be disable, prefer, require, verify-ca or verify-full, got '\(mode)'")
        }
        var configuration = PostgresClient.Configuration(
            host: host, port: url.port ?? 5432, username: user, password: url.password,
            database: database.isEmpty ? nil : database, tls: tls)
        configuration.options.connectTimeout = .seconds(5)
        configuration.options.maximumConnections = 4
        return configuration
    }

    func open() async throws {
        try await connected().withConnection { connection in
            _ = try await connection.query("SELECT pg_advisory_lock(\(Self.migrationLock))", logger: logger)
            do {
                try await migrate(connection)
                _ = try await connection.query("SELECT pg_advisory_unlock(\(Self.migrationLock))", logger: logger)
            } catch {
                _ = try? await connection.query("SELECT pg_advisory_unlock(\(Self.migrationLock))", logger: logger)
                throw error
            }
        }
    }

    private func migrate(_ connection: PostgresConnection) async throws {
        try await connection.query(
            "CREATE TABLE IF NOT EXISTS candor_audit_migrations (version INTEGER PRIMARY KEY, applied_at BIGINT NOT NULL)",
            logger: logger)
        var applied: Set<Int> = []
        for try await version in try await connection.query("SELECT version FROM candor_audit_migrations", logger: logger)
            .decode(Int.self)
        {
            applied.insert(version)
        }
        for step in AuditMigrations.steps where !applied.contains(step.version) {
            try await connection.withTransaction(logger: logger) { transaction in
                for statement in step.postgres { try await transaction.query(PostgresQuery(unsafeSQL: statement), logger: logger) }
                try await transaction.query(
                    "INSERT INTO candor_audit_migrations (version, applied_at) VALUES (\(step.version), \(AuditClock.now))",
                    logger: logger)
            }
        }
    }

    /// One multi-row INSERT: a single statement is atomic without an explicit transaction.
    func insert(_ records: [AuditRecord]) async throws {
        guard !records.isEmpty else { return }
        let columns = AuditMigrations.columns.dropFirst()
        var binds = PostgresBindings(capacity: records.count * columns.count)
        var rows: [String] = []
        for record in records {
            let first = binds.count + 1
            rows.append("(" + (first..<first + columns.count).map { "$\($0)" }.joined(separator: ", ") + ")")
            binds.append(record.recordedAt)
            binds.append(record.requestId)
            binds.append(record.caller)
            binds.append(record.route)
            binds.append(record.model)
            binds.append(record.modelSHA256)
            binds.append(record.method)
            binds.append(record.params)
            binds.append(record.output)
            binds.append(record.answers)
            binds.append(record.inputsSHA256)
            binds.append(record.mediaType)
            binds.append(record.payloadSHA256)
            binds.append(record.payload.map { ByteBuffer(bytes: $0) })
            binds.append(record.cacheHit)
            binds.append(record.latencyMicroseconds)
        }
        let sql = "INSERT INTO audit_records (\(columns.joined(separator: ", "))) VALUES \(rows.joined(separator: ", "))"
        try await connected().query(PostgresQuery(unsafeSQL: sql, binds: binds), logger: logger)
    }

    func records(matching query: AuditQuery) async throws -> [AuditRecord] {
        var binds = PostgresBindings()
        var conditions: [String] = []
        func condition(_ text: String, _ value: some PostgresDynamicTypeEncodable) {
            binds.append(value)
            conditions.append("\(text) $\(binds.count)")
        }
        condition("id >", query.after)
        if let model = query.model { condition("model =", model) }
        if let requestId = query.requestId { condition("request_id =", requestId) }
        if let since = query.since { condition("recorded_at >=", since) }
        if let until = query.until { condition("recorded_at <=", until) }
        binds.append(query.limit)
        let sql =
            "SELECT \(AuditMigrations.listed.joined(separator: ", ")) FROM audit_records WHERE "
            + conditions.joined(separator: " AND ") + " ORDER BY id LIMIT $\(binds.count)"
        return try await records(PostgresQuery(unsafeSQL: sql, binds: binds))
    }

    func records(requestId: String, recordId: Int64?) async throws -> [AuditRecord] {
        var binds = PostgresBindings()
        binds.append(requestId)
        var sql = "SELECT \(AuditMigrations.selected.joined(separator: ", ")) FROM audit_records WHERE request_id = $1"
        if let recordId {
            binds.append(recordId)
            sql += " AND id = $2"
        }
        return try await records(PostgresQuery(unsafeSQL: sql + " ORDER BY id LIMIT 2", binds: binds))
    }

    func deleteRecords(before time: Int64) async throws -> Int {
        var count = 0
        let rows = try await connected().query(
            "WITH deleted AS (DELETE FROM audit_records WHERE recorded_at < \(time) RETURNING 1) SELECT count(*) FROM deleted",
            logger: logger)
        for try await deleted in rows.decode(Int.self) { count = deleted }
        return count
    }

    func close() async {}

    /// Rows of the columns in ``AuditMigrations/selected`` order (a row of another shape is
    /// a decoding error, not a crash).
    private func records(_ query: PostgresQuery) async throws -> [AuditRecord] {
        var records: [AuditRecord] = []
        for try await row in try await connected().query(query, logger: logger) {
            let cells = row.makeRandomAccess()
            guard cells.count == AuditMigrations.selected.count else {
                throw AuditStoreError(description: "an audit row has \(cells.count) columns, not \(AuditMigrations.selected.count)")
            }
            records.append(
                AuditRecord(
                    id: try cells[0].decode(Int64.self), recordedAt: try cells[1].decode(Int64.self),
                    requestId: try cells[2].decode(String.self), caller: try cells[3].decode(String.self),
                    route: try cells[4].decode(String.self), model: try cells[5].decode(String.self),
                    modelSHA256: try cells[6].decode(String.self), method: try cells[7].decode(String?.self),
                    params: try cells[8].decode(String.self), output: try cells[9].decode(String.self),
                    answers: try cells[10].decode(String.self), inputsSHA256: try cells[11].decode(String.self),
                    mediaType: try cells[12].decode(String.self), payloadSHA256: try cells[13].decode(String.self),
                    payload: try cells[14].decode(ByteBuffer?.self).map { Array($0.readableBytesView) },
                    payloadStored: try cells[17].decode(Bool.self), cacheHit: try cells[15].decode(Bool.self),
                    latencyMicroseconds: try cells[16].decode(Int64.self)))
        }
        return records
    }
}
