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
        case .linear: (model as? any LinearFormModel)?.linearForm != nil
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
