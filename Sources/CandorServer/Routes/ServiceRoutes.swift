import CandorExplain
import HTTPTypes
import Hummingbird
import NIOCore

/// `/healthz`, `/readyz`, `/metrics`, `/v1/methods` and `/v1/evaluations`.
struct ServiceRoutes {
    let service: CandorService

    func register(on router: Router<CandorRequestContext>) {
        router.get("/healthz") { _, _ in try JSONResponse.make(["status": "ok"]) }
        router.get("/readyz") { _, _ in try readiness() }
        router.get("/metrics") { _, _ in
            Response(
                status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                body: .init(byteBuffer: ByteBuffer(bytes: service.metrics.exposition())))
        }
        router.get("/v1/methods") { _, _ in try JSONResponse.make(MethodList(service.catalog, analyses: service.analysisCatalog)) }
        router.get("/v1/evaluations") { _, _ in try JSONResponse.make(MetricList(service.metricCatalog)) }
    }

    /// Ready once the models folder has been scanned, at least one model is served and the
    /// worker pool takes work. The audit store's state is reported beside it, and does not
    /// make the service unready: answers continue while it is down (each lost record counted),
    /// and taking every replica out of service over a shared store would stop them.
    func readiness() throws -> Response {
        struct Body: Encodable {
            let status: String
            let models: Int
            let workers: Int
            let reason: String?
            let audit: AuditLog.Status?
        }
        let reason = Self.unreadiness(of: service)
        return try JSONResponse.make(
            Body(
                status: reason == nil ? "ready" : "unavailable", models: service.registry.count, workers: service.pool.threads,
                reason: reason, audit: service.audit?.status),
            status: reason == nil ? .ok : .serviceUnavailable)
    }

    /// Why the service is not ready, or nil when it is.
    static func unreadiness(of service: CandorService) -> String? {
        let registry = service.registry
        if !registry.hasScanned { return "models are still loading" }
        if registry.count == 0 { return "no model is loaded; add one to the models folder or with POST /v1/models" }
        if !service.pool.isAccepting { return "the worker pool is shutting down" }
        return nil
    }
}

/// `GET /v1/methods`: every explanation method, then every dataset-level analysis, with its
/// family, the models it applies to, and its parameters with types, defaults and limits —
/// read from the same declarations that validate requests.
struct MethodList: Encodable {
    struct Parameter: Encodable {
        let name: String
        let type: String
        let `default`: JSONValue?
        let minimum: Double?
        let maximum: Double?
        let choices: [String]?
        let description: String
    }
    struct Method: Encodable {
        let name: String
        let family: String
        let summary: String
        let reference: String
        let appliesTo: String
        let parameters: [Parameter]

        enum CodingKeys: String, CodingKey {
            case name, family, summary, reference, parameters
            case appliesTo = "applies_to"
        }
    }
    let methods: [Method]
    let analyses: [Method]

    init(_ catalog: MethodCatalog, analyses: AnalysisCatalog) {
        methods = Self.entries(catalog.explainers.map(\.descriptor))
        self.analyses = Self.entries(analyses.analyses.map(\.descriptor))
    }

    /// The listing of each descriptor.
    static func entries(_ descriptors: [MethodDescriptor]) -> [Method] {
        descriptors.map { descriptor in
            Method(
                name: descriptor.name, family: descriptor.family, summary: descriptor.summary, reference: descriptor.reference,
                appliesTo: descriptor.requirement.rawValue,
                parameters: descriptor.parameters.map { spec in
                    let choices: [String]? = if case .choice(let choices) = spec.kind { choices } else { nil }
                    return Parameter(
                        name: spec.name, type: spec.typeName, default: spec.defaultValue, minimum: spec.minimum,
                        maximum: spec.maximum, choices: choices, description: spec.summary)
                })
        }
    }
}

/// `GET /v1/evaluations`: every quality metric with its parameters, defaults and limits, in
/// the form `GET /v1/methods` lists methods.
struct MetricList: Encodable {
    let metrics: [MethodList.Method]

    init(_ catalog: MetricCatalog) {
        metrics = MethodList.entries(catalog.metrics.map(\.descriptor))
    }
}
