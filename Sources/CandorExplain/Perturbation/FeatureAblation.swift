import CandorModel
import CandorTensor

/// Feature ablation: each feature group's attribution is f(x) − f(x with the group set to its
/// baseline), for the target output. Captum `FeatureAblation`.
public struct FeatureAblation: Explainer {
    public let descriptor = MethodDescriptor(
        name: "feature_ablation", family: "perturbation",
        summary: "f(x) − f(x with a feature group replaced by its baseline), for every group",
        reference: "Captum FeatureAblation", requirement: .any,
        checkedAgainst:
            "Captum 0.9 `FeatureAblation` (baselines, feature masks, chunking) on the three MLP fixtures and over the demo text model's tokens; w ⊙ (x − x′) on a linear model",
        details: """
            Every element of a group gets its group's value; all groups of all instances are
            evaluated in as few batched forward passes as the memory budget allows.
            """,
        parameters: [
            ParameterSpec.baselines("the replacement values: a number, one instance, or one per instance"),
            ParameterSpec.featureMask(
                "a group id per element, shaped like one instance; elements sharing an id are ablated together (default: each element alone)"
            ),
            ParameterSpec.perturbationsPerEval(of: "feature groups"),
        ])

    public init() {}

    public func prepare(_ parameters: [String: JSONValue], for problem: ExplanationProblem) throws(ExplanationError) -> any ExplanationPlan
    {
        var reader = try ParameterReader(parameters, specs: descriptor.parameters, method: descriptor.name)
        let baselines = try Baselines.resolve(reader.json("baselines"), for: problem)
        let groups = try FeatureGroups(featureMask: reader.json("feature_mask"), problem: problem)
        let groupsPerPass = try reader.optionalInt("perturbations_per_eval")
        return AblationPlan(
            model: problem.model, effectiveParameters: reader.effective, baselines: baselines, groups: groups, groupsPerPass: groupsPerPass)
    }
}
