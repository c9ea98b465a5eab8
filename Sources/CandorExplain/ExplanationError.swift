import CandorModel

/// Why an explanation request cannot be answered. Each carries a stable code (the problem
/// `type` over HTTP) and a message for the client naming what was wrong.
public struct ExplanationError: Error, Sendable, Equatable, CustomStringConvertible {
    public struct Code: Sendable, Hashable, CustomStringConvertible {
        public let rawValue: String
        public init(_ rawValue: String) { self.rawValue = rawValue }
        public var description: String { rawValue }

        /// A parameter is unknown, of the wrong type or out of range.
        public static let invalidParameter = Code("invalid-parameter")
        /// An input has the wrong shape, is not finite, or the batch is empty or too large.
        public static let invalidInput = Code("invalid-input")
        /// `target` is outside the explained output.
        public static let invalidTarget = Code("invalid-target")
        /// `output` names no output of the model.
        public static let unknownOutput = Code("unknown-output")
        /// The method cannot be applied to this model (for example, it needs gradients).
        public static let methodNotApplicable = Code("method-not-applicable")
        /// The model or the method produced NaN or infinity.
        public static let nonFiniteResult = Code("non-finite-result")
        /// The computation was cancelled (its deadline passed).
        public static let cancelled = Code("cancelled")
        /// The model failed while evaluating the request.
        public static let modelFailure = Code("model-failure")
    }

    public let code: Code
    public let message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { message }

    /// Wraps a model failure met while explaining.
    public init(_ error: ModelError) {
        self.init(.modelFailure, error.message)
    }
}
