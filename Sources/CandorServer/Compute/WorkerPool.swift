import CandorExplain
import CoreMetrics
import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import NIOPosix
import ServiceLifecycle
import Synchronization

/// The threads that run model math, with admission control and deadlines.
///
/// Event loops and the Swift concurrency pool never run CPU-heavy work: handlers hand it here
/// and await the result. `NIOThreadPool`'s own queue is unbounded, so admission is counted in
/// front of it: at most `threads + queueLimit` jobs are admitted, the next is refused at once
/// (429 with Retry-After). A job whose deadline passes is answered 504 immediately and its
/// cancellation flag set, so the computation stops at its next batch boundary; its thread is
/// counted as busy until it does.
public final class WorkerPool: Service, Sendable {
    public let threads: Int
    public let queueLimit: Int
    private let retryAfterSeconds: Int
    private let pool: NIOThreadPool
    /// Where deadline timers run.
    private let timerLoop: any EventLoop
    private let state = Mutex(State())
    private let metrics: ServiceMetrics

    struct State {
        var admitted = 0
        var running = 0
        /// Background jobs (analyses) on a worker now, counted in `running` too.
        var background = 0
        /// Workers lent to a running request (``IdleWorkers``), counted in `running` too.
        var borrowed = 0
        /// The cancellation flags of background jobs admitted, so shutting down stops them.
        var backgroundFlags: [ObjectIdentifier: CancellationFlag] = [:]
        var isShutDown = false
        /// Estimated seconds of the work admitted and not finished (running jobs count whole,
        /// which errs towards refusing rather than letting a job expire in the queue).
        var admittedSeconds = 0.0
        var serviceTimes = ServiceTimes()

        /// Whether no job can be admitted: shut down, or every worker and queue slot taken.
        func isFull(capacity: Int) -> Bool { isShutDown || admitted >= capacity }

        /// Requests admitted and not yet on a worker.
        var waiting: Int { admitted - (running - background - borrowed) }

        /// Workers of `threads` a running request may borrow now: the free ones, none while a
        /// request waits.
        func idle(of threads: Int) -> Int { isShutDown || waiting > 0 ? 0 : max(0, threads - running) }
    }

    init(threads: Int, queueLimit: Int, retryAfterSeconds: Int, metrics: ServiceMetrics) {
        self.threads = threads
        self.queueLimit = queueLimit
        self.retryAfterSeconds = retryAfterSeconds
        self.pool = NIOThreadPool(numberOfThreads: threads)
        self.timerLoop = MultiThreadedEventLoopGroup.singleton.any()
        self.metrics = metrics
        pool.start()
    }

    /// Whether the pool takes work (for `/readyz`).
    public var isAccepting: Bool { state.withLock { !$0.isShutDown } }

    /// Jobs admitted but not yet finished, and those running now.
    var load: (admitted: Int, running: Int) { state.withLock { ($0.admitted, $0.running) } }

    /// Refuses at once (429) when every worker is busy and the queue is full, so a flood is
    /// turned away before its bodies are read and parsed.
    func refuseIfFull() throws {
        let isFull = state.withLock { $0.isFull(capacity: threads + queueLimit) }
        if isFull { throw queueFull() }
    }

    private func queueFull() -> Problem {
        metrics.rejectedJobs.increment()
        var problem = Problem(
            .tooManyRequests, code: "overloaded",
            detail: "all \(threads) workers are busy and \(queueLimit) requests are already waiting; retry after \(retryAfterSeconds) s"
        )
        problem.headers[.retryAfter] = String(retryAfterSeconds)
        return problem
    }

