import Foundation
import Synchronization

@testable import CandorExplain

/// Lends `available` threads (fresh ones) and says others wait when `busy` is set.
final class LentThreads: IdleWorkers {
    let available: Int
    let busy = Atomic<Bool>(false)
    /// Threads started by `lend`.
    let started = Atomic<Int>(0)
    /// Chunks computed on lent threads, as a test's work counts them.
    let helped = Atomic<Int>(0)

    init(available: Int) { self.available = available }

    func lend(_ count: Int, _ task: @escaping @Sendable () -> Void) -> Int {
        let lent = min(count, available)
        started.add(lent, ordering: .relaxed)
        for _ in 0..<lent { Thread.detachNewThread(task) }
        return lent
    }

    var othersWaiting: Bool { busy.load(ordering: .relaxed) }
    var idleCount: Int { othersWaiting ? 0 : available }
}
