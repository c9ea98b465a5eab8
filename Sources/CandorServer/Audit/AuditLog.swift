import CoreMetrics
import Logging
import ServiceLifecycle
import Synchronization

/// Records every answered explanation and evaluation without making any response wait: a
/// route hands its record to a bounded queue and returns; one writer task drains the queue
/// into the store in batches. When the store is down, or the queue is full because it is slow,
/// records are dropped — answers never are — and each loss is counted
/// (`candor_audit_dropped_total`) and shown on `/readyz`.
///
/// Runs as a service of the application, after the HTTP server in shutdown order: once the
/// server has finished its requests, the writer drains what is queued and stops.
final class AuditLog: Service, Sendable {
    /// What `/readyz` says of the store.
    struct Status: Sendable, Encodable {
        /// `sqlite` or `postgres`.
        let store: String
        /// `starting`, `available` or `unavailable`.
        let state: String
        /// Why it is unavailable.
        let reason: String?
        /// Records not yet written: waiting, or in the batch being written.
        let queued: Int
        let dropped: Int
    }

    private struct State {
        var queue: [AuditRecord] = []
        /// What the queued records weigh (``AuditRecord/weight``).
        var queuedBytes = 0
        /// Records of the batch being written.
        var writing = 0
        var state = "starting"
        var reason: String?
        var dropped = 0
        /// Set at graceful shutdown: stop retrying to open the store, and drain what is
        /// queued until `drainDeadline` at most.
        var closing = false
        var drainDeadline: ContinuousClock.Instant?
    }

    let store: any AuditStore
    let storePayloads: Bool
    private let queueLimit: Int
    private let queueMaxBytes: Int
    private let retentionDays: Int
    private let metrics: ServiceMetrics
    private let logger: Logger
    private let state = Mutex(State())
    private let doorbell: AsyncStream<Void>
    private let ring: AsyncStream<Void>.Continuation

    /// Records written in one statement at most (16 bound values each), and what they may
    /// weigh together (well under PostgreSQL's 1 GB message).
    static let batchLimit = 500
    static let batchMaxBytes = 16 * 1024 * 1024
    /// How long the queue may take to drain at shutdown, inside a pod's grace period; what is
    /// left then is counted as lost.
    static let shutdownDrainLimit: Duration = .seconds(20)
    /// How long a store operation may take before the store counts as unavailable; opening
    /// it (connecting) gets less, so that a store that is down shows on `/readyz` soon.
    static let operationTimeout: Duration = .seconds(10)
    static let openingTimeout: Duration = .seconds(5)

    init(store: any AuditStore, configuration: CandorConfiguration.Audit, metrics: ServiceMetrics, logger: Logger) {
        self.store = store
        storePayloads = configuration.storePayloads
        queueLimit = configuration.queueLimit
        queueMaxBytes = configuration.queueMaxBytes
        retentionDays = configuration.retentionDays
        self.metrics = metrics
        self.logger = logger
        (doorbell, ring) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
    }

    /// Queues a record for the writer; when the queue is full — in records or in bytes,
    /// since a record may hold a large answer — it is dropped and counted, as is a record
    /// that could not be made (nil): the answer it describes is sent regardless.
    func record(_ record: AuditRecord?) {
        let depth = state.withLock { state -> Int? in
            guard let record, state.queue.count < queueLimit, state.queuedBytes + record.weight <= queueMaxBytes else {
                state.dropped += 1
                return nil
            }
            state.queue.append(record)
            state.queuedBytes += record.weight
            return state.queue.count
        }
        guard let depth else {
            metrics.auditDropped.increment()
            return
        }
        metrics.auditQueueDepth.record(depth)
        ring.yield()
    }

    var status: Status {
        state.withLock { state in
            Status(
                store: store.kind, state: state.state, reason: state.reason, queued: state.queue.count + state.writing,
                dropped: state.dropped)
        }
    }

