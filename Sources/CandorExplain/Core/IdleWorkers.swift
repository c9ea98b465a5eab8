/// Threads a computation may borrow while nothing else wants them, so that one request uses
/// every core of an idle server without taking a core from a request that waits.
public protocol IdleWorkers: Sendable {
    /// Starts `task` on as many as `count` workers that are idle now and returns how many
    /// started: none while every worker is busy or a request waits for one. Each started task
    /// holds its worker until it returns, so it should return soon after `othersWaiting`.
    func lend(_ count: Int, _ task: @escaping @Sendable () -> Void) -> Int
    /// Whether other work now waits for a worker: a borrowed worker should give it back.
    var othersWaiting: Bool { get }
    /// How many workers `lend` would start now (a snapshot: by the time it is called, other
    /// work may have taken them).
    var idleCount: Int { get }
}