    /// Runs `work` on a worker thread, refusing it when the queue is full or when, by the
    /// measured service times, it could not finish before `timeout` (a request admitted only
    /// to expire in the queue costs the client its deadline and the server its work), and
    /// answering 504 when `timeout` passes first. `kind` names what the work is (its model and
    /// method), so jobs of one kind are timed together.
    func run<Result: Sendable>(
        timeout: Duration, kind: String, abandonedWhen presence: ClientPresence? = nil,
        _ work: @escaping @Sendable (CancellationFlag) throws -> Result
    ) async throws -> Result {
        let admission = state.withLock { state -> Admission in
            guard !state.isFull(capacity: threads + queueLimit) else { return .full }
            let estimate = state.serviceTimes.estimate(for: kind)
            // The work already admitted is shared among the workers a background job does not
            // hold, then this job runs.
            let wait = state.admittedSeconds / Double(max(1, threads - state.background))
            // Only waiting can be refused: a job that alone outlasts its deadline is admitted
            // and answered 504 as before, which keeps its estimate current.
            if let estimate, wait > 0, wait + estimate > timeout.seconds { return .tooLate(wait: wait, estimate: estimate) }
            state.admitted += 1
            state.admittedSeconds += estimate ?? 0
            return .admitted(estimate: estimate ?? 0)
        }
        let estimate: Double
        switch admission {
        case .full: throw queueFull()
        case .tooLate(let wait, let workSeconds):
            metrics.rejectedJobs.increment()
            let retry = max(1, Int((wait + workSeconds - timeout.seconds).rounded(.up)))
            var problem = Problem(
                .tooManyRequests, code: "overloaded",
                detail: String(
                    format:
                        "the queue holds about %.2f s of work per worker and this request takes about %.2f s, past its %.2f s deadline; retry after %d s",
                    wait, workSeconds, timeout.seconds, retry))
            problem.headers[.retryAfter] = String(retry)
            throw problem
        case .admitted(let admittedEstimate): estimate = admittedEstimate
        }
        publishLoad()
        let cancellation = CancellationFlag()
        let outcome = Outcome<Result>()
        // The deadline is a timer on an event loop, not a task: arming and disarming it wakes
        // no thread, which matters when a whole request takes well under a millisecond.
        let deadline = timerLoop.scheduleTask(in: .nanoseconds(timeout.nanoseconds)) {
            let problem = Problem(
                .gatewayTimeout, code: "deadline-exceeded",
                detail:
                    "the computation did not finish within \(timeout.seconds) s and was stopped; use fewer instances or steps, or a smaller internal batch"
            )
            if outcome.finish(.failure(problem)) { cancellation.cancel() }
        }
        defer { deadline.cancel() }
        // A client that leaves will never read the answer: stop the work and free the worker.
        let abandonment = presence?.whenGone {
            if outcome.finish(.failure(CancellationError())) { cancellation.cancel() }
        }
        defer { if let abandonment { presence?.remove(abandonment) } }
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Result, any Error>) in
                outcome.attach(continuation)
                pool.submit { [self] poolState in
                    let start = ContinuousClock.now
                    var completed = false
                    defer {
                        state.withLock {
                            $0.admitted -= 1
                            $0.admittedSeconds = max(0, $0.admittedSeconds - estimate)
                            if poolState == .active { $0.running -= 1 }
                            if completed { $0.serviceTimes.record((ContinuousClock.now - start).seconds, for: kind) }
                        }
                        publishLoad()
                    }
                    if poolState == .active { state.withLock { $0.running += 1 } }
                    guard poolState == .active else {
                        outcome.finish(
                            .failure(Problem(.serviceUnavailable, code: "shutting-down", detail: "the service is shutting down")))
                        return
                    }
                    publishLoad()
                    guard !cancellation.isCancelled else { return }
                    let result = Swift.Result { try work(cancellation) }
                    completed = !cancellation.isCancelled
                    outcome.finish(result)
                }
            }
        } onCancel: {
            cancellation.cancel()
            outcome.finish(.failure(CancellationError()))
        }
    }

    /// Runs a long background job (an analysis) on a worker: no deadline and no admission
    /// against the request queue — the caller bounds how many run at once — but counted as a
    /// busy worker, so requests' admission estimates know the worker is taken. The job stops
    /// at its next batch boundary when `cancellation` is set, which shutting down does.
    func runBackground<Result: Sendable>(
        cancellation: CancellationFlag, _ work: @escaping @Sendable () throws -> Result
    ) async throws -> Result {
        let key = ObjectIdentifier(cancellation)
        let isShutDown = state.withLock { state in
            if !state.isShutDown { state.backgroundFlags[key] = cancellation }
            return state.isShutDown
        }
        guard !isShutDown else { throw Problem(.serviceUnavailable, code: "shutting-down", detail: "the service is shutting down") }
        defer { _ = state.withLock { $0.backgroundFlags.removeValue(forKey: key) } }
        return try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Result, any Error>) in
            pool.submit { [self] poolState in
                guard poolState == .active, !cancellation.isCancelled else {
                    continuation.resume(throwing: CancellationError())
                    return
                }
                state.withLock {
                    $0.running += 1
                    $0.background += 1
                }
                publishLoad()
                let result = Swift.Result { try work() }
                state.withLock {
                    $0.running -= 1
                    $0.background -= 1
                }
                publishLoad()
                continuation.resume(with: result)
            }
        }
    }

    private func publishLoad() {
        let (waiting, running) = state.withLock { ($0.waiting, $0.running) }
        metrics.queueDepth.record(max(0, waiting))
        metrics.busyWorkers.record(running)
    }

    public func run() async throws {
        try? await gracefulShutdown()
        let background = state.withLock { state in
            state.isShutDown = true
            return Array(state.backgroundFlags.values)
        }
        // Analyses may run for minutes: they stop at their next batch instead.
        for flag in background { flag.cancel() }
        try await pool.shutdownGracefully()
    }
}

