import CoreMetrics
import HummingbirdCore

/// At most `maximum` open connections: beyond it Hummingbird stops accepting, and new
/// connections wait in the listen backlog until one closes, so a flood of idle sockets cannot
/// take every file descriptor. The open count is exported as `candor_open_connections`.
struct ConnectionLimit: AvailableConnectionsDelegate {
    let maximum: Int
    let gauge: CoreMetrics.Gauge
    private var open = 0

    init(maximum: Int, gauge: CoreMetrics.Gauge) {
        self.maximum = maximum
        self.gauge = gauge
    }

    mutating func connectionOpened() {
        open += 1
        gauge.record(open)
    }

    mutating func connectionClosed() {
        open -= 1
        gauge.record(open)
    }

    func isAcceptingNewConnections() -> Bool { open < maximum }
}
