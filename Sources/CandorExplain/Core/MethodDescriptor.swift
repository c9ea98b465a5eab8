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
    /// Needs a transformer's attention probabilities (a differentiable graph with a softmax
    /// over [batch, heads, queries, keys]).
    case transformer
    /// Needs text instances of a model with a tokenizer (the server's): the method masks the
    /// text itself. No model alone meets it.
    case text

    /// The models that meet the requirement, in words (for `docs/methods.md` and `candor methods`).
    public var modelsDescription: String {
        switch self {
        case .differentiable: "differentiable models (ONNX graphs Candor can differentiate)"
        case .any: "any model (forward passes only)"
        case .treeEnsemble: "tree ensembles (XGBoost, LightGBM, ONNX tree ensembles)"
        case .linear: "linear models (ONNX LinearClassifier/LinearRegressor behind per-feature scaling)"
        case .transformer: "transformers (differentiable ONNX graphs with self-attention: a softmax over [batch, heads, queries, keys])"
        case .text: "text models (a sidecar naming a tokenizer), given text instances"
        }
    }

    /// Whether a model meets the requirement.
    public func isMet(by model: any PredictiveModel) -> Bool {
        switch self {
        case .differentiable: model is any DifferentiableModel
        case .any: true
        case .treeEnsemble: model is TreeEnsemble
        case .linear: (model as? any LinearFormModel)?.linearForm != nil
        case .transformer: (model as? any DifferentiableModel)?.attentionProbabilities.isEmpty == false
        case .text: false
        }
    }
}

/// What `GET /v1/methods` says of a method, and what requests are validated against. The same
/// declaration is rendered into `docs/methods.md` (``MethodReference``), so the reference
/// cannot drift from what the service validates.
public struct MethodDescriptor: Sendable {
    public let name: String
    public let family: String
    public let summary: String
    /// The peer implementation whose numbers this method reproduces.
    public let reference: String
    public let requirement: ModelRequirement
    /// What the method is checked against, briefly: the reference library and the fixtures
    /// its goldens were computed on, or the properties that stand in for a reference (one
    /// row of the summary table in `docs/methods.md`).
    public let checkedAgainst: String
    /// Longer notes for `docs/methods.md`: the definition in full, and where Candor
    /// deliberately departs from the reference.
    public let details: String?
    public let parameters: [ParameterSpec]

    public init(
        name: String, family: String, summary: String, reference: String, requirement: ModelRequirement,
        checkedAgainst: String, details: String? = nil, parameters: [ParameterSpec]
    ) {
        self.name = name
        self.family = family
        self.summary = summary
        self.reference = reference
        self.requirement = requirement
        self.checkedAgainst = checkedAgainst
        self.details = details
        self.parameters = parameters
    }
}
