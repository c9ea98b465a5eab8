import Foundation
import Synchronization
import Testing

@testable import CandorExplain

/// SharedChunks hands results over in chunk order whether or not workers help, lets a helper
/// compute chunks only while nothing waits, and stops cleanly on an error.
@Suite struct SharedChunksTests {
    /// Runs `count` chunks whose work takes about `delay` and records which threads did them.
    func run(_ count: Int, workers: LentThreads?, delay: UInt32 = 200, failing: Int? = nil) throws(ExplanationError) -> [Int] {
        let context = ExplanationContext(idleWorkers: workers)
        let callingThread = pthread_self()
        var collected: [Int] = []
        try SharedChunks.run(count: count, context: context) { chunk throws(ExplanationError) in
            usleep(delay)
            if chunk == failing { throw ExplanationError(.nonFiniteResult, "chunk \(chunk) failed") }
            if pthread_equal(pthread_self(), callingThread) == 0 { workers?.helped.add(1, ordering: .relaxed) }
            return chunk * chunk
        } collect: { value, chunk in
            #expect(value == chunk * chunk)
            collected.append(chunk)
        }
        return collected
    }

    @Test func withoutWorkersTheChunksRunInOrderOnTheCallingThread() throws {
        #expect(try run(20, workers: nil) == Array(0..<20))
        let refused = LentThreads(available: 0)
        #expect(try run(20, workers: refused) == Array(0..<20))
        #expect(refused.helped.load(ordering: .relaxed) == 0)
    }

    @Test func aLentWorkerComputesChunksAndTheResultsArriveInOrder() throws {
        let threads = LentThreads(available: 1)
        #expect(try run(200, workers: threads, delay: 500) == Array(0..<200))
        #expect(threads.helped.load(ordering: .relaxed) > 0)
    }

    @Test func aHelperClaimsNothingWhileOthersWait() throws {
        let threads = LentThreads(available: 1)
        threads.busy.store(true, ordering: .relaxed)
        #expect(try run(100, workers: threads) == Array(0..<100))
        #expect(threads.helped.load(ordering: .relaxed) == 0)
    }

    /// The failing chunk's error is thrown after the chunks before it were collected, and
    /// nothing is computed after the call returns.
    @Test func anErrorStopsTheWorkAndIsRethrown() throws {
        let threads = LentThreads(available: 1)
        #expect(throws: ExplanationError.self) { try run(300, workers: threads, failing: 150) }
        let afterReturn = threads.helped.load(ordering: .relaxed)
        usleep(20_000)
        #expect(threads.helped.load(ordering: .relaxed) == afterReturn)
    }

    @Test func aCancelledComputationStops() {
        let flag = CancellationFlag()
        flag.cancel()
        let context = ExplanationContext(cancellation: flag, idleWorkers: LentThreads(available: 1))
        #expect(throws: ExplanationError.self) {
            try SharedChunks.run(count: 10, context: context) { chunk throws(ExplanationError) in
                chunk
            } collect: { _, _ in
            }
        }
    }
}
