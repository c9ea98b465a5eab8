import CandorExplain
import Foundation
import HTTPTypes
import Logging
import Synchronization

/// The analysis jobs: a bounded queue, at most `analyses.max_concurrent` running on the
/// worker pool (and never every worker when there are two or more, so a long analysis never
/// starves requests), finished jobs kept for `analyses.retention_seconds` and answered again
/// for an equal request (same model bytes, data and parameters).
///
/// Every state change is written to `<data.directory>/analyses/ID.json`, a succeeded job's
/// result first to `ID.result.json` (each whole, switched in with a rename), before it is reported, so a restart loses no finished result a client was
/// told of; a job that was queued or running when the service stopped comes back failed,
/// saying so.
final class AnalysisJobs: Sendable {
    let folder: URL
    private let settings: CandorConfiguration.Analyses
    /// Jobs that may run at once: the configured share, leaving one worker to requests.
    let concurrency: Int
    private let pool: WorkerPool
    private let maxBatchElements: Int
    private let logger: Logger
    private let state = Mutex(State())

    private struct State {
        var jobs: [String: AnalysisJob] = [:]
        var queue: [(AnalysisJob, AnalysisRequest)] = []
        var running = 0
        /// The job answering each cache key (queued, running or succeeded).
        var byKey: [String: String] = [:]
    }

    init(folder: URL, configuration: CandorConfiguration, pool: WorkerPool, logger: Logger) {
        self.folder = folder
        settings = configuration.analyses
        concurrency = max(1, min(configuration.analyses.maxConcurrent, configuration.workerThreads - 1))
        self.pool = pool
        maxBatchElements = configuration.limits.maxBatchElements
        self.logger = logger
    }

    /// Reads the jobs kept on disk. One that had not finished was interrupted by a stop: it
    /// is recorded as failed, so a client polling it learns to submit it again.
    func load() {
        AtomicFile.removeLeftovers(in: folder)
        let names = (try? FileManager.default.contentsOfDirectory(atPath: folder.path)) ?? []
        let decoder = JSONDecoder.candor
        var restored: [AnalysisJob] = []
        for name in names where name.hasSuffix(".json") && !name.hasSuffix(".result.json") {
            let url = folder.appendingPathComponent(name)
            guard let data = try? Data(contentsOf: url), let stored = try? decoder.decode(StoredJob.self, from: data) else {
                logger.warning("ignoring an unreadable analysis record", metadata: ["file": "\(name)"])
                continue
            }
            var document = stored.document
            if !document.state.isFinished {
                document.state = .failed
                document.finishedAt = Date()
                document.error = .init(
                    type: "urn:candor:error:interrupted", status: 503,
                    detail: "the service stopped before this analysis finished; submit it again")
                try? write(StoredJob(key: stored.key, document: document))
            }
            restored.append(AnalysisJob(restored: document, key: stored.key))
        }
        let kept = Set(restored.map(\.id))
        for name in names where name.hasSuffix(".result.json") && !kept.contains(String(name.dropLast(".result.json".count))) {
            try? FileManager.default.removeItem(at: folder.appendingPathComponent(name))
        }
        state.withLock { state in
            for job in restored {
                state.jobs[job.id] = job
                if job.currentState == .succeeded { state.byKey[job.key] = job.id }
            }
        }
        sweep()
    }

    /// Queues `request`, or returns the job that already answers it (`reused` true): a
    /// succeeded one kept, or an equal one queued or running. 429 when the queue is full.
    func submit(_ request: AnalysisRequest) throws -> (job: AnalysisJob, reused: Bool) {
        sweep()
        let key = request.cacheKey
        let outcome = state.withLock { state -> Result<(AnalysisJob, Bool), Problem> in
            if let id = state.byKey[key], let job = state.jobs[id], job.currentState != .cancelled, job.currentState != .failed {
                return .success((job, true))
            }
            guard state.queue.count < settings.maxQueued || state.running < concurrency else {
                var problem = Problem(
                    .tooManyRequests, code: "too-many-analyses",
                    detail: "\(state.running) analyses are running and \(state.queue.count) are waiting (analyses.max_queued); retry later")
                problem.headers[.retryAfter] = "10"
                return .failure(problem)
            }
            let job = AnalysisJob(id: UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased(), key: key, request: request)
            state.jobs[job.id] = job
            state.byKey[key] = job.id
            state.queue.append((job, request))
            return .success((job, false))
        }
        let (job, reused) = try outcome.get()
        if !reused {
            do { try write(StoredJob(key: key, document: job.snapshot())) } catch {
                state.withLock { state in
                    state.jobs[job.id] = nil
                    state.byKey[key] = nil
                    state.queue.removeAll { $0.0 === job }
                }
                logger.error("cannot record an analysis", metadata: ["error": "\(error)"])
                throw Problem(.internalServerError, code: "storage-failed", detail: "the analysis could not be recorded in the data folder")
            }
            startWaiting()
        }
        return (job, reused)
    }

