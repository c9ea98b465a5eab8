import Foundation
import Yams

/// Every setting of the service. Defaults live here (and are documented, one by one, in
/// `config/candor.yaml`); a YAML file, then `CANDOR_…` environment variables, then
/// command-line flags override them, in that order.
public struct CandorConfiguration: Sendable, Equatable {
    public struct Server: Sendable, Equatable {
        public var host = "127.0.0.1"
        public var port = 8080
        /// Largest request body accepted (413 beyond it), except model uploads.
        public var maxBodyBytes = 8 * 1024 * 1024
        /// Wall-clock budget of one request's computation (504 beyond it; the work stops).
        public var requestTimeoutSeconds = 30.0
        /// Seconds from a new connection, or the first byte of a request, until its head is
        /// complete (408 and close beyond it; a connection that sent nothing just closes).
        public var headerTimeoutSeconds = 10.0
        /// The body must arrive at `minBodyBytesPerSecond` on average over every window of
        /// this many seconds (408 and close otherwise).
        public var bodyTimeoutSeconds = 10.0
        public var minBodyBytesPerSecond = 100
        /// Seconds a kept-alive connection with no request in flight stays open.
        public var idleTimeoutSeconds = 60.0
        /// Most connections open at once; beyond it new ones wait in the listen backlog.
        public var maxConnections = 1024
        /// PEM files of the certificate chain and its private key: HTTPS when both are set
        /// (``ServerTLS``), HTTP when neither is.
        public var tlsCert = ""
        public var tlsKey = ""
    }

    public struct Workers: Sendable, Equatable {
        /// Threads that run model math; 0 means one per core. Idle ones are lent to a running
        /// request's sampled rows while no other request waits (``WorkerPool/lend(_:_:)``).
        public var threads = 0
        /// Requests that may wait for a worker; beyond it the answer is 429.
        public var queueLimit = 64
        /// Seconds a client is told to wait in `Retry-After` on a 429.
        public var retryAfterSeconds = 1
    }

    public struct Models: Sendable, Equatable {
        /// Folder of `NAME.onnx` files (with external data and `NAME.yaml` sidecars).
        public var directory = "models"
        /// Largest model (ONNX file plus external data) accepted at upload.
        public var maxModelBytes = 512 * 1024 * 1024
    }

    public struct Limits: Sendable, Equatable {
        /// Most instances in one request.
        public var maxBatchSize = 256
        /// Most input elements (all instances, all inputs) in one request.
        public var maxInputElements = 4_000_000
        /// Most tensor elements in one internal forward/backward pass; methods chunk their
        /// evaluations to stay under it, which bounds memory per worker.
        public var maxBatchElements = 4_000_000
        /// Most pixels (width × height) of one picture sent as an instance, checked from the
        /// file's header before decoding: a small file that inflates to gigabytes is a 413.
        public var maxImagePixels = 16_777_216
        /// Most tokens one text instance may have after tokenization (and the tokenizer's own
        /// truncation): a transformer's attention grows with the square of the length.
        public var maxTextTokens = 512
    }

    public struct Cache: Sendable, Equatable {
        /// Bytes of encoded responses kept; 0 disables the cache.
        public var maxBytes = 64 * 1024 * 1024
    }

    public struct Data: Sendable, Equatable {
        /// Folder of what the service writes besides models: uploaded datasets
        /// (`datasets/`) and finished analyses (`analyses/`).
        public var directory = "data"
    }

    public struct Datasets: Sendable, Equatable {
        /// Largest dataset upload accepted (413 beyond it).
        public var maxBytes = 64 * 1024 * 1024
        /// Most rows an uploaded dataset may hold (413 beyond it).
        public var maxRows = 1_000_000
        /// Most datasets stored at once (409 beyond it: delete one first).
        public var maxCount = 100
    }

    public struct Analyses: Sendable, Equatable {
        /// Analyses running at once. They run on the worker pool beside requests, and one
        /// worker is always left to requests when there are two or more.
        public var maxConcurrent = 1
        /// Analyses that may wait for a free slot; beyond it the answer is 429.
        public var maxQueued = 16
        /// Most dataset rows one analysis may use (400 beyond it).
        public var maxRows = 10_000
        /// Seconds a finished analysis (its result or error) is kept.
        public var retentionSeconds = 86_400.0
        /// Seconds an analysis may run; past them it is stopped at its next batch and fails.
        public var timeoutSeconds = 3_600.0
    }

    public struct Admin: Sendable, Equatable {
        /// Bearer token for POST and DELETE on /v1/models and /v1/datasets; empty disables those routes (403).
        public var token = ""
    }

