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
        var isShutDown = false
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

    /// Runs `work` on a worker thread, refusing it when the queue is full and answering 504
    /// when `timeout` passes first.
    func run<Result: Sendable>(
        timeout: Duration, _ work: @escaping @Sendable (CancellationFlag) throws -> Result
    ) async throws -> Result {
        let admitted = state.withLock { state -> Bool in
            guard !state.isShutDown, state.admitted < threads + queueLimit else { return false }
            state.admitted += 1
            return true
        }
        guard admitted else {
            metrics.rejectedJobs.increment()
            var problem = Problem(
                .tooManyRequests, code: "overloaded",
                detail: "all \(threads) workers are busy and \(queueLimit) requests are already waiting; retry after \(retryAfterSeconds) s"
            )
            problem.headers[.retryAfter] = String(retryAfterSeconds)
            throw problem
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
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Result, any Error>) in
                outcome.attach(continuation)
                pool.submit { [self] poolState in
                    defer {
                        state.withLock {
                            $0.admitted -= 1
                            if poolState == .active { $0.running -= 1 }
                        }
                        publishLoad()
                    }
                    guard poolState == .active else {
                        outcome.finish(
                            .failure(Problem(.serviceUnavailable, code: "shutting-down", detail: "the service is shutting down")))
                        return
                    }
                    state.withLock { $0.running += 1 }
                    publishLoad()
                    guard !cancellation.isCancelled else { return }
                    outcome.finish(Swift.Result { try work(cancellation) })
                }
            }
        } onCancel: {
            cancellation.cancel()
            outcome.finish(.failure(CancellationError()))
        }
    }

    private func publishLoad() {
        let (admitted, running) = load
        metrics.queueDepth.record(max(0, admitted - running))
        metrics.busyWorkers.record(running)
    }

    public func run() async throws {
        try? await gracefulShutdown()
        state.withLock { $0.isShutDown = true }
        try await pool.shutdownGracefully()
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
