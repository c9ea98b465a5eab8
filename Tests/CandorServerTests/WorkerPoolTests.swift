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
                try await service.pool.run(timeout: .seconds(10)) { _ in
                    while !release.isCancelled { usleep(1000) }
                }
            }
        }
        while service.pool.load.admitted < 2 { try await Task.sleep(for: .milliseconds(5)) }
        await #expect {
            try await service.pool.run(timeout: .seconds(10)) { _ in }
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
            try await service.pool.run(timeout: .milliseconds(50)) { cancellation in
                while !cancellation.isCancelled { usleep(1000) }
                observedCancellation.cancel()
            }
        } throws: { error in
            (error as? Problem)?.status == .gatewayTimeout
        }
        while service.pool.load.admitted > 0 { try await Task.sleep(for: .milliseconds(5)) }
        #expect(observedCancellation.isCancelled)
    }
}
