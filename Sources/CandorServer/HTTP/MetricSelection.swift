import CandorExplain

/// The quality metrics a request asks for — `evaluate` and `evaluate_params` on an explain
/// request, `metrics` and `params` on an evaluate request — each prepared against the problem,
/// so an unknown metric or a bad parameter is a 400 before any computation.
struct MetricSelection: Sendable {
    let plans: [NamedMetricPlan]
    /// The chosen metrics that explain perturbed inputs again, so need a method here.
    let reexplaining: [String]

    /// No metrics: an explain request without `evaluate`.
    static let none = MetricSelection(plans: [])

    private init(plans: [NamedMetricPlan]) {
        self.plans = plans
        reexplaining = []
    }

    /// `names` is an array of distinct metric names; `parameters`, when given, an object from
    /// some of those names to each metric's parameter object. `shared` are parameters every
    /// metric that declares them takes unless its own object sets them (the evaluate request's
    /// top-level `feature_mask`).
    init(
        names: JSONValue?, parameters: JSONValue?, fields: (names: String, parameters: String), catalog: MetricCatalog,
        problem: ExplanationProblem, shared: [String: JSONValue] = [:]
    ) throws {
        let available = catalog.names.joined(separator: ", ")
        guard case .array(let items)? = names, !items.isEmpty else {
            throw Problem.badRequest(
                "invalid-parameter",
                "'\(fields.names)' must be a non-empty array of metric names; GET /v1/evaluations lists them: \(available)")
        }
        var chosen: [(name: String, metric: any QualityMetric)] = []
        for item in items {
            guard case .string(let name) = item else {
                throw Problem.badRequest("invalid-parameter", "'\(fields.names)' must hold metric names, found \(item.typeName)")
            }
            guard let metric = catalog.metric(named: name) else {
                throw Problem.badRequest("unknown-metric", "unknown metric '\(name)'; available: \(available)")
            }
            guard !chosen.contains(where: { $0.name == name }) else {
                throw Problem.badRequest("invalid-parameter", "'\(fields.names)' names metric '\(name)' twice")
            }
            chosen.append((name, metric))
        }
        let byMetric: [String: JSONValue]
        switch parameters {
        case nil, .null?: byMetric = [:]
        case .object(let object)?: byMetric = object
        case let other?:
            throw Problem.badRequest(
                "invalid-parameter", "'\(fields.parameters)' must be an object of parameters by metric name, got \(other.typeName)")
        }
        if let stray = byMetric.keys.sorted().first(where: { key in !chosen.contains { $0.name == key } }) {
            throw Problem.badRequest(
                "invalid-parameter", "'\(fields.parameters)' has parameters for '\(stray)', which '\(fields.names)' does not ask for")
        }
        var plans: [NamedMetricPlan] = []
        for (name, metric) in chosen {
            var own: [String: JSONValue]
            switch byMetric[name] {
            case nil, .null?: own = [:]
            case .object(let object)?: own = object
            case let other?:
                throw Problem.badRequest("invalid-parameter", "'\(fields.parameters).\(name)' must be an object, got \(other.typeName)")
            }
            for (key, value) in shared where own[key] == nil && metric.descriptor.parameters.contains(where: { $0.name == key }) {
                own[key] = value
            }
            do { plans.append(NamedMetricPlan(name: name, plan: try metric.prepare(own, for: problem))) } catch { throw Problem(error) }
        }
        self.plans = plans
        reexplaining = chosen.filter(\.metric.reexplains).map(\.name)
    }

    /// Every metric's effective parameters by name: echoed in responses and hashed into cache keys.
    var effectiveParameters: [String: JSONValue] {
        Dictionary(uniqueKeysWithValues: plans.map { ($0.name, .object($0.plan.effectiveParameters)) })
    }
}
