import CoreMetrics
import Prometheus

/// Every metric the service exports, created once against one Prometheus registry.
///
/// The registry is the application's own (not the process-wide `MetricsSystem`), so tests can
/// build many applications in one process, each with its own `/metrics`. Labels stay
/// low-cardinality: route templates, methods, statuses — never raw inputs.
final class ServiceMetrics: Sendable {
    let registry: PrometheusCollectorRegistry
    private let factory: PrometheusMetricsFactory

    let queueDepth: CoreMetrics.Gauge
    let busyWorkers: CoreMetrics.Gauge
    let modelsLoaded: CoreMetrics.Gauge
    let rejectedJobs: CoreMetrics.Counter
    let cacheHits: CoreMetrics.Counter
    let cacheMisses: CoreMetrics.Counter
    let cacheEvictions: CoreMetrics.Counter
    let cacheBytes: CoreMetrics.Gauge
    let cacheEntries: CoreMetrics.Gauge
    let openConnections: CoreMetrics.Gauge
    let framingErrors: CoreMetrics.Counter
    let auditWritten: CoreMetrics.Counter
    let auditDropped: CoreMetrics.Counter
    let auditQueueDepth: CoreMetrics.Gauge

    init() {
        registry = PrometheusCollectorRegistry()
        var factory = PrometheusMetricsFactory(registry: registry)
        let seconds: [Duration] = [
            .milliseconds(1), .milliseconds(2), .milliseconds(5), .milliseconds(10), .milliseconds(25),
            .milliseconds(50), .milliseconds(100), .milliseconds(250), .milliseconds(500), .seconds(1),
            .seconds(2.5), .seconds(5), .seconds(10), .seconds(30),
        ]
        factory.defaultDurationHistogramBuckets = seconds
        self.factory = factory
        queueDepth = CoreMetrics.Gauge(label: "candor_queue_depth", factory: factory)
        busyWorkers = CoreMetrics.Gauge(label: "candor_busy_workers", factory: factory)
        modelsLoaded = CoreMetrics.Gauge(label: "candor_models_loaded", factory: factory)
        rejectedJobs = CoreMetrics.Counter(label: "candor_rejected_requests_total", factory: factory)
        cacheHits = CoreMetrics.Counter(label: "candor_cache_hits_total", factory: factory)
        cacheMisses = CoreMetrics.Counter(label: "candor_cache_misses_total", factory: factory)
        cacheEvictions = CoreMetrics.Counter(label: "candor_cache_evictions_total", factory: factory)
        cacheBytes = CoreMetrics.Gauge(label: "candor_cache_bytes", factory: factory)
        cacheEntries = CoreMetrics.Gauge(label: "candor_cache_entries", factory: factory)
        openConnections = CoreMetrics.Gauge(label: "candor_open_connections", factory: factory)
        framingErrors = CoreMetrics.Counter(label: "candor_http_framing_errors_total", factory: factory)
        auditWritten = CoreMetrics.Counter(label: "candor_audit_written_total", factory: factory)
        auditDropped = CoreMetrics.Counter(label: "candor_audit_dropped_total", factory: factory)
        auditQueueDepth = CoreMetrics.Gauge(label: "candor_audit_queue_depth", factory: factory)
    }

    /// Connections closed for sending too slowly or sitting idle, by phase: `header`, `body`
    /// or `idle`.
    func connectionTimeouts(phase: String) -> CoreMetrics.Counter {
        CoreMetrics.Counter(label: "candor_connection_timeouts_total", dimensions: [("phase", phase)], factory: factory)
    }

    /// Counts a finished HTTP request and records its latency.
    func recordRequest(route: String, method: String, status: Int, duration: Duration) {
        let dimensions = [("route", route), ("method", method), ("status", String(status))]
        CoreMetrics.Counter(label: "candor_http_requests_total", dimensions: dimensions, factory: factory).increment()
        CoreMetrics.Timer(label: "candor_http_request_duration_seconds", dimensions: dimensions, factory: factory)
            .recordNanoseconds(duration.nanoseconds)
    }

    /// Records how long one explanation took to compute, by method.
    func recordExplanation(method: String, duration: Duration) {
        CoreMetrics.Timer(label: "candor_explain_duration_seconds", dimensions: [("method", method)], factory: factory)
            .recordNanoseconds(duration.nanoseconds)
    }

    /// The Prometheus text exposition of every metric.
    func exposition() -> [UInt8] {
        var buffer: [UInt8] = []
        registry.emit(into: &buffer)
        return buffer
    }
}

extension Duration {
    var nanoseconds: Int64 {
        let (seconds, attoseconds) = components
        return seconds * 1_000_000_000 + attoseconds / 1_000_000_000
    }
}
