import HTTPTypes
import Hummingbird
import Logging

/// The per-request context: Hummingbird's core storage plus the request id every log line
/// and response carries.
public struct CandorRequestContext: RequestContext {
    public var coreContext: CoreRequestContextStorage
    /// The client's `X-Request-Id` when it sent a usable one, otherwise a generated one.
    public var requestId = ""

    public init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
    }
}
