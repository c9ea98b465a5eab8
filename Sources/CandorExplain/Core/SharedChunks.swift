import Foundation

/// Runs numbered chunks of independent work on the calling thread and on idle workers it
/// borrows (``IdleWorkers``), and hands their results to `collect` on the calling thread in
/// chunk order, as a sequential loop would.
///
/// Every thread claims the next unclaimed chunk until none is left. Claims run at most
/// `window` chunks ahead of the next result to collect, which bounds how many results are held
/// at once; a borrowed worker waits while the window is full, and stops claiming as soon as
/// other work waits for a worker, so under load a request runs on its own thread alone. The
/// calling thread collects whatever is ready before claiming again (so the window reopens for
/// the helpers), and waits only for chunks a helper has claimed, never for a helper that has
/// not started: it claims the rest itself. The first error stops further claims and is
/// rethrown once the claimed chunks are done, so no work outlives the call.
enum SharedChunks {
    /// Workers borrowed at most: one, since the chunk sizes assume two threads.
    static let helpers = 1

    /// Runs `count` chunks; `work(i)` computes chunk i on whichever thread claims it.
    static func run<Output: Sendable>(
        count: Int, context: ExplanationContext,
        work: @escaping @Sendable (Int) throws(ExplanationError) -> Output,
        collect: (Output, Int) throws(ExplanationError) -> Void
    ) throws(ExplanationError) {
        guard count > 1, let workers = context.idleWorkers else {
            for chunk in 0..<count {
                try context.checkCancellation()
                try collect(try work(chunk), chunk)
            }
            return
        }
        let board = Board<Output>(count: count, window: 4 * (helpers + 1))
        _ = workers.lend(helpers) {
            while !workers.othersWaiting, !context.cancellation.isCancelled, let chunk = board.claim(waiting: true) {
                board.finish(chunk, Result { () throws(ExplanationError) in try work(chunk) })
            }
        }
        do throws(ExplanationError) {
            while let chunk = board.nextToCollect {
                try context.checkCancellation()
                // Collect what is ready first, so the window opens for the helpers; then
                // compute a chunk; wait for the next result only when nothing can be claimed.
                if let result = board.takeResult(of: chunk, waiting: false) {
                    try collect(try result.get(), chunk)
                } else if let claimed = board.claim() {
                    board.finish(claimed, Result { () throws(ExplanationError) in try work(claimed) })
                } else if let result = board.takeResult(of: chunk, waiting: true) {
                    try collect(try result.get(), chunk)
                }
            }
        } catch {
            board.stop()
            throw error
        }
    }

    /// The chunks' shared state: the next to claim and to collect, results not yet collected,
    /// chunks in flight.
    private final class Board<Output: Sendable>: @unchecked Sendable {
        private let condition = NSCondition()
        private let count: Int
        /// How far claims may run ahead of collection.
        private let window: Int
        private var next = 0
        private var collected = 0
        private var inFlight = 0
        private var results: [Int: Result<Output, ExplanationError>] = [:]
        private var stopped = false

        init(count: Int, window: Int) {
            self.count = count
            self.window = window
        }

        private var claimable: Bool { !stopped && next < min(count, collected + window) }

        /// The chunk whose result is collected next, nil when all are.
        var nextToCollect: Int? { condition.withLock { collected < count ? collected : nil } }

        /// The next chunk to compute, or nil when none may be claimed now; with `waiting`, waits
        /// while the window is full, and is nil only once every chunk is claimed (or work stopped).
        func claim(waiting: Bool = false) -> Int? {
            condition.withLock {
                while waiting, !claimable, !stopped, next < count { condition.wait() }
                guard claimable else { return nil }
                next += 1
                inFlight += 1
                return next - 1
            }
        }

        func finish(_ chunk: Int, _ result: Result<Output, ExplanationError>) {
            condition.withLock {
                if case .failure = result { stopped = true }
                results[chunk] = result
                inFlight -= 1
                condition.broadcast()
            }
        }

        /// Chunk `chunk`'s result, counted as collected; with `waiting`, blocks until the
        /// thread computing it finishes. Nil when it is not ready (or was never claimed).
        func takeResult(of chunk: Int, waiting: Bool) -> Result<Output, ExplanationError>? {
            condition.withLock {
                while results[chunk] == nil, waiting, chunk < next { condition.wait() }
                guard let result = results.removeValue(forKey: chunk) else { return nil }
                collected += 1
                condition.broadcast()
                return result
            }
        }

        /// No more claims; returns once every claimed chunk has finished, so no work outlives
        /// the call.
        func stop() {
            condition.withLock {
                stopped = true
                condition.broadcast()
                while inFlight > 0 { condition.wait() }
            }
        }
    }
}
