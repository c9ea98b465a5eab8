import CandorExplain
import CoreMetrics
import Foundation
import HTTPTypes
import Hummingbird
import Logging

/// The parts every route shares: configuration, models, methods, workers, cache and metrics.
public final class CandorService: Sendable {
    public let configuration: CandorConfiguration
    public let registry: ModelRegistry
    public let catalog: MethodCatalog
    let pool: WorkerPool
    let cache: ResponseCache
    let metrics: ServiceMetrics
    let logger: Logger

    public init(configuration: CandorConfiguration, catalog: MethodCatalog = .standard, logger: Logger) {
        self.configuration = configuration
        self.catalog = catalog
        self.logger = logger
        let metrics = ServiceMetrics()
        self.metrics = metrics
        registry = ModelRegistry(directory: URL(fileURLWithPath: configuration.models.directory), logger: logger)
        pool = WorkerPool(
            threads: configuration.workerThreads, queueLimit: configuration.workers.queueLimit,
            retryAfterSeconds: configuration.workers.retryAfterSeconds, metrics: metrics)
        cache = ResponseCache(maxBytes: configuration.cache.maxBytes, metrics: metrics)
    }

    /// Runs CPU-heavy work on the worker pool under the request deadline.
    func compute<Result: Sendable>(_ work: @escaping @Sendable (CancellationFlag) throws -> Result) async throws -> Result {
        try await pool.run(timeout: .seconds(configuration.server.requestTimeoutSeconds), work)
    }

    /// After a model is added, replaced or removed: cached answers for an old version can
    /// never be asked for again, so their memory is released, and the gauge is updated.
    func modelsChanged() {
        cache.removeAll()
        metrics.modelsLoaded.record(registry.count)
    }

    /// Scans the models folder (at start-up, before the server listens).
    public func loadModels() {
        registry.loadDirectory()
        metrics.modelsLoaded.record(registry.count)
    }
}

/// The router with every route and middleware.
public func buildRouter(_ service: CandorService) -> Router<CandorRequestContext> {
    let router = Router(context: CandorRequestContext.self)
    router.add(middleware: RequestEnvelopeMiddleware(metrics: service.metrics))
    ServiceRoutes(service: service).register(on: router)
    ModelRoutes(service: service).register(on: router)
    InferenceRoutes(service: service).register(on: router)
    return router
}

/// The whole application: loads the models, then serves them. The worker pool is a service
/// of the application, started before and stopped after the HTTP server, so on SIGTERM or
/// SIGINT the server stops accepting, in-flight requests finish, and only then the pool ends.
public func buildApplication(_ service: CandorService) -> some ApplicationProtocol {
    service.loadModels()
    var logger = service.logger
    logger[metadataKey: "component"] = "http"
    return Application(
        router: buildRouter(service),
        configuration: .init(
            address: .hostname(service.configuration.server.host, port: service.configuration.server.port),
            serverName: "candor"),
        services: [service.pool],
        logger: logger)
}
