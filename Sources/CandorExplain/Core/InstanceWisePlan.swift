import CandorModel
import CandorTensor

/// A batch explained instance by instance, each instance a problem of its own with a plan
/// prepared for it: texts of different lengths, where a method's windows must end at each
/// text's own last token (as Captum's do on an unpadded text) rather than run on into the
/// batch's padding. The batch's own pass resolves the targets and outputs; each instance's
/// plan runs with its row of them.
public struct InstanceWisePlan: ExplanationPlan {
    public struct Part: Sendable {
        /// The instance alone, a batch of one.
        let problem: ExplanationProblem
        let plan: any ExplanationPlan

        public init(problem: ExplanationProblem, plan: any ExplanationPlan) {
            self.problem = problem
            self.plan = plan
        }
    }

    let parts: [Part]
    /// Parameters echoed in place of the plans' own where each instance was given its own
    /// (a `feature_mask` of its words, echoed as the request named it).
    let echoed: [String: JSONValue]

    public init(parts: [Part], echoing echoed: [String: JSONValue] = [:]) {
        self.parts = parts
        self.echoed = echoed
    }

    /// The first instance's (every instance's plan is prepared from the same parameters), with
    /// `echoed` over them.
    public var effectiveParameters: [String: JSONValue] {
        (parts.first?.plan.effectiveParameters ?? [:]).merging(echoed) { _, given in given }
    }

    public func run(_ problem: ResolvedProblem, context: ExplanationContext) throws(ExplanationError) -> [InstanceAttribution] {
        guard parts.count == problem.problem.batchSize, parts.allSatisfy({ $0.problem.batchSize == 1 }) else {
            throw ExplanationError(.modelFailure, "\(parts.count) instance plans do not match a batch of \(problem.problem.batchSize)")
        }
        var results: [InstanceAttribution] = []
        for (row, part) in parts.enumerated() {
            try context.checkCancellation()
            let rows = row..<(row + 1)
            let resolved = ResolvedProblem(
                problem: part.problem, outputValues: problem.outputValues.rows(rows), targets: [problem.targets[row]])
            let attributions = try part.plan.run(resolved, context: context)
            guard attributions.count == 1, let attribution = attributions.first else {
                throw ExplanationError(.modelFailure, "instance \(row)'s plan returned \(attributions.count) explanations")
            }
            results.append(attribution)
        }
        return results
    }
}
