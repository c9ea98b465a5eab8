import NIOCore
import Synchronization

/// Whether the client of one connection is still there to read its answer.
///
/// `ConnectionGuard` marks it when the client closes or half-closes while an answer is owed;
/// the worker pool registers a cancellation for the computation it runs for that client, so
/// work nobody will read stops at its next batch boundary instead of holding a worker.
final class ClientPresence: Sendable {
    private struct State {
        var hasLeft = false
        var nextToken = 0
        var whenGone: [Int: @Sendable () -> Void] = [:]
    }
    private let state = Mutex(State())

    /// A registration to remove once the work it cancels is over.
    struct Registration: Sendable {
        fileprivate let token: Int
    }

    /// Runs `action` once when the client leaves (at once if it already has).
    func whenGone(_ action: @escaping @Sendable () -> Void) -> Registration {
        let (registration, hasLeft) = state.withLock { state -> (Registration, Bool) in
            defer { state.nextToken += 1 }
            if !state.hasLeft { state.whenGone[state.nextToken] = action }
            return (Registration(token: state.nextToken), state.hasLeft)
        }
        if hasLeft { action() }
        return registration
    }

    func remove(_ registration: Registration) {
        _ = state.withLock { $0.whenGone.removeValue(forKey: registration.token) }
    }

    func clientLeft() {
        let actions = state.withLock { state -> [@Sendable () -> Void] in
            guard !state.hasLeft else { return [] }
            state.hasLeft = true
            defer { state.whenGone = [:] }
            return Array(state.whenGone.values)
        }
        for action in actions { action() }
    }

    // MARK: Finding a connection's presence from a request

    /// Presences of open connections by channel: a request context learns its channel from
    /// Hummingbird, not the handlers in its pipeline.
    private static let byChannel = Mutex<[ObjectIdentifier: ClientPresence]>([:])

    static func register(_ presence: ClientPresence, for channel: any Channel) {
        byChannel.withLock { $0[ObjectIdentifier(channel)] = presence }
    }

    static func unregister(_ channel: any Channel) {
        _ = byChannel.withLock { $0.removeValue(forKey: ObjectIdentifier(channel)) }
    }

    /// The presence of the connection `channel` carries, if a guard watches it (requests
    /// replayed in tests without a socket have none).
    static func of(_ channel: any Channel) -> ClientPresence? {
        byChannel.withLock { $0[ObjectIdentifier(channel)] }
    }
}
