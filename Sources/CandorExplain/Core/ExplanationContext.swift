import Synchronization

/// Set when a request's deadline passes or its client goes away; long computations check it
/// between batches and stop.
public final class CancellationFlag: Sendable {
    private let flag = Atomic<Bool>(false)

    public init() {}

    public func cancel() { flag.store(true, ordering: .relaxed) }
    public var isCancelled: Bool { flag.load(ordering: .relaxed) }
}

/// What a running explanation may use and must respect.
public struct ExplanationContext: Sendable {
    public let cancellation: CancellationFlag
    /// The most tensor elements one internal pass (inputs, activations and their gradients)
    /// may hold; methods chunk their evaluations to stay under it. The default is the
    /// configuration's `limits.max_batch_elements`.
    public let maxBatchElements: Int
    /// Workers the computation may borrow while they have nothing else to do (the server's
    /// pool); nil runs everything on the calling thread.
    public let idleWorkers: (any IdleWorkers)?

    public init(
        cancellation: CancellationFlag = CancellationFlag(), maxBatchElements: Int = 4_000_000, idleWorkers: (any IdleWorkers)? = nil
    ) {
        self.cancellation = cancellation
        self.maxBatchElements = maxBatchElements
        self.idleWorkers = idleWorkers
    }

    /// Throws when the computation should stop.
    public func checkCancellation() throws(ExplanationError) {
        if cancellation.isCancelled { throw ExplanationError(.cancelled, "the computation was cancelled") }
    }
}
