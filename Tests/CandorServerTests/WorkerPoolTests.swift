import CandorExplain
import Foundation
import HTTPTypes
import Logging
import Testing

@testable import CandorServer

@Suite struct WorkerPoolTests {
    func makeService(threads: Int, queue: Int) -> CandorService {
        var configuration = CandorConfiguration()
        configuration.workers.threads = threads
        configuration.workers.queueLimit = queue
        configuration.models.directory = "/nonexistent"
        return CandorService(configuration: configuration, logger: Logger(label: "test"))
    }

    /// A flood gets 429s with Retry-After once every worker and queue slot is taken.
    @Test func aFullQueueRefusesWithRetryAfter() async throws {
        let service = makeService(threads: 1, queue: 1)
        let release = CancellationFlag()
        let blockers = (0..<2).map { _ in
            Task {
                try await service.pool.run(timeout: .seconds(10), kind: "test") { _ in
                    while !release.isCancelled { usleep(1000) }
                }
            }
        }
        while service.pool.load.admitted < 2 { try await Task.sleep(for: .milliseconds(5)) }
        await #expect {
            try await service.pool.run(timeout: .seconds(10), kind: "test") { _ in }
        } throws: { error in
            guard let problem = error as? Problem else { return false }
            return problem.status == .tooManyRequests && problem.headers[.retryAfter] == "1"
        }
        release.cancel()
        for blocker in blockers { try await blocker.value }
        #expect(service.pool.load.admitted == 0)
    }

    /// Past its deadline a job is answered 504 at once and its cancellation flag is set, so
    /// the computation stops at its next check.
    @Test func aPassedDeadlineAnswers504AndCancelsTheWork() async throws {
        let service = makeService(threads: 1, queue: 0)
        let observedCancellation = CancellationFlag()
        await #expect {
            try await service.pool.run(timeout: .milliseconds(50), kind: "test") { cancellation in
                while !cancellation.isCancelled { usleep(1000) }
                observedCancellation.cancel()
            }
        } throws: { error in
            (error as? Problem)?.status == .gatewayTimeout
        }
        while service.pool.load.admitted > 0 { try await Task.sleep(for: .milliseconds(5)) }
        #expect(observedCancellation.isCancelled)
    }

    /// With the measured service time, a job that would wait past its deadline is refused at
    /// admission (429 with a Retry-After) instead of queueing only to expire as a 504.
    @Test func aJobThatCannotFinishInTimeIsRefusedAtAdmission() async throws {
        let service = makeService(threads: 1, queue: 16)
        let job: @Sendable (CancellationFlag) throws -> Void = { cancellation in
            let end = ContinuousClock.now + .milliseconds(100)
            while ContinuousClock.now < end && !cancellation.isCancelled { usleep(1000) }
        }
        try await service.pool.run(timeout: .seconds(1), kind: "slow", job)  // learns ~0.1 s
        let outcomes = await withTaskGroup(of: Int.self) { group in
            for _ in 0..<16 {
                group.addTask {
                    do {
                        try await service.pool.run(timeout: .milliseconds(450), kind: "slow", job)
                        return 200
                    } catch let problem as Problem {
                        if problem.status == .tooManyRequests { #expect(Int(problem.headers[.retryAfter] ?? "") ?? 0 >= 1) }
                        return problem.status.code
                    } catch {
                        return 500
                    }
                }
            }
            return await group.reduce(into: [Int: Int]()) { $0[$1, default: 0] += 1 }
        }
        // About four fit in 0.45 s on one worker; the rest are told to come back.
        #expect((outcomes[200] ?? 0) >= 3, "\(outcomes)")
        #expect((outcomes[429] ?? 0) >= 8, "\(outcomes)")
        #expect(outcomes[504] == nil, "\(outcomes)")
    }

    /// The same job kind alone is never refused, even when it outlasts its deadline: it is
    /// run and answered 504, so its estimate stays current.
    @Test func aJobAloneIsAdmittedEvenIfItsEstimateExceedsTheDeadline() async throws {
        let service = makeService(threads: 1, queue: 4)
        _ = try await service.pool.run(timeout: .seconds(1), kind: "slow") { _ in usleep(100_000) }
        await #expect {
            try await service.pool.run(timeout: .milliseconds(20), kind: "slow") { cancellation in
                while !cancellation.isCancelled { usleep(1000) }
            }
        } throws: { error in
            (error as? Problem)?.status == .gatewayTimeout
        }
    }

    /// A job whose client has left is stopped and its worker freed, queued or running.
    @Test func aJobWhoseClientLeftIsCancelled() async throws {
        let service = makeService(threads: 1, queue: 4)
        let presence = ClientPresence()
        let observedCancellation = CancellationFlag()
        let running = Task {
            try await service.pool.run(timeout: .seconds(30), kind: "test", abandonedWhen: presence) { cancellation in
                while !cancellation.isCancelled { usleep(1000) }
                observedCancellation.cancel()
            }
        }
        while service.pool.load.running < 1 { try await Task.sleep(for: .milliseconds(5)) }
        presence.clientLeft()
        await #expect(throws: CancellationError.self) { try await running.value }
        while service.pool.load.admitted > 0 { try await Task.sleep(for: .milliseconds(5)) }
        #expect(observedCancellation.isCancelled)
        // A presence already gone cancels at once.
        await #expect(throws: CancellationError.self) {
            try await service.pool.run(timeout: .seconds(30), kind: "test", abandonedWhen: presence) { _ in _ = usleep(2_000_000) }
        }
    }
}

/// The pool lends its idle workers to a running request, and none while a request waits.
@Suite struct WorkerLendingTests {
    @Test func idleWorkersAreLentAndGivenBack() async throws {
        let service = WorkerPoolTests().makeService(threads: 2, queue: 4)
        let ran = CancellationFlag()
        let (idle, lent) = try await service.pool.run(timeout: .seconds(10), kind: "test") { _ in
            (service.pool.idleCount, service.pool.lend(3) { ran.cancel() })
        }
        #expect(idle == 1 && lent == 1)
        while service.pool.load.running > 0 { try await Task.sleep(for: .milliseconds(5)) }
        #expect(ran.isCancelled)
    }

    @Test func noWorkerIsLentWhileARequestWaits() async throws {
        let service = WorkerPoolTests().makeService(threads: 1, queue: 2)
        let release = CancellationFlag()
        let first = Task {
            try await service.pool.run(timeout: .seconds(10), kind: "test") { _ in
                while !release.isCancelled { usleep(1000) }
                return (service.pool.othersWaiting, service.pool.idleCount, service.pool.lend(1) {})
            }
        }
        while service.pool.load.running < 1 { try await Task.sleep(for: .milliseconds(5)) }
        let second = Task { try await service.pool.run(timeout: .seconds(10), kind: "test") { _ in } }
        while service.pool.load.admitted < 2 { try await Task.sleep(for: .milliseconds(5)) }
        release.cancel()
        let (othersWaiting, idle, lent) = try await first.value
        try await second.value
        #expect(othersWaiting && idle == 0 && lent == 0)
    }
}
