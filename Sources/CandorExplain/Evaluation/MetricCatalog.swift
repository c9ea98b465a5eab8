/// Every finished quality metric, by API name. A metric appears here — and so in
/// `GET /v1/evaluations` — only once it is implemented and checked against its reference.
public struct MetricCatalog: Sendable {
    public let metrics: [any QualityMetric]

    public init(metrics: [any QualityMetric]) {
        self.metrics = metrics
    }

    /// The metrics Candor ships.
    public static let standard = MetricCatalog(metrics: [
        PerturbationCurveMetric(.deletion),
        PerturbationCurveMetric(.insertion),
        Sparseness(),
        Complexity(),
        Completeness(),
        Infidelity(),
        SensitivityMax(),
        FaithfulnessCorrelation(),
        Randomization(),
    ])

    public func metric(named name: String) -> (any QualityMetric)? {
        metrics.first { $0.descriptor.name == name }
    }

    public var names: [String] { metrics.map(\.descriptor.name) }
}
