/// A stable, machine-readable name for a kind of failure: the last part of the problem
/// `type` URN (`urn:candor:error:CODE`) that clients switch on. Each module declares its own
/// codes as static members, so codes are compared as values, never as loose strings.
public struct ErrorCode: Sendable, Hashable, CustomStringConvertible {
    public let rawValue: String
    public init(_ rawValue: String) { self.rawValue = rawValue }
    public var description: String { rawValue }
}

/// An error with a stable code and a message meant for the person who caused it.
public protocol CodedError: Error, Sendable, CustomStringConvertible {
    var code: ErrorCode { get }
    var message: String { get }
}

extension CodedError {
    public var description: String { message }
}
