/// Where audit records are kept: SQLite in the data directory by default
/// (``SQLiteAuditStore``), or PostgreSQL (``PostgresAuditStore``) so that replicas share one
/// store. Both hold the same table, created by the same numbered migrations.
protocol AuditStore: Sendable {
    /// `sqlite` or `postgres`, for `/readyz` and the logs.
    var kind: String { get }
    /// Opens the store and applies the migrations it has not had yet.
    func open() async throws
    /// Writes the records in one transaction.
    func insert(_ records: [AuditRecord]) async throws
    /// Records matching the query, in the order they were written, without their payloads.
    func records(matching query: AuditQuery) async throws -> [AuditRecord]
    /// The first two records with this request id (the one with `recordId` only, when given),
    /// with their payloads: a client chooses its request ids, so one may name several answers.
    func records(requestId: String, recordId: Int64?) async throws -> [AuditRecord]
    /// Removes the records written before the time (microseconds since 1970); returns how many.
    func deleteRecords(before time: Int64) async throws -> Int
    /// Runs what the store needs while the service runs (PostgreSQL's connection pool), until
    /// the task is cancelled.
    func run() async
    func close() async
}

extension AuditStore {
    /// Most stores need nothing running.
    func run() async {}
}

/// A page of `GET /v1/audit`: every given condition holds; `after` is the previous page's
/// last id.
struct AuditQuery: Sendable, Equatable {
    var model: String?
    var requestId: String?
    /// Inclusive bounds, in microseconds since 1970.
    var since: Int64?
    var until: Int64?
    var after: Int64 = 0
    var limit = 100
}

/// The audit table's schema, as numbered steps each store applies once, in order, recording
/// the versions it has (`candor_audit_migrations`). A later release appends steps; it never
/// edits one that has shipped.
enum AuditMigrations {
    struct Step {
        let version: Int
        let sqlite: [String]
        let postgres: [String]
    }

    static let steps = [
        Step(
            version: 1,
            sqlite: [
                """
                CREATE TABLE audit_records (
                    id INTEGER PRIMARY KEY AUTOINCREMENT, recorded_at INTEGER NOT NULL, request_id TEXT NOT NULL,
                    caller TEXT NOT NULL, route TEXT NOT NULL, model TEXT NOT NULL, model_sha256 TEXT NOT NULL, method TEXT,
                    params TEXT NOT NULL, output TEXT NOT NULL, answers TEXT NOT NULL, inputs_sha256 TEXT NOT NULL,
                    media_type TEXT NOT NULL, payload_sha256 TEXT NOT NULL, payload BLOB, cache_hit INTEGER NOT NULL,
                    latency_us INTEGER NOT NULL)
                """,
                "CREATE INDEX audit_records_recorded_at ON audit_records (recorded_at)",
                "CREATE INDEX audit_records_request_id ON audit_records (request_id)",
                "CREATE INDEX audit_records_model ON audit_records (model, id)",
            ],
            postgres: [
                """
                CREATE TABLE audit_records (
                    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY, recorded_at BIGINT NOT NULL, request_id TEXT NOT NULL,
                    caller TEXT NOT NULL, route TEXT NOT NULL, model TEXT NOT NULL, model_sha256 TEXT NOT NULL, method TEXT,
                    params TEXT NOT NULL, output TEXT NOT NULL, answers TEXT NOT NULL, inputs_sha256 TEXT NOT NULL,
                    media_type TEXT NOT NULL, payload_sha256 TEXT NOT NULL, payload BYTEA, cache_hit BOOLEAN NOT NULL,
                    latency_us BIGINT NOT NULL)
                """,
                "CREATE INDEX audit_records_recorded_at ON audit_records (recorded_at)",
                "CREATE INDEX audit_records_request_id ON audit_records (request_id)",
                "CREATE INDEX audit_records_model ON audit_records (model, id)",
            ])
    ]

    /// The columns in the order the stores write them (after the store-assigned `id`).
    static let columns = [
        "id", "recorded_at", "request_id", "caller", "route", "model", "model_sha256", "method", "params", "output", "answers",
        "inputs_sha256", "media_type", "payload_sha256", "payload", "cache_hit", "latency_us",
    ]
    /// What the stores read: the columns, then whether the payload is held.
    static let selected = columns + ["payload IS NOT NULL AS payload_stored"]
    /// The same without the payload itself, for listings.
    static let listed = selected.map { $0 == "payload" ? "NULL AS payload" : $0 }
}