    public struct Audit: Sendable, Equatable {
        /// Record every explanation and evaluation answered (`GET /v1/audit`).
        public var enabled = true
        /// Keep each answer's bytes, so `GET /v1/audit/{request_id}` returns it as it was
        /// sent; off, only its SHA-256 (with the targets and outputs) is kept.
        public var storePayloads = true
        /// `postgres://user:password@host:port/database?sslmode=…`: a PostgreSQL store that
        /// replicas share. Empty: SQLite at `data.directory/audit.sqlite`.
        public var postgresURL = ""
        /// Days a record is kept; 0 keeps every record. The default, 760 days, covers the 25
        /// months US creditors keep adverse-action records (Regulation B, 12 CFR 1002.12).
        public var retentionDays = 760
        /// Records waiting for the writer, and the bytes they may hold (answers included);
        /// beyond either a record is dropped and counted.
        public var queueLimit = 10_000
        public var queueMaxBytes = 64 * 1024 * 1024
    }

    public struct Logging: Sendable, Equatable {
        /// trace, debug, info, notice, warning, error or critical.
        public var level = "info"
    }

    public var server = Server()
    public var workers = Workers()
    public var models = Models()
    public var limits = Limits()
    public var cache = Cache()
    public var data = Data()
    public var datasets = Datasets()
    public var analyses = Analyses()
    public var admin = Admin()
    public var audit = Audit()
    public var logging = Logging()

    public init() {}
}

extension CandorConfiguration {
    /// Why a configuration could not be read.
    public struct LoadError: Error, CustomStringConvertible {
        public let description: String
    }

    /// Decodes YAML with snake_case keys, every key optional (defaults fill the rest); an
    /// unknown key is an error, so a typo never silently leaves a default in force.
    public static func fromYAML(_ text: String, source: String) throws -> CandorConfiguration {
        var configuration = CandorConfiguration()
        guard let root = try Yams.compose(yaml: text) else { return configuration }
        guard let sections = root.mapping else {
            throw LoadError(description: "\(source): the top level must be a mapping of sections")
        }
        for (sectionNode, value) in sections {
            let section = sectionNode.scalar?.string ?? "?"
            guard let settings = value.mapping else {
                throw LoadError(description: "\(source): section '\(section)' must be a mapping")
            }
            for (keyNode, setting) in settings {
                let key = keyNode.scalar?.string ?? "?"
                // The scalar's text as written: a token such as `on` or `012` must stay that
                // text, not become "true" or "12". A bare `key:` (null) or a nested value is a
                // mistake to report.
                guard let scalar = setting.scalar, setting.null == nil || scalar.style != .plain else {
                    throw LoadError(description: "\(source): \(section).\(key) needs a value (write \"\" for an empty string)")
                }
                try configuration.set(section: section, key: key, value: scalar.string, source: source)
            }
        }
        return configuration
    }

    /// Applies `CANDOR_SECTION_KEY` variables (for example `CANDOR_SERVER_PORT=9000`).
    public mutating func applyEnvironment(_ environment: [String: String]) throws {
        for (name, value) in environment where name.hasPrefix("CANDOR_") {
            let rest = name.dropFirst("CANDOR_".count).lowercased()
            guard let match = Self.settingNames.first(where: { rest == "\($0.section)_\($0.key)" }) else { continue }
            try set(section: match.section, key: match.key, value: value, source: "environment variable \(name)")
        }
    }

    /// Every (section, key) pair, as spelled in YAML.
    static let settingNames: [(section: String, key: String)] = [
        ("server", "host"), ("server", "port"), ("server", "max_body_bytes"), ("server", "request_timeout_seconds"),
        ("server", "header_timeout_seconds"), ("server", "body_timeout_seconds"), ("server", "min_body_bytes_per_second"),
        ("server", "idle_timeout_seconds"), ("server", "max_connections"), ("server", "tls_cert"), ("server", "tls_key"),
        ("workers", "threads"), ("workers", "queue_limit"), ("workers", "retry_after_seconds"),
        ("models", "directory"), ("models", "max_model_bytes"),
        ("limits", "max_batch_size"), ("limits", "max_input_elements"), ("limits", "max_batch_elements"), ("limits", "max_image_pixels"),
        ("limits", "max_text_tokens"),
        ("cache", "max_bytes"),
        ("data", "directory"),
        ("datasets", "max_bytes"), ("datasets", "max_rows"), ("datasets", "max_count"),
        ("analyses", "max_concurrent"), ("analyses", "max_queued"), ("analyses", "max_rows"), ("analyses", "retention_seconds"),
        ("analyses", "timeout_seconds"),
        ("admin", "token"),
        ("audit", "enabled"), ("audit", "store_payloads"), ("audit", "postgres_url"), ("audit", "retention_days"),
        ("audit", "queue_limit"), ("audit", "queue_max_bytes"),
        ("logging", "level"),
    ]

