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
    private let document: Mutex<AnalysisDocument>

    init(id: String, key: String, request: AnalysisRequest) {
        self.id = id
        self.key = key
        progress = AnalysisProgress(total: request.plan.progressTotal, unit: request.plan.progressUnit)
        document = Mutex(
            AnalysisDocument(
                id: id, model: request.model.name, modelSha256: request.model.sha256, analysis: request.analysis,
                data: request.dataSource, output: request.model.model.outputs[request.problem.output].name,
                target: request.problem.target, params: request.plan.effectiveParameters, state: .queued,
                progress: .init(done: 0, total: request.plan.progressTotal, unit: request.plan.progressUnit), createdAt: Date()))
    }

    /// A finished job read back from disk (its result left there).
    init(restored: AnalysisDocument, key: String) {
        id = restored.id
        self.key = key
        progress = AnalysisProgress(total: restored.progress.total, unit: restored.progress.unit)
        progress.advance(by: restored.progress.done)
        var stored = restored
        stored.result = nil
        document = Mutex(stored)
    }

    var state: AnalysisState { document.withLock { $0.state } }

    /// The document now, with live progress and the time left (without the result).
    func snapshot(now: Date = Date()) -> AnalysisDocument {
        var current = document.withLock { $0 }
        current.progress = .init(done: progress.done, total: progress.total, unit: progress.unit)
        if current.state == .running, let started = current.startedAt, current.progress.done > 0 {
            let elapsed = now.timeIntervalSince(started)
            current.etaSeconds = elapsed * Double(current.progress.total - current.progress.done) / Double(current.progress.done)
        }
        return current
    }

    /// Moves a queued job to running; false when it was cancelled meanwhile.
    func start() -> Bool {
        document.withLock { document in
            guard document.state == .queued else { return false }
            document.state = .running
            document.startedAt = Date()
            return true
        }
    }

    /// Records the end. Returns the final document with its result, for writing to disk.
    func finish(_ outcome: Result<JSONValue, any Error>) -> AnalysisDocument {
        document.withLock { document in
            // A job the client cancelled stays cancelled whatever its work returned; any other
            // stop (the service shutting down) is a failure to report.
            if document.state != .cancelled {
                switch outcome {
                case .success(let value):
                    document.state = .succeeded
                    document.result = value
                case .failure(let error):
                    let problem: Problem =
                        if let problem = error as? Problem, problem.code != ErrorCode.cancelled.rawValue {
                            problem
                        } else if error is Problem || error is CancellationError {
                            Problem(
                                .serviceUnavailable, code: "shutting-down",
                                detail: "the analysis was stopped because the service shut down; submit it again")
                        } else {
                            Problem(.internalServerError, code: "internal", detail: "the analysis failed unexpectedly")
                        }
                    document.state = .failed
                    document.error = .init(type: "urn:candor:error:\(problem.code)", status: problem.status.code, detail: problem.detail)
                }
            }
            document.finishedAt = document.finishedAt ?? Date()
            var final = document
            final.progress = .init(done: progress.done, total: progress.total, unit: progress.unit)
            document.result = nil
            document.progress = final.progress
            return final
        }
    }

    /// Cancels: a queued job ends now; a running one is marked cancelled and its work stops
    /// at its next batch. Returns whether the job was still unfinished.
    func cancel() -> Bool {
        let wasUnfinished = document.withLock { document -> Bool in
            guard !document.state.isFinished else { return false }
            document.state = .cancelled
            document.finishedAt = Date()
            return true
        }
        if wasUnfinished { cancellation.cancel() }
        return wasUnfinished
    }
}