/// A request's computation borrows the workers nothing else wants: only while no request
/// waits, and each borrowed worker gives itself back between chunks once one does.
extension WorkerPool: IdleWorkers {
    public func lend(_ count: Int, _ task: @escaping @Sendable () -> Void) -> Int {
        let lent = state.withLock { state -> Int in
            let lent = min(count, state.idle(of: threads))
            state.running += lent
            state.borrowed += lent
            return lent
        }
        guard lent > 0 else { return 0 }
        publishLoad()
        for _ in 0..<lent {
            pool.submit { [self] poolState in
                if poolState == .active { task() }
                state.withLock {
                    $0.running -= 1
                    $0.borrowed -= 1
                }
                publishLoad()
            }
        }
        return lent
    }

    public var othersWaiting: Bool { state.withLock { $0.waiting > 0 } }

    public var idleCount: Int { state.withLock { $0.idle(of: threads) } }
}

/// What admission decided for one job.
private enum Admission {
    case admitted(estimate: Double)
    case full
    case tooLate(wait: Double, estimate: Double)
}

/// Mean service time of each kind of job, as an exponentially weighted moving average, so an
/// estimate follows a model's cost as load and inputs change.
struct ServiceTimes {
    /// Weight of the newest measurement.
    static let smoothing = 0.2
    /// Kinds remembered at most; past it the table starts over (kinds are model and method
    /// names, so this is reached only by many uploads).
    static let maximumKinds = 4096
    private var means: [String: Double] = [:]

    func estimate(for kind: String) -> Double? { means[kind] }

    mutating func record(_ seconds: Double, for kind: String) {
        if means.count >= Self.maximumKinds && means[kind] == nil { means.removeAll(keepingCapacity: true) }
        means[kind] = means[kind].map { $0 + Self.smoothing * (seconds - $0) } ?? seconds
    }
}

/// Resumes a continuation exactly once, whichever of the work, the deadline or cancellation
/// finishes first.
private final class Outcome<Value: Sendable>: Sendable {
    private enum State {
        case waiting(CheckedContinuation<Value, any Error>?)
        case finished(Swift.Result<Value, any Error>)
    }
    private let state = Mutex<State>(.waiting(nil))

    func attach(_ continuation: CheckedContinuation<Value, any Error>) {
        let result = state.withLock { state -> Swift.Result<Value, any Error>? in
            if case .finished(let result) = state { return result }
            state = .waiting(continuation)
            return nil
        }
        if let result { continuation.resume(with: result) }
    }

    /// Delivers `result` if nothing was delivered before; returns whether it was.
    @discardableResult
    func finish(_ result: Swift.Result<Value, any Error>) -> Bool {
        let (isFirst, continuation) = state.withLock { state -> (Bool, CheckedContinuation<Value, any Error>?) in
            guard case .waiting(let continuation) = state else { return (false, nil) }
            state = .finished(result)
            return (true, continuation)
        }
        continuation?.resume(with: result)
        return isFirst
    }
}

extension Duration {
    var seconds: Double { Double(components.seconds) + Double(components.attoseconds) / 1e18 }
}
