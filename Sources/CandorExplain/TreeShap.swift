import CandorModel
import CandorTensor

/// TreeSHAP (Lundberg et al., 2018): the exact SHAP values of a tree ensemble's raw score —
/// the `margin` output, before the logistic or softmax transform — for the target column,
/// the sum of each tree's path-dependent values (`TreeShapAlgorithm`), which weigh absent
/// features by the training data's node covers. `base_value` is the base score plus every
/// tree's cover-weighted mean leaf: the expected raw score, so the values add up to the
/// margin exactly (local accuracy). SHAP `TreeExplainer` (tree_path_dependent).
public struct TreeShap: Explainer {
    public let descriptor = MethodDescriptor(
        name: "tree_shap", family: "shapley",
        summary: "exact SHAP values of a tree ensemble's raw score (path-dependent TreeSHAP); returns base_value",
        reference: "SHAP TreeExplainer (tree_path_dependent)", requirement: .treeEnsemble, parameters: [])

    public init() {}

    public func prepare(_ parameters: [String: JSONValue], for problem: ExplanationProblem) throws(ExplanationError) -> any ExplanationPlan
    {
        let reader = try ParameterReader(parameters, specs: descriptor.parameters, method: descriptor.name)
        guard let ensemble = problem.model as? TreeEnsemble else {
            throw ExplanationError(
                .methodNotApplicable, "tree_shap explains tree ensembles (XGBoost, LightGBM, ONNX-ML trees); this model is not one")
        }
        guard problem.output == 0 else {
            throw ExplanationError(
                .invalidParameter, "tree_shap explains the raw score before the transform: ask for output 'margin'")
        }
        return Plan(ensemble: ensemble, effectiveParameters: reader.effective)
    }

    struct Plan: ExplanationPlan {
        let ensemble: TreeEnsemble
        let effectiveParameters: [String: JSONValue]

        func run(_ problem: ResolvedProblem, context: ExplanationContext) throws(ExplanationError) -> [InstanceAttribution] {
            let width = ensemble.featureCount
            let features = problem.problem.inputs[0]
            var results: [InstanceAttribution] = []
            for row in 0..<problem.problem.batchSize {
                try context.checkCancellation()
                let column = problem.targets[row]
                let instance = features.scalars[(row * width)..<((row + 1) * width)]
                var phi = [Double](repeating: 0, count: width)
                var base = ensemble.baseMargin[column]
                for (tree, treeColumn) in zip(ensemble.trees, ensemble.treeColumn) where treeColumn == column {
                    TreeShapAlgorithm.accumulate(tree, instance: instance, into: &phi)
                    base += tree.expectedValue
                }
                var attribution = InstanceAttribution(attributions: [problem.problem.instanceTensor(phi.map(Float.init), input: 0)])
                attribution.extras["base_value"] = .number(base)
                results.append(attribution)
            }
            return results
        }
    }
}
