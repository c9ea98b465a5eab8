import CandorModel
import CandorTensor

/// Shapley values estimated by sampling orderings of the feature groups (Castro, Gómez &
/// Tejada, "Polynomial calculation of the Shapley value based on sampling", 2009; Captum
/// `ShapleyValueSampling`): for each of `n_samples` random orderings, groups are switched from
/// their baseline to x one at a time and each is credited with the change it makes. The
/// estimate is unbiased, its error shrinks as 1/√n_samples, and each ordering's credits sum to
/// f(x) − f(x′), so efficiency holds exactly for any sample count. Each group's standard error is
/// s/√n_samples over its marginal contributions (from two orderings on). The orderings come
/// from `seed`, so equal requests give equal answers.
public struct ShapleyValueSampling: Explainer {
    public let descriptor = MethodDescriptor(
        name: "shapley_value_sampling", family: "shapley",
        summary: "Shapley values estimated over n_samples random orderings of the feature groups; returns attributions_stderr",
        reference: "Captum ShapleyValueSampling; converges to exact_shapley", requirement: .any,
        checkedAgainst:
            "converges to `exact_shapley` (property tests, also on 13 groups of the breast-cancer model); efficiency exact at any `n_samples`; no Captum golden",
        details: """
            Each random ordering of the feature groups credits every group with the change it makes
            as it joins. Efficiency holds exactly (the values sum to f(x) − `base_value`, `base_value` =
            f(x′)) and the error shrinks as 1/√n_samples. The orderings are drawn differently from
            Captum's `ShapleyValueSampling`, so the method is held to the exact values instead. With
            `n_samples` ≥ 2, `attributions_stderr` gives each group's standard error s/√n_samples, s the
            sample standard deviation of its marginal contributions over the orderings, on every
            element of the group; one ordering has no stderr.
            """,
        parameters: [
            ParameterSpec("n_samples", .integer, default: 25, minimum: 1, maximum: 100_000, summary: "number of random orderings"),
            ParameterSpec.baselines("the values an absent feature takes"),
            ParameterSpec.featureMask("a group id per element, shaped like one instance (default: each element alone)"),
            ParameterSpec.seed(of: "the orderings"),
            ParameterSpec.perturbationsPerEval(of: "coalitions"),
        ])

    /// The most coalition evaluations in one request: n_samples × (groups + 1) × instances.
    public static let maximumEvaluations = 1 << 22

    public init() {}

    public func prepare(_ parameters: [String: JSONValue], for problem: ExplanationProblem) throws(ExplanationError) -> any ExplanationPlan
    {
        var reader = try ParameterReader(parameters, specs: descriptor.parameters, method: descriptor.name)
        let samples = try reader.int("n_samples")
        let baselines = try Baselines.resolve(reader.json("baselines"), for: problem)
        let groups = try FeatureGroups(featureMask: reader.json("feature_mask"), problem: problem)
        let seed = try reader.seed()
        let evaluations = samples * (groups.groups.count + 1) * problem.batchSize
        guard evaluations <= Self.maximumEvaluations else {
            throw ExplanationError(
                .invalidParameter,
                "shapley_value_sampling would evaluate \(evaluations) coalitions (n_samples × (groups + 1) × instances), more than the \(Self.maximumEvaluations) allowed per request: lower n_samples, group features, or send fewer instances"
            )
        }
        let coalitionsPerPass = try reader.optionalInt("perturbations_per_eval")
        return Plan(
            model: problem.model, effectiveParameters: reader.effective, baselines: baselines, groups: groups, samples: samples,
            seed: seed, coalitionsPerPass: coalitionsPerPass)
    }

    struct Plan: ExplanationPlan {
        let model: any PredictiveModel
        let effectiveParameters: [String: JSONValue]
        let baselines: [Tensor]
        let groups: FeatureGroups
        let samples: Int
        let seed: UInt64
        let coalitionsPerPass: Int?

        func run(_ problem: ResolvedProblem, context: ExplanationContext) throws(ExplanationError) -> [InstanceAttribution] {
            let batch = problem.problem.batchSize
            let n = groups.groups.count
            var random = SeededRandom(seed: seed)
            let orderings = (0..<samples).map { _ in random.permutation(of: n) }
            // Every ordering starts at the empty coalition (all groups at the baseline) and ends
            // at x, whose output the runner already has: only the n − 1 coalitions in between
            // differ per ordering. Evaluation 0 is the shared empty coalition; evaluation
            // 1 + s·(n − 1) + (k − 1) is ordering s's first k groups (k = 1…n − 1).
            let inner = max(n - 1, 0)
            let values = try PerturbedEvaluation(model: model, problem: problem, baselines: baselines, groups: groups)
                .targetOutputs(count: 1 + samples * inner, perPass: coalitionsPerPass, context: context) { evaluation in
                    guard evaluation > 0 else { return Array(0..<n) }
                    let (sample, size) = ((evaluation - 1) / inner, (evaluation - 1) % inner + 1)
                    return Array(orderings[sample].dropFirst(size))
                }
            /// The target output of instance `row` with the first `size` groups of ordering `sample`.
            func value(_ sample: Int, _ size: Int, _ row: Int) -> Float {
                if size == 0 { return values[row] }
                if size == n { return problem.targetOutput(row) }
                return values[(1 + sample * inner + size - 1) * batch + row]
            }
            var shapley = [Double](repeating: 0, count: n * batch)
            // Each ordering's marginal contributions, whose mean is the estimate: their spread.
            var moments = SampleMoments(elements: n * batch)
            var contributions = shapley
            for (sample, ordering) in orderings.enumerated() {
                for (position, group) in ordering.enumerated() {
                    for row in 0..<batch {
                        let contribution = Double(value(sample, position + 1, row) - value(sample, position, row))
                        shapley[group * batch + row] += contribution
                        contributions[group * batch + row] = contribution
                    }
                }
                moments.add(contributions)
            }
            let errors = moments.standardErrorOfMean
            return try (0..<batch).map { row throws(ExplanationError) in
                var attribution = try groups.spread({ Float(shapley[$0 * batch + row] / Double(samples)) }, over: problem.problem)
                attribution.extras["base_value"] = .number(Double(values[row]))
                attribution.standardErrors = try errors.map { errors throws(ExplanationError) in
                    try groups.spreadTensors({ errors[$0 * batch + row] }, over: problem.problem)
                }
                return attribution
            }
        }
    }
}
