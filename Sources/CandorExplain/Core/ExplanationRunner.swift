import CandorModel
import CandorTensor

/// One explained instance: the method's attributions plus the model's output and the target.
public struct InstanceExplanation: Sendable {
    public let target: Int
    /// The explained output for this instance.
    public let output: Tensor
    public let attribution: InstanceAttribution
    /// The requested quality metrics of this explanation, by metric name (`{"value", ...}`).
    public let quality: [String: JSONValue]
}

/// A prepared quality metric under its API name.
public struct NamedMetricPlan: Sendable {
    public let name: String
    public let plan: any MetricPlan

    public init(name: String, plan: any MetricPlan) {
        self.name = name
        self.plan = plan
    }
}

/// A plan whose first pass is a gradient pass at the instances themselves: it learns their
/// outputs and resolves the targets in that pass (``TargetGradients/atInstances``), so the
/// runner does not evaluate the model a separate time first (the forward pass of a saliency or
/// Grad-CAM request, about half its work).
protocol FirstPassPlan: ExplanationPlan {
    /// Explains the instances with the targets of `resolved`, or — when it is nil — resolves
    /// them in the plan's first pass and returns the problem so resolved.
    func attribute(
        _ problem: ExplanationProblem, resolved: ResolvedProblem?, context: ExplanationContext
    ) throws(ExplanationError) -> (ResolvedProblem, [InstanceAttribution])
}

extension FirstPassPlan {
    func run(_ problem: ResolvedProblem, context: ExplanationContext) throws(ExplanationError) -> [InstanceAttribution] {
        try attribute(problem.problem, resolved: problem, context: context).1
    }
}

/// Runs a prepared explanation: evaluates the model once to learn each instance's output and
/// to resolve default targets (the argmax), checks targets, runs the method, refuses
/// non-finite results, then evaluates the requested quality metrics on the result (`method`,
/// the call the plan was prepared from, serves the metrics that explain other inputs again).
public enum ExplanationRunner {
    public static func run(
        _ plan: any ExplanationPlan, problem: ExplanationProblem, context: ExplanationContext, metrics: [NamedMetricPlan] = [],
        method: MethodCall? = nil
    ) throws(ExplanationError) -> [InstanceExplanation] {
        let (resolved, attributions) = try attribute(plan, problem: problem, context: context)
        for attribution in attributions {
            let extrasAreFinite = attribution.extras.values.allSatisfy(\.isFinite)
            let errorsAreFinite = attribution.standardErrors?.allSatisfy(\.isFinite) ?? true
            guard attribution.attributions.allSatisfy(\.isFinite), extrasAreFinite, errorsAreFinite else {
                throw ExplanationError(
                    .nonFiniteResult, "the attributions contain NaN or infinity (the model's output or gradient overflowed for this input)")
            }
        }
        let subject = EvaluationSubject(problem: resolved, attributions: attributions.map(\.attributions), method: method)
        let quality = try EvaluationRunner.quality(of: subject, metrics: metrics, context: context)
        let perInstance = resolved.outputValues.unstacked()
        return attributions.indices.map { row in
            InstanceExplanation(
                target: resolved.targets[row], output: perInstance[row], attribution: attributions[row], quality: quality[row])
        }
    }

    /// Resolves the problem and runs the plan on it: a ``FirstPassPlan`` in its own first pass,
    /// any other plan after a forward pass of its own (``resolve(_:context:)``).
    static func attribute(
        _ plan: any ExplanationPlan, problem: ExplanationProblem, context: ExplanationContext
    ) throws(ExplanationError) -> (ResolvedProblem, [InstanceAttribution]) {
        if let plan = plan as? any FirstPassPlan { return try plan.attribute(problem, resolved: nil, context: context) }
        let resolved = try resolve(problem, context: context)
        return (resolved, try plan.run(resolved, context: context))
    }

    /// Runs the model once on the problem's inputs: checks the explained output exists, is
    /// finite and has a row per instance, and resolves the targets.
    static func resolve(_ problem: ExplanationProblem, context: ExplanationContext) throws(ExplanationError) -> ResolvedProblem {
        try context.checkCancellation()
        try checkOutputAndTargetCount(problem)
        let outputs: [Tensor]
        do { outputs = try problem.model.predict(problem.inputs) } catch { throw ExplanationError(error) }
        guard outputs.indices.contains(problem.output) else { throw unknownOutput(problem) }
        return try resolved(problem, outputValues: outputs[problem.output])
    }

    /// What can be checked before any pass: that the model has the explained output and that
    /// explicit targets come one per instance.
    static func checkOutputAndTargetCount(_ problem: ExplanationProblem) throws(ExplanationError) {
        guard problem.model.outputs.indices.contains(problem.output) else { throw unknownOutput(problem) }
        if let targets = problem.targets, targets.count != problem.batchSize {
            throw ExplanationError(.invalidTarget, "\(targets.count) targets were given for \(problem.batchSize) instances")
        }
    }

    private static func unknownOutput(_ problem: ExplanationProblem) -> ExplanationError {
        ExplanationError(.unknownOutput, "the model has no output number \(problem.output)")
    }

    /// The problem with the explained output's values, whichever pass computed them: checks
    /// they have a row per instance and are finite, and resolves the targets.
    static func resolved(_ problem: ExplanationProblem, outputValues: Tensor) throws(ExplanationError) -> ResolvedProblem {
        guard outputValues.shape.first == problem.batchSize, outputValues.count >= problem.batchSize, problem.batchSize > 0 else {
            throw ExplanationError(.modelFailure, "the model's output has shape \(outputValues.shape), not one row per instance")
        }
        guard outputValues.isFinite else {
            throw ExplanationError(.nonFiniteResult, "the model's output is NaN or infinite for this input, so there is nothing to explain")
        }
        let targets = try resolveTargets(problem.targets, outputs: outputValues.unstacked())
        return ResolvedProblem(problem: problem, outputValues: outputValues, targets: targets)
    }

    /// The index of an instance's largest output, its default target.
    static func argmax(_ output: Tensor) -> Int {
        output.scalars.indices.max { output.scalars[$0] < output.scalars[$1] } ?? 0
    }

    /// Checks explicit targets against the output size, or picks each instance's argmax.
    static func resolveTargets(_ targets: [Int]?, outputs: [Tensor]) throws(ExplanationError) -> [Int] {
        guard let targets else { return outputs.map(argmax) }
        guard targets.count == outputs.count else {
            throw ExplanationError(.invalidTarget, "\(targets.count) targets were given for \(outputs.count) instances")
        }
        for (index, (target, output)) in zip(targets, outputs).enumerated() where !(0..<output.count).contains(target) {
            throw ExplanationError(
                .invalidTarget,
                "target \(target) of instance \(index) is out of range: the output has \(output.count) values (0…\(output.count - 1))")
        }
        return targets
    }
}
