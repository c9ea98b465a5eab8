import CandorModel

extension ErrorCode {
    /// A parameter is unknown, of the wrong type or out of range.
    public static let invalidParameter = ErrorCode("invalid-parameter")
    /// `target` is outside the explained output.
    public static let invalidTarget = ErrorCode("invalid-target")
    /// `output` names no output of the model.
    public static let unknownOutput = ErrorCode("unknown-output")
    /// The method cannot be applied to this model (for example, it needs gradients).
    public static let methodNotApplicable = ErrorCode("method-not-applicable")
    /// The method needs data about the training distribution (background rows, statistics)
    /// that neither the request nor the model's sidecar provides.
    public static let missingReferenceData = ErrorCode("missing-reference-data")
    /// The model or the method produced NaN or infinity.
    public static let nonFiniteResult = ErrorCode("non-finite-result")
    /// The computation was cancelled (its deadline passed).
    public static let cancelled = ErrorCode("cancelled")
    /// The model failed while evaluating the request.
    public static let modelFailure = ErrorCode("model-failure")
}

/// Why an explanation request cannot be answered. Each carries a stable code (the problem
/// `type` over HTTP) and a message for the client naming what was wrong.
public struct ExplanationError: CodedError, Equatable {
    public let code: ErrorCode
    public let message: String

    public init(_ code: ErrorCode, _ message: String) {
        self.code = code
        self.message = message
    }

    /// Wraps a model failure met while explaining.
    /// Keeps the model's own code (`too-large`, `inconsistent-shapes`, …), so the client learns
    /// what kind of failure it was.
    public init(_ error: ModelError) {
        self.init(error.code, error.message)
    }
}
