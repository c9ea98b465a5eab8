import CandorModel
import CandorTensor

/// A dataset-level analysis: what the model does over many rows (partial dependence,
/// accumulated local effects, permutation importance, a distilled surrogate, …) rather than
/// why it answered one instance. Like an ``Explainer``, `prepare` validates a request's
/// parameters without computing (on the event loop); the plan's `run` does the work on a
/// worker, reporting progress and checking cancellation between batches, because an analysis
/// may take minutes.
public protocol Analysis: Sendable {
    var descriptor: MethodDescriptor { get }
    /// The result field holding an instance the analysis made up (activation maximization's
    /// `input`), which the service also shows as a picture when the input is an image; nil for
    /// an analysis whose result holds none.
    var synthesizedInstanceField: String? { get }
    func prepare(_ parameters: [String: JSONValue], for problem: AnalysisProblem) throws(ExplanationError) -> any AnalysisPlan
}

extension Analysis {
    public var synthesizedInstanceField: String? { nil }
}

/// A validated analysis, ready to run.
public protocol AnalysisPlan: Sendable {
    /// Every parameter's effective value, defaults filled in: echoed in the job document and
    /// part of the result's cache key.
    var effectiveParameters: [String: JSONValue] { get }
    /// How much work the run does, counted in `progressUnit`s (model passes, rows, repeats),
    /// so a job can show its progress and estimate the time left before it starts.
    var progressTotal: Int { get }
    /// What one unit of progress is, as a client reads it (`"rows"`, `"grid points"`, …).
    var progressUnit: String { get }
    /// The analysis result, a JSON object whose fields each analysis documents.
    func run(_ problem: AnalysisProblem, context: AnalysisContext) throws(ExplanationError) -> JSONValue
}
