import CandorModel
import CandorTensor

/// SHAP values of a linear model in closed form: with features independent of each other
/// (SHAP's interventional perturbation), φᵢ = wᵢ · (xᵢ − E[xᵢ]) and base_value = w·E[x] + b,
/// for the target column of the raw score — a logistic regression's log-odds, before its
/// post-transform. E[x] is the mean of the background rows. The weights are those of the
/// whole pipeline in the input's own units (a `StandardScaler` before the model folded in),
/// which gives the same values as SHAP `LinearExplainer` on the final estimator with the
/// scaled data. Lundberg & Lee, 2017, corollary 1 (linear SHAP).
public struct LinearShap: Explainer {
    public let descriptor = MethodDescriptor(
        name: "linear_shap", family: "shapley",
        summary: "exact SHAP values of a linear model's raw score, w ⊙ (x − mean of the background); returns base_value and margin",
        reference: "SHAP LinearExplainer", requirement: .linear,
        checkedAgainst:
            "SHAP 0.51 `LinearExplainer` on skl2onnx linear models and scaling pipelines, every class; integrated gradients from the background mean agree",
        details: """
            The exact SHAP values of a linear model's raw score (a logistic regression's log-odds) for
            the target column, features independent: wᵢ·(xᵢ − x̄ᵢ) with x̄ the background mean;
            `base_value` = w·x̄ + b and `margin` = w·x + b. Per-feature scaling before the model
            (skl2onnx's `StandardScaler`, `MinMaxScaler`) is folded into the weights. The goldens are a
            linear regression, a scaled binary and a min-max-scaled multinomial logistic regression,
            compared with SHAP on the final estimator and the scaled data.
            """,
        parameters: [
            BackgroundRows.parameter("the rows whose mean stands in for absent features (omitted or \"model\": the sidecar's background)")
        ])

    public init() {}

    public func prepare(_ parameters: [String: JSONValue], for problem: ExplanationProblem) throws(ExplanationError) -> any ExplanationPlan
    {
        var reader = try ParameterReader(parameters, specs: descriptor.parameters, method: descriptor.name)
        guard let form = (problem.model as? any LinearFormModel)?.linearForm else {
            throw ExplanationError(
                .methodNotApplicable,
                "linear_shap explains linear models (an ONNX LinearClassifier or LinearRegressor after per-feature scaling); this model is not one"
            )
        }
        let output = problem.model.outputs[problem.output]
        guard output.elementType == .float32, output.shape.count == 2, output.shape[1].fixedValue == form.weights.count else {
            throw ExplanationError(
                .invalidParameter,
                "linear_shap explains the linear model's \(form.weights.count) score columns: ask for the output with one column per class or target (not '\(output.name)')"
            )
        }
        let background = try BackgroundRows.resolve(&reader, problem: problem, method: descriptor.name)
        return Plan(form: form, background: background, effectiveParameters: reader.effective)
    }

    struct Plan: ExplanationPlan {
        let form: LinearForm
        let background: BackgroundRows
        let effectiveParameters: [String: JSONValue]

        func run(_ problem: ResolvedProblem, context: ExplanationContext) throws(ExplanationError) -> [InstanceAttribution] {
            let width = form.weights.first?.count ?? 0
            let rows = background.rows[0]
            var mean = [Double](repeating: 0, count: width)
            for (index, value) in rows.scalars.enumerated() { mean[index % width] += Double(value) }
            mean = mean.map { $0 / Double(background.count) }
            let features = problem.problem.inputs[0]
            return try (0..<problem.problem.batchSize).map { row throws(ExplanationError) in
                let column = problem.targets[row]
                let weights = form.weights[column]
                let instance = features.scalars[(row * width)..<((row + 1) * width)]
                let phi = (0..<width).map { weights[$0] * (Double(instance[instance.startIndex + $0]) - mean[$0]) }
                let base = zip(weights, mean).reduce(form.intercepts[column]) { $0 + $1.0 * $1.1 }
                var attribution = InstanceAttribution(attributions: [try problem.problem.instanceTensor(phi.map(Float.init), input: 0)])
                attribution.extras["base_value"] = .number(base)
                attribution.extras["margin"] = .number(form.scores(instance)[column])
                return attribution
            }
        }
    }
}
