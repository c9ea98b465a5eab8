import CandorExplain
import CandorTensor
import CoreMetrics
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdCore
import HummingbirdTLS
import Logging
import NIOCore

/// The parts every route shares: configuration, models, methods, workers, cache and metrics,
/// datasets, analysis jobs and the audit log.
public final class CandorService: Sendable {
    public let configuration: CandorConfiguration
    public let registry: ModelRegistry
    public let catalog: MethodCatalog
    public let metricCatalog: MetricCatalog
    public let analysisCatalog: AnalysisCatalog
    let pool: WorkerPool
    let datasets: DatasetStore
    let analyses: AnalysisJobs
    let cache: ResponseCache
    /// nil when `audit.enabled` is false.
    let audit: AuditLog?
    let metrics: ServiceMetrics
    let logger: Logger

    public init(
        configuration: CandorConfiguration, catalog: MethodCatalog = .standard, metricCatalog: MetricCatalog = .standard,
        analysisCatalog: AnalysisCatalog = .standard, logger: Logger
    ) {
        self.configuration = configuration
        self.catalog = catalog
        self.metricCatalog = metricCatalog
        self.analysisCatalog = analysisCatalog
        self.logger = logger
        let metrics = ServiceMetrics()
        self.metrics = metrics
        registry = ModelRegistry(directory: URL(fileURLWithPath: configuration.models.directory), logger: logger)
        pool = WorkerPool(
            threads: configuration.workerThreads, queueLimit: configuration.workers.queueLimit,
            retryAfterSeconds: configuration.workers.retryAfterSeconds, metrics: metrics)
        cache = ResponseCache(maxBytes: configuration.cache.maxBytes, metrics: metrics)
        let data = URL(fileURLWithPath: configuration.data.directory)
        datasets = DatasetStore(folder: data.appendingPathComponent("datasets"), maxCount: configuration.datasets.maxCount)
        analyses = AnalysisJobs(folder: data.appendingPathComponent("analyses"), configuration: configuration, pool: pool, logger: logger)
        var auditLogger = logger
        auditLogger[metadataKey: "component"] = "audit"
        if configuration.audit.enabled {
            let store: any AuditStore =
                configuration.audit.postgresURL.isEmpty
                ? SQLiteAuditStore(path: data.appendingPathComponent("audit.sqlite").path, logger: auditLogger)
                : PostgresAuditStore(url: configuration.audit.postgresURL, logger: auditLogger)
            audit = AuditLog(store: store, configuration: configuration.audit, metrics: metrics, logger: auditLogger)
        } else {
            audit = nil
        }
    }

    /// Logs the matrix-product kernels OpenBLAS chose, and warns when it fell back to far
    /// older ones than the CPU runs (`BLASKernels`): every explanation's products run on them.
    public func reportMatrixKernels() {
        let core = BLASKernels.coreName
        logger.info("matrix products", metadata: ["blas": "OpenBLAS", "kernels": "\(core)"])
        if let better = BLASKernels.betterCoreName {
            logger.warning(
                "OpenBLAS does not know this CPU and runs its \(core) kernels; start Candor with OPENBLAS_CORETYPE=\(better) for faster matrix products",
                metadata: ["kernels": "\(core)", "available": "\(better)"])
        }
    }

    /// Runs CPU-heavy work on the worker pool under the request deadline; it is cancelled if
    /// the request's client leaves before the answer is ready.
    /// `kind` names the work (model and method) for the pool's service-time estimates.
    func compute<Result: Sendable>(
        _ kind: String, for context: CandorRequestContext, _ work: @escaping @Sendable (CancellationFlag) throws -> Result
    ) async throws -> Result {
        try await pool.run(
            timeout: .seconds(configuration.server.requestTimeoutSeconds), kind: kind, abandonedWhen: context.presence, work)
    }

    /// The API's version: openapi.yaml's `info.version`, and `GET /v2`'s.
    public static let version = "1.0.0"

