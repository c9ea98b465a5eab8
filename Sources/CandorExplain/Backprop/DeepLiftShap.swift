import CandorModel
import CandorTensor

/// DeepLIFT SHAP: DeepLIFT of each instance against every row of a baseline distribution,
/// averaged — an approximation of SHAP values with the distribution as background.
/// Lundberg & Lee, 2017; Captum `DeepLiftShap`. `convergence_delta` is the mean of the
/// pairs' deltas: Σ attributions − (f(x) − mean over the baselines of f(x′)).
public struct DeepLiftShap: Explainer {
    public let descriptor = MethodDescriptor(
        name: "deeplift_shap", family: "gradient",
        summary: "DeepLIFT averaged over a distribution of baselines (DeepSHAP); returns convergence_delta",
        reference: "Captum DeepLiftShap", requirement: .differentiable,
        checkedAgainst:
            "Captum 0.9 `DeepLiftShap` on the CNN fixtures (held to summation-to-delta where `deeplift` is); equal to the mean of single-baseline DeepLIFT",
        details: """
            DeepLIFT of each instance against every row of a baseline distribution, averaged: an
            approximation of SHAP values with the distribution as background (Lundberg & Lee, 2017).
            With no `baselines`, the rows of the model's sidecar background. `convergence_delta` is the
            mean of the pairs' deltas, Σ attributions − (f(x) − mean of f(x′)). Where `deeplift`
            departs from Captum, so does this method.
            """,
        parameters: [
            ParameterSpec(
                "baselines", .instances,
                summary: "the baseline distribution: an array of instances (omitted: the model's sidecar background)")
        ])

    public init() {}

    public func prepare(_ parameters: [String: JSONValue], for problem: ExplanationProblem) throws(ExplanationError) -> any ExplanationPlan
    {
        var reader = try ParameterReader(parameters, specs: descriptor.parameters, method: descriptor.name)
        let distribution = try BaselineDistribution.resolve(&reader, problem: problem, method: descriptor.name)
        let model = try DeepLiftPairs.model(problem.model, method: descriptor.name)
        try CopyBudget.check(problem, samples: distribution.count, method: descriptor.name)
        return Plan(model: model, distribution: distribution, effectiveParameters: reader.effective)
    }

    struct Plan: ExplanationPlan {
        let model: any DifferentiableModel
        let distribution: BaselineDistribution
        let effectiveParameters: [String: JSONValue]

        func run(_ problem: ResolvedProblem, context: ExplanationContext) throws(ExplanationError) -> [InstanceAttribution] {
            let count = distribution.count
            var results: [InstanceAttribution] = []
            // Each instance against every baseline in turn, as Captum pairs them.
            for row in 0..<problem.problem.batchSize {
                let repeated: [Tensor]
                do {
                    repeated = try problem.problem.inputs.map { input throws(TensorError) in
                        try Tensor.concatenatingRows([Tensor](repeating: input.rows(row..<(row + 1)), count: count))
                    }
                } catch {
                    throw ExplanationError(.invalidInput, "the pairs are too large: \(error)")
                }
                let pairs = try DeepLiftPairs.run(
                    model: model, inputs: repeated, baselines: distribution.rows, output: problem.problem.output,
                    targets: [Int](repeating: problem.targets[row], count: count), context: context)
                let attributions = pairs.attributions.map { perPair in
                    var mean = Tensor(zerosLike: perPair[0])
                    for pair in perPair {
                        for index in mean.scalars.indices { mean.scalars[index] += pair.scalars[index] / Float(count) }
                    }
                    return mean
                }
                let delta = pairs.deltas.reduce(0, +) / Double(count)
                results.append(InstanceAttribution(attributions: attributions, extras: ["convergence_delta": .number(delta)]))
            }
            return results
        }
    }
}
