import CandorExplain
import CandorModel
import Foundation
import HTTPTypes
import Synchronization

/// Where a job is in its life.
enum AnalysisState: String, Codable, Sendable {
    case queued, running, succeeded, failed, cancelled

    var isFinished: Bool { self == .succeeded || self == .failed || self == .cancelled }
}

/// A job's document, as `GET /v1/analyses/{id}` answers it and as it is stored on disk.
struct AnalysisDocument: Codable, Sendable, Equatable {
    struct Progress: Codable, Sendable, Equatable {
        let done: Int
        let total: Int
        let unit: String
    }
    /// Why a job failed: the problem a request would have been answered with.
    struct Failure: Codable, Sendable, Equatable {
        let type: String
        let status: Int
        let detail: String
    }

    let id: String
    let model: String
    let modelSha256: String
    let analysis: String
    let data: String
    let output: String
    let target: Int?
    let params: [String: JSONValue]
    var state: AnalysisState
    var progress: Progress
    let createdAt: Date
    var startedAt: Date?
    var finishedAt: Date?
    /// Seconds left, from the pace so far; absent until some progress is made.
    var etaSeconds: Double?
    var result: JSONValue?
    var error: Failure?

    /// The document as its record on disk holds it: the result is kept apart.
    var withoutResult: AnalysisDocument {
        var copy = self
        copy.result = nil
        return copy
    }

    enum CodingKeys: String, CodingKey {
        case id, model, analysis, data, output, target, params, state, progress, result, error
        case modelSha256 = "model_sha256"
        case createdAt = "created_at"
        case startedAt = "started_at"
        case finishedAt = "finished_at"
        case etaSeconds = "eta_seconds"
    }
}

/// One analysis job: its fixed description, live progress and cancellation flag, and its
/// state. Results are not held here — they are written to disk when the job finishes and
/// read back when asked for, so kept jobs cost little memory.
final class AnalysisJob: Sendable {
    let id: String
    /// What the result is cached by (``AnalysisRequest/cacheKey``).
    let key: String
    let progress: AnalysisProgress
    let cancellation = CancellationFlag()
    /// Set when the job outlived `analyses.timeout_seconds` and was stopped for it.
    private let timedOut = Atomic<Bool>(false)
    private let state: Mutex<State>

    private struct State {
        var document: AnalysisDocument
        /// Who waits for the end (``AnalysisJob/finished()``), woken when it comes.
        var waiters: [UUID: CheckedContinuation<Void, Never>] = [:]

        /// Moves the waiters out, to be resumed outside the lock.
        mutating func takeWaiters() -> [CheckedContinuation<Void, Never>] {
            defer { waiters.removeAll() }
            return Array(waiters.values)
        }
    }

    init(id: String, key: String, request: AnalysisRequest) {
        self.id = id
        self.key = key
        progress = AnalysisProgress(total: request.plan.progressTotal, unit: request.plan.progressUnit)
        state = Mutex(
            State(
                document: AnalysisDocument(
                    id: id, model: request.model.name, modelSha256: request.model.sha256, analysis: request.analysis,
                    data: request.dataSource, output: request.model.model.outputs[request.problem.output].name,
                    target: request.problem.target, params: request.plan.effectiveParameters, state: .queued,
                    progress: .init(done: 0, total: request.plan.progressTotal, unit: request.plan.progressUnit), createdAt: Date())))
    }

    /// A finished job read back from disk (its result left there).
    init(restored: AnalysisDocument, key: String) {
        id = restored.id
        self.key = key
        progress = AnalysisProgress(total: restored.progress.total, unit: restored.progress.unit)
        progress.advance(by: restored.progress.done)
        var stored = restored
        stored.result = nil
        state = Mutex(State(document: stored))
    }

    var currentState: AnalysisState { state.withLock { $0.document.state } }

    /// The document now, with live progress and the time left (without the result).
    func snapshot(now: Date = Date()) -> AnalysisDocument {
        var current = state.withLock { $0.document }
        current.progress = .init(done: progress.done, total: progress.total, unit: progress.unit)
        if current.state == .running, let started = current.startedAt, current.progress.done > 0 {
            let elapsed = now.timeIntervalSince(started)
            current.etaSeconds = elapsed * Double(current.progress.total - current.progress.done) / Double(current.progress.done)
        }
        return current
    }

