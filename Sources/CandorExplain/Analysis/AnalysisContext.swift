import Synchronization

/// How far a running analysis has got: units done out of a total the plan fixed before it
/// started. Written by the worker, read by whoever shows the job (polls, event streams, the
/// terminal's progress bar).
public final class AnalysisProgress: Sendable {
    public let total: Int
    public let unit: String
    private let completed = Atomic<Int>(0)

    public init(total: Int, unit: String) {
        self.total = Swift.max(total, 0)
        self.unit = unit
    }

    /// Units finished so far, at most `total`.
    public var done: Int { Swift.min(completed.load(ordering: .relaxed), total) }

    /// Counts `units` more as finished.
    public func advance(by units: Int = 1) {
        completed.add(units, ordering: .relaxed)
    }
}

/// What a running analysis may use and must respect: the explanation context (cancellation
/// and the per-pass memory budget) and the progress it reports.
public struct AnalysisContext: Sendable {
    public let explanation: ExplanationContext
    public let progress: AnalysisProgress

    public init(explanation: ExplanationContext, progress: AnalysisProgress) {
        self.explanation = explanation
        self.progress = progress
    }

    /// Throws when the job was cancelled; analyses call it between batches.
    public func checkCancellation() throws(ExplanationError) {
        try explanation.checkCancellation()
    }
}
