import CandorModel
import CandorTensor

/// `completeness`: Σφ − (f(x) − f(x′)), how far the attributions fall short of (or exceed)
/// the change of the explained output from the baseline to the input (Sundararajan et al.
/// 2017's completeness axiom; Quantus `Completeness` tests the same equality). Zero for the
/// methods that promise it (integrated gradients up to its delta, DeepLIFT, the SHAP family).
public struct Completeness: QualityMetric {
    public let descriptor = MethodDescriptor(
        name: "completeness", family: "evaluation",
        summary: "sum of attributions minus the output's change from baseline to input (0 for a complete method)",
        reference: "exact recomputation (Sundararajan et al. 2017; Quantus Completeness)", requirement: .any,
        checkedAgainst:
            "recomputed with onnxruntime on the MLP and CNN goldens; zero for w ⊙ (x − x′) on a linear model; equals integrated gradients' convergence_delta",
        parameters: [ParameterSpec.baselines("the reference input x′ the output's change is measured from")])

    public init() {}

    public func prepare(_ parameters: [String: JSONValue], for problem: ExplanationProblem) throws(ExplanationError) -> any MetricPlan {
        var reader = try ParameterReader(parameters, specs: descriptor.parameters, method: descriptor.name)
        let baselines = try Baselines.resolve(reader.json("baselines"), for: problem)
        return Plan(baselines: baselines, effectiveParameters: reader.effective)
    }

    struct Plan: MetricPlan {
        let baselines: [Tensor]
        let effectiveParameters: [String: JSONValue]

        func evaluate(_ subject: EvaluationSubject, context: ExplanationContext) throws(ExplanationError) -> [MetricValue] {
            let problem = subject.problem
            let everything = FeatureGroups(groups: [
                FeatureGroups.singletons(instanceSizes: problem.problem.instanceSizes).groups.flatMap { $0 }
            ])
            let atBaseline = try PerturbedEvaluation(
                model: problem.problem.model, problem: problem, baselines: baselines, groups: everything
            )
            .targetOutputs(count: 1, perPass: nil, context: context) { _ in [0] }
            return (0..<subject.attributions.count).map { row in
                let total = subject.flatAttributions(row).reduce(0.0) { $0 + Double($1) }
                return MetricValue(total - (Double(problem.targetOutput(row)) - Double(atBaseline[row])))
            }
        }
    }
}
