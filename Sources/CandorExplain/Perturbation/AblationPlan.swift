import CandorModel
import CandorTensor

/// Ablation and occlusion: an element's attribution is the sum of its groups' output drops
/// divided by the number of groups that contain it (1 for ablation's disjoint groups; the
/// window count for occlusion).
struct AblationPlan: ExplanationPlan {
    let model: any PredictiveModel
    let effectiveParameters: [String: JSONValue]
    let baselines: [Tensor]
    let groups: FeatureGroups
    let groupsPerPass: Int?

    func run(_ problem: ResolvedProblem, context: ExplanationContext) throws(ExplanationError) -> [InstanceAttribution] {
        let batch = problem.problem.batchSize
        let sizes = problem.problem.instanceSizes
        let perturbed = try PerturbedEvaluation(model: model, problem: problem, baselines: baselines, groups: groups)
            .targetOutputs(count: groups.groups.count, perPass: groupsPerPass, context: context) { [$0] }
        var totals = sizes.map { [Float](repeating: 0, count: $0 * batch) }
        var counts = sizes.map { [Int](repeating: 0, count: $0) }
        for (groupIndex, group) in groups.groups.enumerated() {
            for element in group {
                counts[element.input][element.index] += 1
                for row in 0..<batch {
                    totals[element.input][row * sizes[element.input] + element.index] +=
                        problem.targetOutput(row) - perturbed[groupIndex * batch + row]
                }
            }
        }
        return try (0..<batch).map { row throws(ExplanationError) in
            InstanceAttribution(
                attributions: try sizes.indices.map { input throws(ExplanationError) in
                    let values = (0..<sizes[input]).map { index in
                        counts[input][index] > 0 ? totals[input][row * sizes[input] + index] / Float(counts[input][index]) : 0
                    }
                    return try problem.problem.instanceTensor(values, input: input)
                })
        }
    }
}