    /// Sets one setting from its text form, checking type and range.
    mutating func set(section: String, key: String, value: String, source: String) throws {
        func integer(minimum: Int, maximum: Int = .max) throws -> Int {
            guard let number = Int(value), number >= minimum, number <= maximum else {
                let range = maximum == .max ? "≥ \(minimum)" : "from \(minimum) to \(maximum)"
                throw LoadError(description: "\(source): \(section).\(key) must be an integer \(range), got '\(value)'")
            }
            return number
        }
        /// A duration in seconds: positive and at most a day (timers take nanoseconds in 64 bits).
        func seconds() throws -> Double {
            guard let seconds = Double(value), seconds > 0, seconds <= 86_400 else {
                throw LoadError(description: "\(source): \(section).\(key) must be a number of seconds in (0, 86400], got '\(value)'")
            }
            return seconds
        }
        func boolean() throws -> Bool {
            guard let flag = Bool(value) else {
                throw LoadError(description: "\(source): \(section).\(key) must be true or false, got '\(value)'")
            }
            return flag
        }
        switch (section, key) {
        case ("server", "host"): server.host = value
        case ("server", "port"):
            let port = try integer(minimum: 0)
            guard port <= 65535 else { throw LoadError(description: "\(source): server.port must be at most 65535") }
            server.port = port
        case ("server", "max_body_bytes"): server.maxBodyBytes = try integer(minimum: 1024)
        case ("server", "request_timeout_seconds"): server.requestTimeoutSeconds = try seconds()
        case ("server", "header_timeout_seconds"): server.headerTimeoutSeconds = try seconds()
        case ("server", "body_timeout_seconds"): server.bodyTimeoutSeconds = try seconds()
        case ("server", "min_body_bytes_per_second"): server.minBodyBytesPerSecond = try integer(minimum: 0)
        case ("server", "idle_timeout_seconds"): server.idleTimeoutSeconds = try seconds()
        case ("server", "max_connections"): server.maxConnections = try integer(minimum: 1)
        case ("server", "tls_cert"): server.tlsCert = value
        case ("server", "tls_key"): server.tlsKey = value
        case ("workers", "threads"): workers.threads = try integer(minimum: 0)
        case ("workers", "queue_limit"): workers.queueLimit = try integer(minimum: 0)
        case ("workers", "retry_after_seconds"): workers.retryAfterSeconds = try integer(minimum: 1)
        case ("models", "directory"): models.directory = value
        case ("models", "max_model_bytes"): models.maxModelBytes = try integer(minimum: 1024)
        case ("limits", "max_batch_size"): limits.maxBatchSize = try integer(minimum: 1)
        case ("limits", "max_input_elements"): limits.maxInputElements = try integer(minimum: 1)
        case ("limits", "max_batch_elements"): limits.maxBatchElements = try integer(minimum: 1)
        case ("limits", "max_image_pixels"): limits.maxImagePixels = try integer(minimum: 1)
        case ("limits", "max_text_tokens"): limits.maxTextTokens = try integer(minimum: 2, maximum: 1 << 20)
        case ("cache", "max_bytes"): cache.maxBytes = try integer(minimum: 0)
        case ("data", "directory"): data.directory = value
        case ("datasets", "max_bytes"): datasets.maxBytes = try integer(minimum: 1024)
        case ("datasets", "max_rows"): datasets.maxRows = try integer(minimum: 1)
        case ("datasets", "max_count"): datasets.maxCount = try integer(minimum: 0)
        case ("analyses", "max_concurrent"): analyses.maxConcurrent = try integer(minimum: 1)
        case ("analyses", "max_queued"): analyses.maxQueued = try integer(minimum: 0)
        case ("analyses", "max_rows"): analyses.maxRows = try integer(minimum: 1)
        case ("analyses", "retention_seconds"): analyses.retentionSeconds = try seconds()
        case ("analyses", "timeout_seconds"): analyses.timeoutSeconds = try seconds()
        case ("admin", "token"): admin.token = value
        case ("audit", "enabled"): audit.enabled = try boolean()
        case ("audit", "store_payloads"): audit.storePayloads = try boolean()
        case ("audit", "postgres_url"):
            if !value.isEmpty {
                do { _ = try PostgresAuditStore.configuration(url: value) } catch {
                    throw LoadError(description: "\(source): \(error)")
                }
            }
            audit.postgresURL = value
        case ("audit", "retention_days"): audit.retentionDays = try integer(minimum: 0, maximum: 36_500)
        case ("audit", "queue_limit"): audit.queueLimit = try integer(minimum: 1)
        case ("audit", "queue_max_bytes"): audit.queueMaxBytes = try integer(minimum: 1024)
        case ("logging", "level"):
            let levels = ["trace", "debug", "info", "notice", "warning", "error", "critical"]
            guard levels.contains(value) else {
                throw LoadError(description: "\(source): logging.level must be one of \(levels.joined(separator: ", "))")
            }
            logging.level = value
        default:
            throw LoadError(description: "\(source): unknown setting \(section).\(key)")
        }
    }

    /// The number of worker threads after resolving 0 to the core count.
    public var workerThreads: Int {
        workers.threads > 0 ? workers.threads : ProcessInfo.processInfo.activeProcessorCount
    }
}
