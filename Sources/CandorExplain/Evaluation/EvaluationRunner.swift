import CandorModel
import CandorTensor

/// One instance's evaluation of attributions computed elsewhere: its target, the model's
/// output and the quality figures.
public struct InstanceEvaluation: Sendable {
    public let target: Int
    public let output: Tensor
    /// The requested metrics, by name (`{"value", ...}`).
    public let quality: [String: JSONValue]

    public init(target: Int, output: Tensor, quality: [String: JSONValue]) {
        self.target = target
        self.output = output
        self.quality = quality
    }
}

/// Evaluates quality metrics: on a method's fresh attributions (through
/// ``ExplanationRunner``) or on attributions a client brings from another tool.
public enum EvaluationRunner {
    /// Judges `attributions` (per instance, one tensor per input, shaped like the instance):
    /// runs the model once to resolve the targets as an explanation would, checks the
    /// attributions fit, then evaluates every metric.
    public static func evaluate(
        attributions: [[Tensor]], problem: ExplanationProblem, metrics: [NamedMetricPlan], context: ExplanationContext
    ) throws(ExplanationError) -> [InstanceEvaluation] {
        guard attributions.count == problem.batchSize else {
            throw ExplanationError(
                .invalidInput, "'attributions' has \(attributions.count) entries for \(problem.batchSize) instances: give one per instance")
        }
        let shapes = problem.inputs.map { Array($0.shape.dropFirst()) }
        for (row, perInput) in attributions.enumerated() {
            guard perInput.map(\.shape) == shapes else {
                throw ExplanationError(
                    .invalidInput,
                    "the attributions of instance \(row) have shapes \(perInput.map(\.shape)); each must be shaped like its instance \(shapes)"
                )
            }
            guard perInput.allSatisfy(\.isFinite) else {
                throw ExplanationError(.invalidInput, "the attributions of instance \(row) contain NaN or infinity")
            }
        }
        let resolved = try ExplanationRunner.resolve(problem, context: context)
        let quality = try quality(
            of: EvaluationSubject(problem: resolved, attributions: attributions, method: nil), metrics: metrics, context: context)
        let outputs = resolved.outputValues.unstacked()
        return quality.indices.map { InstanceEvaluation(target: resolved.targets[$0], output: outputs[$0], quality: quality[$0]) }
    }

    /// Every metric's value for every instance: [instance][metric name].
    static func quality(
        of subject: EvaluationSubject, metrics: [NamedMetricPlan], context: ExplanationContext
    ) throws(ExplanationError) -> [[String: JSONValue]] {
        var quality = [[String: JSONValue]](repeating: [:], count: subject.attributions.count)
        for metric in metrics {
            try context.checkCancellation()
            let values = try metric.plan.evaluate(subject, context: context)
            guard values.count == quality.count else {
                throw ExplanationError(.modelFailure, "metric \(metric.name) gave \(values.count) values for \(quality.count) instances")
            }
            for (row, value) in values.enumerated() {
                guard value.json.isFinite else {
                    throw ExplanationError(
                        .nonFiniteResult, "metric \(metric.name) is NaN or infinite for instance \(row) (its model outputs overflowed)")
                }
                quality[row][metric.name] = value.json
            }
        }
        return quality
    }
}