    /// The loaded model a route's `{name}` names, or the 404 that says there is none.
    func model(named name: String) throws -> LoadedModel {
        guard let model = registry.model(named: name) else {
            throw Problem.notFound("unknown-model", "no model named '\(name)' is loaded; GET /v1/models lists them")
        }
        return model
    }

    /// After a model is added, replaced or removed: cached answers for an old version can
    /// never be asked for again, so their memory is released, and the gauge is updated.
    func modelsChanged() {
        cache.removeAll()
        metrics.modelsLoaded.record(registry.count)
    }

    /// Scans the models folder, the stored datasets and the kept analyses (at start-up,
    /// before the server listens).
    public func loadModels() {
        registry.loadDirectory()
        metrics.modelsLoaded.record(registry.count)
        datasets.load()
        analyses.load()
    }
}

/// The router with every route and middleware.
public func buildRouter(_ service: CandorService) -> Router<CandorRequestContext> {
    // HEAD answers every GET route, as RFC 9110 §9.3.2 asks of a general-purpose server.
    let router = Router(context: CandorRequestContext.self, options: .autoGenerateHeadEndpoints)
    let allowed = AllowedMethods()
    router.add(middleware: RequestEnvelopeMiddleware(metrics: service.metrics, allowedMethods: allowed))
    router.add(middleware: ResponseCompressionMiddleware())
    ServiceRoutes(service: service).register(on: router)
    ModelRoutes(service: service).register(on: router)
    InferenceRoutes(service: service).register(on: router)
    OpenInferenceRoutes(service: service).register(on: router)
    KServeRoutes(service: service).register(on: router)
    AuditRoutes(service: service).register(on: router)
    DatasetRoutes(service: service).register(on: router)
    AnalysisRoutes(service: service).register(on: router)
    PageRoutes().register(on: router)
    allowed.load(router.routes)
    return router
}

/// The whole application: loads the models, then serves them. The worker pool and the audit
/// log are services of the application, started before and stopped after the HTTP server, so
/// on SIGTERM or SIGINT the server stops accepting, in-flight requests finish and are
/// recorded, and only then the audit log drains and the pool ends.
/// `onServerRunning` learns the listening channel (its port, when the configuration asks for 0).
/// Throws when the TLS settings name files that cannot serve (``ServerTLS``).
public func buildApplication(
    _ service: CandorService, onServerRunning: @escaping @Sendable (any Channel) async -> Void = { _ in }
) throws -> some ApplicationProtocol {
    // TLS files are checked before the models load, so that a mistake there stops the start at once.
    let tls = try ServerTLS.configuration(service.configuration.server)
    service.loadModels()
    var logger = service.logger
    logger[metadataKey: "component"] = "http"
    let server = service.configuration.server
    let timeouts = ConnectionTimeouts(
        header: .seconds(fractional: server.headerTimeoutSeconds), bodyWindow: .seconds(fractional: server.bodyTimeoutSeconds),
        minimumBodyBytes: Int((Double(server.minBodyBytesPerSecond) * server.bodyTimeoutSeconds).rounded(.up)),
        idle: .seconds(fractional: server.idleTimeoutSeconds))
    let metrics = service.metrics
    let router = buildRouter(service)
    let implemented = AllowedMethods.implemented(by: router.routes)
    let http = HTTPServerBuilder.http1(
        configuration: .init(
            additionalChannelHandlers: [ConnectionGuard(timeouts: timeouts, metrics: metrics, implementedMethods: implemented)]))
    return Application(
        router: router,
        server: try tls.map { try .tls(http, tlsConfiguration: $0) } ?? http,
        configuration: .init(
            address: .hostname(server.host, port: server.port),
            serverName: "candor",
            availableConnectionsDelegate: ConnectionLimit(maximum: server.maxConnections, gauge: metrics.openConnections)),
        services: [service.pool] + (service.audit.map { [$0] } ?? []),
        onServerRunning: onServerRunning,
        logger: logger)
}
