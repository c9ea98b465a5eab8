/// Every finished dataset-level analysis, by API name. An analysis appears here — and so in
/// `GET /v1/methods` (under `analyses`) — only once it is implemented and checked against its reference.
public struct AnalysisCatalog: Sendable {
    public let analyses: [any Analysis]

    public init(analyses: [any Analysis]) {
        self.analyses = analyses
    }

    /// The analyses Candor ships.
    public static let standard = AnalysisCatalog(analyses: [
        PartialDependence(),
        AccumulatedLocalEffects(),
        PermutationImportance(),
        ShapSummary(),
        GlobalSurrogate(),
        ImportanceTest(),
        ActivationMaximization(),
        TCAV(),
    ])

    public func analysis(named name: String) -> (any Analysis)? {
        analyses.first { $0.descriptor.name == name }
    }

    public var names: [String] { analyses.map(\.descriptor.name) }
}
