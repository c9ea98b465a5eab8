/// Why attributions could not be rendered: a sentence for the client and a stable code.
public struct RenderError: Error, Equatable, CustomStringConvertible {
    /// A stable, comparable reason (extensible, as swift-service-lifecycle's error codes are).
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        public let rawValue: String
        public var description: String { rawValue }

        /// A combination or value of `RenderOptions` Captum refuses.
        public static let invalidOptions = Code(rawValue: "invalid_options")
        /// Sizes that do not match the number of values given.
        public static let shapeMismatch = Code(rawValue: "shape_mismatch")
        /// A kind that draws the original image, without one.
        public static let missingOriginal = Code(rawValue: "missing_original")
    }

    public let code: Code
    public let message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { message }
}
