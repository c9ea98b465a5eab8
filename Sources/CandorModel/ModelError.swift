import CandorTensor

extension ErrorCode {
    /// The file is not a parsable model (truncated, not protobuf, not ONNX).
    public static let invalidModel = ErrorCode("invalid-model")
    /// The graph uses an operator Candor does not implement.
    public static let unsupportedOperator = ErrorCode("unsupported-operator")
    /// A node has an attribute (or attribute value) Candor does not implement.
    public static let unsupportedAttribute = ErrorCode("unsupported-attribute")
    /// A node reads a tensor that nothing defines, or a weight is missing.
    public static let missingValue = ErrorCode("missing-value")
    /// Shapes or element types in the graph (or of an input) do not fit together.
    public static let inconsistentShapes = ErrorCode("inconsistent-shapes")
    /// An element type or other feature of the file Candor does not handle.
    public static let unsupportedFeature = ErrorCode("unsupported-feature")
    /// An external data file is missing, outside the model's folder, or too short.
    public static let externalData = ErrorCode("external-data")
    /// An input has the wrong shape or values (not finite, not a whole number for an int64
    /// input), or the batch is empty or too large.
    public static let invalidInput = ErrorCode("invalid-input")
    /// A computation exceeded a size limit.
    public static let tooLarge = ErrorCode("too-large")
}

/// Why a model could not be loaded or evaluated. Every case carries a message meant for the
/// person who supplied the model or the input: it names the node, operator or tensor at fault.
public struct ModelError: CodedError, Equatable {
    public let code: ErrorCode
    public let message: String

    public init(_ code: ErrorCode, _ message: String) {
        self.code = code
        self.message = message
    }

    /// Wraps a kernel error raised while running `node`.
    static func atNode(_ node: NodeIdentity, _ error: TensorError) -> ModelError {
        let code: ErrorCode = if case .tooLarge = error { .tooLarge } else { .inconsistentShapes }
        return ModelError(code, "\(node): \(error)")
    }
}

/// How errors name a node: by its ONNX name (or position) and operator.
public struct NodeIdentity: Sendable, Equatable, CustomStringConvertible {
    public let name: String
    public let operatorType: String

    public init(name: String, operatorType: String) {
        self.name = name
        self.operatorType = operatorType
    }

    public var description: String { "node '\(name)' (\(operatorType))" }
}
