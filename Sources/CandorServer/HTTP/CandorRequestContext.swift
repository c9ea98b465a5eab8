import HTTPTypes
import Hummingbird
import Logging

/// The per-request context: Hummingbird's core storage plus the request id every log line
/// and response carries.
public struct CandorRequestContext: RequestContext {
    public var coreContext: CoreRequestContextStorage
    /// The client's `X-Request-Id` when it sent a usable one, otherwise a generated one.
    public var requestId = ""
    /// Whether the client is still connected (nil for requests that came without a socket).
    let presence: ClientPresence?
    /// The client's address, as the audit log records the caller.
    let remoteAddress: String

    public init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        presence = ClientPresence.of(source.channel)
        remoteAddress = source.channel.remoteAddress?.ipAddress ?? "unknown"
    }
}