    /// The job by id; one past its retention is forgotten rather than shown. Only that job is
    /// checked: polling must not sweep every kept job on each request.
    func job(_ id: String) -> AnalysisJob? {
        guard let job = state.withLock({ $0.jobs[id] }) else { return nil }
        guard isExpired(job.snapshot(), cutoff: retentionCutoff) else { return job }
        forget([job])
        return nil
    }

    /// Every kept job, newest first.
    func all() -> [AnalysisJob] {
        sweep()
        return state.withLock { Array($0.jobs.values) }.map { ($0, $0.snapshot()) }
            .sorted { ($0.1.createdAt, $0.1.id) > ($1.1.createdAt, $1.1.id) }.map(\.0)
    }

    /// A job's document with its result (read from disk once the job has succeeded).
    func document(_ job: AnalysisJob) throws -> AnalysisDocument {
        var document = job.snapshot()
        guard document.state == .succeeded else { return document }
        do {
            document.result = try JSONDecoder.candor.decode(JSONValue.self, from: Data(contentsOf: resultURL(job.id)))
        } catch {
            throw Problem(.internalServerError, code: "storage-failed", detail: "the result of analysis \(job.id) could not be read")
        }
        return document
    }

    /// Cancels an unfinished job (true), or forgets a finished one and its stored result
    /// (false).
    func cancelOrRemove(_ job: AnalysisJob) -> Bool {
        if job.cancel() {
            let queued = state.withLock { state -> Bool in
                let wasQueued = state.queue.contains { $0.0 === job }
                state.queue.removeAll { $0.0 === job }
                if state.byKey[job.key] == job.id { state.byKey[job.key] = nil }
                return wasQueued
            }
            // A running job is recorded when its work stops; a queued one now.
            if queued { try? write(StoredJob(key: job.key, document: job.snapshot())) }
            return true
        }
        forget([job])
        return false
    }

