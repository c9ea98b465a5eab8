import CandorModel
import CandorTensor

/// Integrated gradients: (x − x′) ⊙ ∫₀¹ ∂f(x′ + α(x − x′))/∂x dα, approximated by a quadrature
/// rule over `n_steps` points. Sundararajan, Taly & Yan, "Axiomatic Attribution for Deep
/// Networks", ICML 2017; Captum `IntegratedGradients`.
///
/// All points of all instances form one batch (split only to respect `internal_batch_size`
/// and the memory budget), so 50 steps cost one batched forward and backward pass, not 50.
/// Like Captum's, `internal_batch_size` counts rows of a pass: path points times instances.
/// The completeness axiom gives the error estimate returned as `convergence_delta`:
/// Σ attributions − (f(x) − f(x′)).
public struct IntegratedGradients: Explainer {
    public let descriptor = MethodDescriptor(
        name: "integrated_gradients", family: "gradient",
        summary: "(x − x′) ⊙ the path integral of ∂f/∂x from the baseline x′ to x; returns convergence_delta",
        reference: "Captum IntegratedGradients", requirement: .differentiable,
        checkedAgainst:
            "Captum 0.9 `IntegratedGradients` (same α points and weights, convergence deltas) on the MLP, CNN and exporter-zoo fixtures; w ⊙ (x − x′) on a linear model",
        details: """
            (x − x′) ⊙ ∫₀¹ ∂f(x′ + α(x − x′))/∂x dα by quadrature, the path points of all instances
            evaluated in as few batched passes as the memory budget allows; each explanation has
            `convergence_delta` = Σ attributions − (f(x) − f(x′)). `riemann_trapezoid` keeps Captum's
            weights ([½, 1, …, 1, ½]/n, which sum to (n − 1)/n), so its numbers equal Captum's and its
            delta shows the shortfall; the other rules are also held to the closed form w ⊙ (x − x′) on
            a linear model, and to completeness. The exporter zoo's Keras models are checked against
            integrated gradients computed with TensorFlow's gradients at Captum's Gauss–Legendre points.
            """,
        parameters: PathIntegral.parameters + [
            ParameterSpec(
                "internal_batch_size", .integer, minimum: 1, maximum: 1_000_000,
                summary: "most path points evaluated in one pass (default: as many as the memory budget allows)")
        ])

    public init() {}

    public func prepare(_ parameters: [String: JSONValue], for problem: ExplanationProblem) throws(ExplanationError) -> any ExplanationPlan
    {
        var reader = try ParameterReader(parameters, specs: descriptor.parameters, method: descriptor.name)
        let path = try PathIntegral(&reader, problem: problem, method: descriptor.name)
        let internalBatchSize = try reader.optionalInt("internal_batch_size")
        return Plan(
            model: try differentiable(problem.model), effectiveParameters: reader.effective, path: path,
            internalBatchSize: internalBatchSize)
    }

    struct Plan: ExplanationPlan {
        let model: any DifferentiableModel
        let effectiveParameters: [String: JSONValue]
        let path: PathIntegral
        let internalBatchSize: Int?

        func run(_ problem: ResolvedProblem, context: ExplanationContext) throws(ExplanationError) -> [InstanceAttribution] {
            let inputs = problem.problem.inputs
            let batch = problem.problem.batchSize
            let (alphas, weights) = path.scheme.pointsAndWeights(steps: path.steps)
            var totals = inputs.map { [Float](repeating: 0, count: $0.count) }
            for slice in path.slices(batch: batch, model: model, context: context, rowLimit: internalBatchSize) {
                var scaled: [Tensor] = []
                for (input, baseline) in zip(inputs, path.baselines) {
                    scaled.append(try PathIntegral.interpolate(from: baseline, to: input, at: alphas[slice]))
                }
                let (_, gradients) = try TargetGradients.compute(
                    model: model, inputs: scaled, output: problem.problem.output,
                    targets: Array(slice.map { _ in problem.targets }.joined()), context: context,
                    rowsPerChunk: context.rowsPerPass(for: model, limit: internalBatchSize))
                for inputIndex in inputs.indices {
                    PathIntegral.accumulate(gradients[inputIndex], weights: weights[slice], into: &totals[inputIndex])
                }
            }
            var perInput: [[Tensor]] = []
            for (inputIndex, input) in inputs.enumerated() {
                perInput.append(try PathIntegral.attributions(totals[inputIndex], from: path.baselines[inputIndex], to: input))
            }
            return try path.withDeltas((0..<batch).map { row in perInput.map { $0[row] } }, problem: problem, model: model)
        }
    }
}