    /// Moves a queued job to running; false when it was cancelled meanwhile.
    func start() -> Bool {
        state.withLock { state in
            guard state.document.state == .queued else { return false }
            state.document.state = .running
            state.document.startedAt = Date()
            return true
        }
    }

    /// Stops the job for outliving `analyses.timeout_seconds`: it ends failed, saying so.
    func stopForDeadline() {
        timedOut.store(true, ordering: .relaxed)
        cancellation.cancel()
    }

    /// The document the job ends with for `outcome`, without changing the job, so it can be
    /// written to disk before it is reported. A job the client cancelled stays cancelled
    /// whatever its work returned; any other stop (the service shutting down) is a failure.
    func ending(_ outcome: Result<JSONValue, any Error>) -> AnalysisDocument {
        var final = state.withLock { $0.document }
        if final.state != .cancelled {
            switch outcome {
            case .success(let value):
                final.state = .succeeded
                final.result = value
            case .failure(let error):
                let problem: Problem =
                    if let problem = error as? Problem, problem.code != ErrorCode.cancelled.rawValue {
                        problem
                    } else if timedOut.load(ordering: .relaxed) {
                        Problem(
                            .gatewayTimeout, code: "deadline-exceeded",
                            detail:
                                "the analysis did not finish within analyses.timeout_seconds and was stopped; use fewer rows, features or steps"
                        )
                    } else if error is Problem || error is CancellationError {
                        Problem(
                            .serviceUnavailable, code: "shutting-down",
                            detail: "the analysis was stopped because the service shut down; submit it again")
                    } else {
                        Problem(.internalServerError, code: "internal", detail: "the analysis failed unexpectedly")
                    }
                final.state = .failed
                final.error = .init(type: "urn:candor:error:\(problem.code)", status: problem.status.code, detail: problem.detail)
            }
        }
        final.finishedAt = final.finishedAt ?? Date()
        final.progress = .init(done: progress.done, total: progress.total, unit: progress.unit)
        final.etaSeconds = nil
        return final
    }

    /// Makes `final` (from ``ending(_:)``, already on disk) the job's state and wakes whoever
    /// waits for the end. Returns false when the client cancelled meanwhile: the job then
    /// stays cancelled, and its record must be written again.
    @discardableResult
    func publish(_ final: AnalysisDocument) -> Bool {
        let (published, waiters) = state.withLock { state -> (Bool, [CheckedContinuation<Void, Never>]) in
            let published = !(state.document.state == .cancelled && final.state != .cancelled)
            if published {
                state.document = final
                state.document.result = nil
            }
            return (published, state.takeWaiters())
        }
        for waiter in waiters { waiter.resume() }
        return published
    }

    /// Returns when the job has finished (at once if it has), or when the task is cancelled.
    func finished() async {
        let id = UUID()
        await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                let resumeNow = state.withLock { state -> Bool in
                    if state.document.state.isFinished || Task.isCancelled { return true }
                    state.waiters[id] = continuation
                    return false
                }
                if resumeNow { continuation.resume() }
            }
        } onCancel: {
            state.withLock { $0.waiters.removeValue(forKey: id) }?.resume()
        }
    }

    /// Cancels: a queued job ends now; a running one is marked cancelled and its work stops
    /// at its next batch. Returns whether the job was still unfinished.
    func cancel() -> Bool {
        let (wasUnfinished, waiters) = state.withLock { state -> (Bool, [CheckedContinuation<Void, Never>]) in
            guard !state.document.state.isFinished else { return (false, []) }
            state.document.state = .cancelled
            state.document.finishedAt = Date()
            state.document.progress = .init(done: progress.done, total: progress.total, unit: progress.unit)
            return (true, state.takeWaiters())
        }
        if wasUnfinished { cancellation.cancel() }
        for waiter in waiters { waiter.resume() }
        return wasUnfinished
    }
}
