import CandorModel
import CandorTensor

/// Permutation feature importance per instance (Breiman, "Random Forests", 2001; Fisher,
/// Rudin & Dominici, 2019; Captum `FeaturePermutation`): each feature group in turn is shuffled
/// across the batch — every instance takes the group's values from another instance — and an
/// instance's attribution is f(x) − f(x with the group shuffled). Summed over a representative
/// batch it measures how much the model relies on the group. The permutations come from
/// `seed` (one per group, never the identity, as in Captum), so equal requests give equal
/// answers.
public struct FeaturePermutation: Explainer {
    public let descriptor = MethodDescriptor(
        name: "feature_permutation", family: "perturbation",
        summary: "f(x) − f(x with a feature group shuffled across the batch), for every group; needs at least two instances",
        reference: "Captum FeaturePermutation", requirement: .any,
        checkedAgainst:
            "its definition on a linear model (property tests: w ⊙ (x − x of the permuted instance), a seed reproduces); Captum `FeaturePermutation`'s definition, not its draws",
        details: """
            Each feature group is shuffled across the batch in turn (a seeded permutation per group,
            never the identity); an instance's attribution is f(x) − f(x with the group shuffled). It
            needs at least two instances. The permutations are drawn differently from Captum's, so it is
            property-tested rather than compared number for number. Each instance and group gets a single
            draw, so there is no spread to estimate a standard error from: no `attributions_stderr`.
            """,
        parameters: [
            ParameterSpec.featureMask("a group id per element, shaped like one instance (default: each element alone)"),
            ParameterSpec.seed(of: "the permutations"),
            ParameterSpec.perturbationsPerEval(of: "feature groups"),
        ])

    public init() {}

    public func prepare(_ parameters: [String: JSONValue], for problem: ExplanationProblem) throws(ExplanationError) -> any ExplanationPlan
    {
        var reader = try ParameterReader(parameters, specs: descriptor.parameters, method: descriptor.name)
        guard problem.batchSize >= 2 else {
            throw ExplanationError(.invalidInput, "feature_permutation shuffles features across the batch: send at least two instances")
        }
        let groups = try FeatureGroups(featureMask: reader.json("feature_mask"), problem: problem)
        var random = SeededRandom(seed: try reader.seed())
        let identity = Array(0..<problem.batchSize)
        let permutations = groups.groups.map { _ in
            var permutation = random.permutation(of: problem.batchSize)
            while permutation == identity { permutation = random.permutation(of: problem.batchSize) }
            return permutation
        }
        let groupsPerPass = try reader.optionalInt("perturbations_per_eval")
        return Plan(
            model: problem.model, effectiveParameters: reader.effective, groups: groups, permutations: permutations,
            groupsPerPass: groupsPerPass)
    }

    struct Plan: ExplanationPlan {
        let model: any PredictiveModel
        let effectiveParameters: [String: JSONValue]
        let groups: FeatureGroups
        /// For each group, the instance each instance takes the group's values from.
        let permutations: [[Int]]
        let groupsPerPass: Int?

        func run(_ problem: ResolvedProblem, context: ExplanationContext) throws(ExplanationError) -> [InstanceAttribution] {
            let batch = problem.problem.batchSize
            var evaluation = PerturbedEvaluation(model: model, problem: problem, baselines: problem.problem.inputs, groups: groups)
            let permutations = permutations
            evaluation.baselineRow = { group, row in permutations[group][row] }
            let shuffled = try evaluation.targetOutputs(count: groups.groups.count, perPass: groupsPerPass, context: context) { [$0] }
            return try (0..<batch).map { row throws(ExplanationError) in
                try groups.spread({ problem.targetOutput(row) - shuffled[$0 * batch + row] }, over: problem.problem)
            }
        }
    }
}
