import CandorModel
import CandorTensor

/// A measure of how far an explanation can be trusted, computed from the model, the explained
/// instances and their attributions (Yeh et al. 2019; Petsiuk et al. 2018; Samek et al. 2017;
/// Bhatt et al. 2020). Like an ``Explainer``, `prepare` validates a request's parameters
/// without computing (on the event loop) and the plan's `evaluate` does the work (on a worker).
public protocol QualityMetric: Sendable {
    var descriptor: MethodDescriptor { get }
    /// Whether the metric explains perturbed inputs again with the same method, so it can only
    /// judge attributions computed here, not attributions brought from elsewhere.
    var reexplains: Bool { get }
    func prepare(_ parameters: [String: JSONValue], for problem: ExplanationProblem) throws(ExplanationError) -> any MetricPlan
}

extension QualityMetric {
    public var reexplains: Bool { false }
}

/// A validated metric, ready to evaluate explanations.
public protocol MetricPlan: Sendable {
    /// Every parameter's effective value, defaults filled in: echoed in the response and part
    /// of the cache key.
    var effectiveParameters: [String: JSONValue] { get }
    /// One quality per instance of `subject`, in order.
    func evaluate(_ subject: EvaluationSubject, context: ExplanationContext) throws(ExplanationError) -> [MetricValue]
}

/// What a metric says of one explanation: its headline number and, for metrics that have one,
/// the curve or per-stage figures it comes from.
public struct MetricValue: Sendable, Equatable {
    public let value: Double
    public let details: [String: JSONValue]

    public init(_ value: Double, details: [String: JSONValue] = [:]) {
        self.value = value
        self.details = details
    }

    /// `{"value": v, ...details}`, as the response carries it.
    public var json: JSONValue {
        var object = details
        object["value"] = .number(value)
        return .object(object)
    }
}

/// A method with the parameters a request gave it, for metrics that explain other inputs the
/// same way (prepared afresh for them: a plan is bound to its problem's batch).
public struct MethodCall: Sendable {
    public let explainer: any Explainer
    public let parameters: [String: JSONValue]

    public init(explainer: any Explainer, parameters: [String: JSONValue]) {
        self.explainer = explainer
        self.parameters = parameters
    }

    /// The method's attributions for `problem` (per instance, one tensor per input): the
    /// call prepared for it and run on its resolved targets.
    func attributions(for problem: ExplanationProblem, context: ExplanationContext) throws(ExplanationError) -> [[Tensor]] {
        let plan = try explainer.prepare(parameters, for: problem)
        return try ExplanationRunner.attribute(plan, problem: problem, context: context).1.map(\.attributions)
    }
}

/// The explanations a metric judges: the resolved problem, per instance one attribution
/// tensor per model input, shaped like the instance, and the method call that produced them
/// (nil for attributions brought from elsewhere).
public struct EvaluationSubject: Sendable {
    public let problem: ResolvedProblem
    public let attributions: [[Tensor]]
    public let method: MethodCall?

    init(problem: ResolvedProblem, attributions: [[Tensor]], method: MethodCall?) {
        self.problem = problem
        self.attributions = attributions
        self.method = method
    }

    /// Instance `row`'s attributions, every input's flattened and concatenated in input order
    /// (the order ``FeatureGroups`` addresses elements in).
    func flatAttributions(_ row: Int) -> [Float] {
        attributions[row].flatMap(\.scalars)
    }

    /// The method that made the attributions, for `metric`, which explains other inputs
    /// with it; a 400 for attributions brought from elsewhere.
    func method(for metric: String, explaining what: String) throws(ExplanationError) -> MethodCall {
        guard let method else {
            throw ExplanationError(
                .invalidParameter, "\(metric) explains \(what) again, so it needs the method, not attributions alone")
        }
        return method
    }
}
