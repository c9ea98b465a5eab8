import CandorModel
import CandorTensor

/// Exact Shapley values over feature groups (Shapley, 1953): the value of a coalition S is the
/// target output with the groups outside S set to their baseline, and group i's attribution is
///
///     φᵢ = Σ_{S ⊆ N∖{i}} |S|! (n − |S| − 1)! / n! · (v(S ∪ {i}) − v(S)),
///
/// computed by evaluating all 2ⁿ coalitions in batched passes (Captum's `ShapleyValues` sums
/// the same marginals over all n! orderings). Every element of a group gets the group's value.
/// With `background` instances instead of a baseline, absent groups take each background row
/// in turn and v(S) is the mean output (SHAP's value function, which `kernel_shap` estimates).
/// Efficiency holds by construction: Σφᵢ = f(x) − v(∅), and v(∅) is reported as `base_value`.
public struct ExactShapley: Explainer {
    /// The most feature groups: 2²⁰ coalitions per instance is about a million evaluations.
    public static let maximumGroups = 20
    /// The most coalition evaluations in one request, over all instances.
    public static let maximumEvaluations = 1 << 22

    public let descriptor = MethodDescriptor(
        name: "exact_shapley", family: "shapley",
        summary: "Shapley values by enumerating every coalition of feature groups; absent groups take the baseline",
        reference: "Captum ShapleyValues; brute-force enumeration", requirement: .any,
        checkedAgainst:
            "Captum 0.9 `ShapleyValues` on the three MLP fixtures; efficiency on a nonlinear network; w ⊙ (x − x′) on a linear model; with a background, the mean of single-baseline values",
        details: """
            All 2ⁿ coalitions of the feature groups are enumerated; absent groups take the baseline,
            or, with `background`, each background row in turn, a coalition's value being the mean
            output (the game `kernel_shap` estimates). Each explanation has `base_value`, the empty
            coalition's value (f(x′), or the mean output over the background), and the values sum to
            f(x) − `base_value`. More than 20 groups is a 400 that says to group features.
            """,
        parameters: [
            ParameterSpec.baselines("the values an absent feature takes"),
            BackgroundRows.parameter(
                "instead of baselines: reference instances, each taken in turn by the absent features (the outputs averaged); \"model\" for the sidecar's"
            ),
            ParameterSpec.featureMask("a group id per element, shaped like one instance (default: each element alone); at most 20 groups"),
            ParameterSpec.perturbationsPerEval(of: "coalitions"),
        ])

    public init() {}

    public func prepare(_ parameters: [String: JSONValue], for problem: ExplanationProblem) throws(ExplanationError) -> any ExplanationPlan
    {
        var reader = try ParameterReader(parameters, specs: descriptor.parameters, method: descriptor.name)
        let background = try BackgroundRows.requested(&reader, problem: problem, method: descriptor.name)
        let baselines = background == nil ? try Baselines.resolve(reader.json("baselines"), for: problem) : []
        let groups = try FeatureGroups(featureMask: reader.json("feature_mask"), problem: problem)
        guard groups.groups.count <= Self.maximumGroups else {
            throw ExplanationError(
                .tooLarge,
                "exact_shapley enumerates all 2ⁿ coalitions and accepts at most \(Self.maximumGroups) feature groups; this input has \(groups.groups.count): group features with 'feature_mask'"
            )
        }
        let evaluations = (1 << groups.groups.count) * problem.batchSize * (background?.count ?? 1)
        guard evaluations <= Self.maximumEvaluations else {
            throw ExplanationError(
                .invalidParameter,
                "exact_shapley would evaluate \(evaluations) inputs (2^\(groups.groups.count) coalitions × \(background?.count ?? 1) reference rows × \(problem.batchSize) instances), more than the \(Self.maximumEvaluations) allowed per request: send fewer instances, fewer groups or fewer background rows"
            )
        }
        let coalitionsPerPass = try reader.optionalInt("perturbations_per_eval")
        return Plan(
            model: problem.model, effectiveParameters: reader.effective, baselines: baselines, background: background, groups: groups,
            coalitionsPerPass: coalitionsPerPass)
    }

    struct Plan: ExplanationPlan {
        let model: any PredictiveModel
        let effectiveParameters: [String: JSONValue]
        let baselines: [Tensor]
        let background: BackgroundRows?
        let groups: FeatureGroups
        let coalitionsPerPass: Int?

        func run(_ problem: ResolvedProblem, context: ExplanationContext) throws(ExplanationError) -> [InstanceAttribution] {
            let batch = problem.problem.batchSize
            let n = groups.groups.count
            let coalitions = 1 << n
            // Coalition c has group i present when bit i is set; absent groups are replaced.
            // values[c · batch + row] = v(c) for instance `row`.
            var values: [Double]
            if let background {
                values = [Double](repeating: 0, count: coalitions * batch)
                for row in 0..<batch {
                    let rowValues = try CoalitionValues(model: model, problem: problem, row: row, background: background, groups: groups)
                        .values(count: coalitions, context: context) { coalition, group in coalition & (1 << group) != 0 }
                    for (coalition, value) in rowValues.enumerated() { values[coalition * batch + row] = value }
                }
            } else {
                values = try PerturbedEvaluation(model: model, problem: problem, baselines: baselines, groups: groups)
                    .targetOutputs(count: coalitions, perPass: coalitionsPerPass, context: context) { coalition in
                        (0..<n).filter { coalition & (1 << $0) == 0 }
                    }.map(Double.init)
            }
            // w(s) = s! (n − s − 1)! / n! = 1 / (n · C(n − 1, s)).
            var weights = [Double](repeating: 0, count: max(n, 1))
            var binomial = 1.0
            for size in 0..<n {
                weights[size] = 1 / (Double(n) * binomial)
                binomial = binomial * Double(n - 1 - size) / Double(size + 1)
            }
            var shapley = [Double](repeating: 0, count: n * batch)
            for coalition in 0..<coalitions {
                let size = coalition.nonzeroBitCount
                for group in 0..<n where coalition & (1 << group) == 0 {
                    let weight = weights[size]
                    let with = (coalition | (1 << group)) * batch
                    for row in 0..<batch {
                        shapley[group * batch + row] += weight * (values[with + row] - values[coalition * batch + row])
                    }
                }
            }
            return try (0..<batch).map { row throws(ExplanationError) in
                var attribution = try groups.spread({ Float(shapley[$0 * batch + row]) }, over: problem.problem)
                attribution.extras["base_value"] = .number(values[row])
                return attribution
            }
        }
    }
}