    func run() async throws {
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { await self.store.run() }
            // The writer stops when the doorbell is finished at graceful shutdown, after
            // draining the queue.
            await withGracefulShutdownHandler {
                await self.openStore()
                // Once open (it returns unopened only at shutdown).
                if self.status.state == "available" { tasks.addTask { await self.retainRecords() } }
                for await _ in self.doorbell { await self.drain() }
                // The doorbell's last ring, at shutdown, drains what is left (within the
                // limit); anything still queued then is counted as lost.
                await self.drain()
                self.dropQueued()
            } onGracefulShutdown: {
                self.state.withLock { state in
                    state.closing = true
                    state.drainDeadline = .now + Self.shutdownDrainLimit
                }
                self.ring.finish()
            }
            tasks.cancelAll()
            await store.close()
        }
    }

    /// Opens the store (applying migrations), retrying every few seconds until it answers or
    /// the service stops; records queued meanwhile wait, up to the queue's limit.
    private func openStore() async {
        var delay: Duration = .milliseconds(500)
        while !Task.isCancelled, !state.withLock({ $0.closing }) {
            do {
                try await Self.withTimeout(Self.openingTimeout) { try await self.store.open() }
                setAvailable()
                logger.info("audit store open", metadata: ["store": "\(store.kind)"])
                return
            } catch {
                setUnavailable(error)
                try? await Task.sleep(for: delay)
                delay = min(delay * 2, .seconds(5))
            }
        }
    }

    /// Writes what is queued, a batch at a time, until the queue is empty. A batch the store
    /// refuses is dropped and counted: keeping it would only delay the next records' drop.
    /// Once the service is closing, a store that is not available is not tried again, and
    /// an available one gets until the drain deadline (each batch's timeout cut to it), even
    /// when the shutdown comes in the middle of a drain.
    private func drain() async {
        while true {
            let (closing, available, deadline) = state.withLock { ($0.closing, $0.state == "available", $0.drainDeadline) }
            let remaining = deadline.map { $0 - .now }
            if closing, !available || (remaining.map { $0 <= .zero } ?? false) { return }
            let batch = state.withLock { state -> [AuditRecord] in
                var (count, bytes) = (0, 0)
                while count < min(Self.batchLimit, state.queue.count),
                    count == 0 || bytes + state.queue[count].weight <= Self.batchMaxBytes
                {
                    bytes += state.queue[count].weight
                    count += 1
                }
                let batch = Array(state.queue.prefix(count))
                state.queue.removeFirst(count)
                state.queuedBytes -= bytes
                state.writing = count
                return batch
            }
            metrics.auditQueueDepth.record(state.withLock { $0.queue.count })
            guard !batch.isEmpty else { return }
            do {
                try await Self.withTimeout(min(Self.operationTimeout, remaining ?? Self.operationTimeout)) {
                    try await self.store.insert(batch)
                }
                state.withLock { $0.writing = 0 }
                metrics.auditWritten.increment(by: batch.count)
                setAvailable()
            } catch {
                state.withLock { state in
                    state.writing = 0
                    state.dropped += batch.count
                }
                metrics.auditDropped.increment(by: batch.count)
                setUnavailable(error)
            }
        }
    }

    private func dropQueued() {
        let count = state.withLock { state in
            defer {
                state.queue.removeAll()
                state.queuedBytes = 0
            }
            state.dropped += state.queue.count
            return state.queue.count
        }
        metrics.auditDropped.increment(by: count)
        metrics.auditQueueDepth.record(0)
    }

    /// Deletes records older than `audit.retention_days`, at start and then hourly.
    private func retainRecords() async {
        guard retentionDays > 0 else { return }
        while !Task.isCancelled {
            let cutoff = AuditClock.now - Int64(retentionDays) * 86_400 * 1_000_000
            do {
                let removed = try await Self.withTimeout { try await self.store.deleteRecords(before: cutoff) }
                if removed > 0 { logger.info("audit retention", metadata: ["removed": "\(removed)"]) }
            } catch {
                // Stopping at shutdown is not a failure.
                if Task.isCancelled { return }
                logger.warning("audit retention failed", metadata: ["error": "\(error)"])
            }
            try? await Task.sleep(for: .seconds(3_600))
        }
    }

    private func setAvailable() {
        state.withLock { state in
            state.state = "available"
            state.reason = nil
        }
    }

    private func setUnavailable(_ error: any Error) {
        let reason = "\(error)"
        let changed = state.withLock { state -> Bool in
            defer {
                state.state = "unavailable"
                state.reason = reason
            }
            return state.state != "unavailable"
        }
        if changed { logger.error("audit store unavailable", metadata: ["store": "\(store.kind)", "error": "\(reason)"]) }
    }

    /// Runs a store operation, or throws once `limit` passes — returning then even if the
    /// operation cannot be cancelled (a query on a connection whose server has gone silent
    /// waits for TCP to give up); the operation is told to cancel and left to end alone.
    static func withTimeout<Value: Sendable>(
        _ limit: Duration = operationTimeout, _ operation: @escaping @Sendable () async throws -> Value
    ) async throws -> Value {
        let deadline = Deadline()
        return try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Value, any Error>) in
            let work = Task {
                do {
                    let value = try await operation()
                    if deadline.claim() { continuation.resume(returning: value) }
                } catch {
                    if deadline.claim() { continuation.resume(throwing: error) }
                }
            }
            deadline.arm(
                Task {
                    guard (try? await Task.sleep(for: limit)) != nil, deadline.claim() else { return }
                    work.cancel()
                    continuation.resume(throwing: AuditStoreError(description: "the store did not answer within \(limit)"))
                })
        }
    }
}

/// Who resumes a ``AuditLog/withTimeout(_:_:)`` first: the operation or its timer. The
/// winner cancels the timer.
private final class Deadline: Sendable {
    private let state = Mutex<(claimed: Bool, timer: Task<Void, Never>?)>((false, nil))

    func claim() -> Bool {
        state.withLock { state in
            guard !state.claimed else { return false }
            state.claimed = true
            state.timer?.cancel()
            return true
        }
    }

    func arm(_ timer: Task<Void, Never>) {
        state.withLock { state in
            if state.claimed { timer.cancel() } else { state.timer = timer }
        }
    }
}
