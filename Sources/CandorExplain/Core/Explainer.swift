import CandorModel
import CandorTensor

/// One instance's explanation as a method computes it.
public struct InstanceAttribution: Sendable {
    /// One tensor per model input, shaped like the instance.
    public var attributions: [Tensor]
    /// Method-specific fields reported beside the attributions (`convergence_delta`, …).
    public var extras: [String: JSONValue]
    /// The sampling methods: the standard error of each attribution, estimated from the
    /// method's own samples, shaped like `attributions` (`attributions_stderr`).
    public var standardErrors: [Tensor]?

    public init(attributions: [Tensor], extras: [String: JSONValue] = [:], standardErrors: [Tensor]? = nil) {
        self.attributions = attributions
        self.extras = extras
        self.standardErrors = standardErrors
    }
}

/// An explanation method. `prepare` validates a request's parameters without computing (it
/// runs on the event loop); the returned plan's `run` does the work (on a worker thread).
public protocol Explainer: Sendable {
    var descriptor: MethodDescriptor { get }
    func prepare(_ parameters: [String: JSONValue], for problem: ExplanationProblem) throws(ExplanationError) -> any ExplanationPlan
}

/// A validated explanation, ready to run.
public protocol ExplanationPlan: Sendable {
    /// Every parameter's effective value, defaults filled in: echoed in the response and part
    /// of the cache key.
    var effectiveParameters: [String: JSONValue] { get }
    func run(_ problem: ResolvedProblem, context: ExplanationContext) throws(ExplanationError) -> [InstanceAttribution]
}

extension Explainer {
    /// The model as a differentiable one, or a 400 saying this method needs gradients.
    func differentiable(_ model: any PredictiveModel) throws(ExplanationError) -> any DifferentiableModel {
        guard let model = model as? any DifferentiableModel else {
            throw ExplanationError(.methodNotApplicable, "\(descriptor.name) needs gradients, which this model does not provide")
        }
        return model
    }
}