    /// Waits until `job` finishes or `seconds` pass; returns whether it finished.
    func wait(for job: AnalysisJob, seconds: Double) async -> Bool {
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await job.finished() }
            group.addTask { try? await Task.sleep(for: .milliseconds(Int(seconds * 1000))) }
            await group.next()
            group.cancelAll()
        }
        return job.currentState.isFinished
    }

    /// Starts waiting jobs while a slot is free.
    private func startWaiting() {
        while let (job, request) = state.withLock({ state -> (AnalysisJob, AnalysisRequest)? in
            guard state.running < concurrency, !state.queue.isEmpty else { return nil }
            state.running += 1
            return state.queue.removeFirst()
        }) {
            Task { await execute(job, request) }
        }
    }

    private func execute(_ job: AnalysisJob, _ request: AnalysisRequest) async {
        defer {
            state.withLock { $0.running -= 1 }
            startWaiting()
        }
        guard job.start() else { return }
        try? write(StoredJob(key: job.key, document: job.snapshot()))
        let context = AnalysisContext(
            explanation: ExplanationContext(cancellation: job.cancellation, maxBatchElements: maxBatchElements), progress: job.progress)
        let timeout = settings.timeoutSeconds
        let deadline = Task {
            try await Task.sleep(for: .milliseconds(Int(timeout * 1000)))
            job.stopForDeadline()
        }
        defer { deadline.cancel() }
        let outcome: Result<JSONValue, any Error>
        do { outcome = .success(try await pool.runBackground(cancellation: job.cancellation) { try request.run(context) }) } catch {
            outcome = .failure(error)
        }
        // Written before it is reported, so a result a client was told of survives a restart.
        var final = job.ending(outcome)
        do { try write(StoredJob(key: job.key, document: final)) } catch {
            logger.error("cannot store an analysis result", metadata: ["id": "\(job.id)", "error": "\(error)"])
            // A result that could not be kept cannot be served: the job failed.
            final = job.ending(
                .failure(
                    Problem(.internalServerError, code: "storage-failed", detail: "the result could not be written to the data folder")))
            try? write(StoredJob(key: job.key, document: final))
        }
        if !job.publish(final) {
            // Cancelled while the record was written: record the cancellation instead.
            final = job.snapshot()
            try? write(StoredJob(key: job.key, document: final))
        }
        if final.state != .succeeded {
            state.withLock { state in
                if state.byKey[job.key] == job.id { state.byKey[job.key] = nil }
            }
        }
        logger.info(
            "analysis finished",
            metadata: ["id": "\(job.id)", "analysis": "\(final.analysis)", "model": "\(final.model)", "state": "\(final.state.rawValue)"])
    }

    /// Finished jobs kept at most, whatever the retention (the oldest are forgotten first), so
    /// a flood of small analyses cannot grow the records without bound.
    static let maximumKept = 1000

    /// Forgets finished jobs older than the retention, and the oldest beyond
    /// ``maximumKept``, with their stored results.
    private func sweep() {
        let cutoff = retentionCutoff
        let expired = state.withLock { state -> [AnalysisJob] in
            let finished = state.jobs.values.map { ($0, $0.snapshot()) }.filter { $0.1.state.isFinished }
                .sorted { ($0.1.finishedAt ?? $0.1.createdAt) < ($1.1.finishedAt ?? $1.1.createdAt) }
            let excess = max(0, finished.count - Self.maximumKept)
            return finished.enumerated().filter { index, entry in index < excess || isExpired(entry.1, cutoff: cutoff) }
                .map(\.element.0)
        }
        forget(expired)
    }

    /// Finished jobs whose end is older than this are past their retention.
    private var retentionCutoff: Date { Date().addingTimeInterval(-settings.retentionSeconds) }

    private func isExpired(_ document: AnalysisDocument, cutoff: Date) -> Bool {
        document.state.isFinished && (document.finishedAt ?? document.createdAt) < cutoff
    }

    /// Drops jobs from memory and disk.
    private func forget(_ jobs: [AnalysisJob]) {
        state.withLock { state in
            for job in jobs {
                state.jobs[job.id] = nil
                if state.byKey[job.key] == job.id { state.byKey[job.key] = nil }
            }
        }
        for job in jobs { removeFiles(job.id) }
    }

    /// A job's record: its document, without the result.
    private func url(_ id: String) -> URL { folder.appendingPathComponent("\(id).json") }
    /// A succeeded job's result, apart from its record, so reading the records at start-up
    /// costs little however large the kept results are.
    private func resultURL(_ id: String) -> URL { folder.appendingPathComponent("\(id).result.json") }

    /// Writes a job's result (when it has one) and then its record, each whole: a record that
    /// says `succeeded` always has its result beside it.
    private func write(_ stored: StoredJob) throws {
        var record = stored
        if let result = stored.document.result {
            try AtomicFile.write(try JSONEncoder.candor.encode(result), to: resultURL(stored.document.id))
            record = StoredJob(key: stored.key, document: stored.document.withoutResult)
        }
        try AtomicFile.write(try JSONEncoder.candor.encode(record), to: url(stored.document.id))
    }

    private func removeFiles(_ id: String) {
        for file in [url(id), resultURL(id)] { try? FileManager.default.removeItem(at: file) }
    }

    /// Ids are made here, so anything else is not one.
    static func isValidID(_ id: String) -> Bool { DatasetStore.isValidID(id) }
}

/// A job as stored on disk: its document (with the result) and its cache key.
private struct StoredJob: Codable {
    let key: String
    let document: AnalysisDocument
}
