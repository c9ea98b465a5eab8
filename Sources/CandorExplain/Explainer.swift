import CandorModel
import CandorTensor

/// Which models a method applies to.
public enum ModelRequirement: String, Sendable, Codable {
    /// Needs gradients (an ONNX graph Candor can differentiate).
    case differentiable
    /// Needs only predictions.
    case any
    /// Needs the trees of a tree ensemble.
    case treeEnsemble = "tree_ensemble"
    /// Needs a linear model's weights (an ONNX `LinearClassifier`/`LinearRegressor` behind
    /// per-feature scaling).
    case linear = "linear_model"

    /// Whether a model meets the requirement.
    public func isMet(by model: any PredictiveModel) -> Bool {
        switch self {
        case .differentiable: model is any DifferentiableModel
        case .any: true
        case .treeEnsemble: model is TreeEnsemble
        case .linear: (model as? ONNXModel)?.linearForm != nil
        }
    }
}

/// What `GET /v1/methods` says of a method, and what requests are validated against.
public struct MethodDescriptor: Sendable {
    public let name: String
    public let family: String
    public let summary: String
    /// The peer implementation whose numbers this method reproduces.
    public let reference: String
    public let requirement: ModelRequirement
    public let parameters: [ParameterSpec]

    public init(
        name: String, family: String, summary: String, reference: String, requirement: ModelRequirement,
        parameters: [ParameterSpec]
    ) {
        self.name = name
        self.family = family
        self.summary = summary
        self.reference = reference
        self.requirement = requirement
        self.parameters = parameters
    }
}

/// What is to be explained: a batch of instances, the output and (optionally) the targets.
public struct ExplanationProblem: Sendable {
    public let model: any PredictiveModel
    /// One batched tensor per model input, [batch] + instance shape.
    public let inputs: [Tensor]
    /// Index of the explained model output.
    public let output: Int
    /// A class index per instance into the flattened per-instance output; nil means each
    /// instance's argmax.
    public let targets: [Int]?
    /// What the model's sidecar says about its training data (background rows, statistics).
    public let dataset: DatasetSummary

    public init(model: any PredictiveModel, inputs: [Tensor], output: Int, targets: [Int]?, dataset: DatasetSummary = .none) {
        self.model = model
        self.inputs = inputs
        self.output = output
        self.targets = targets
        self.dataset = dataset
    }

    public var batchSize: Int { inputs.first?.shape.first ?? 0 }
}

/// The problem after the model has been run once: targets are known.
public struct ResolvedProblem: Sendable {
    public let problem: ExplanationProblem
    /// The explained output for every instance, [batch, ...].
    public let outputValues: Tensor
    public let targets: [Int]
}

/// One instance's explanation as a method computes it.
public struct InstanceAttribution: Sendable {
    /// One tensor per model input, shaped like the instance.
    public var attributions: [Tensor]
    /// Method-specific fields reported beside the attributions (`convergence_delta`, …).
    public var extras: [String: JSONValue]

    public init(attributions: [Tensor], extras: [String: JSONValue] = [:]) {
        self.attributions = attributions
        self.extras = extras
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
