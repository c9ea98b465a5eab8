import CandorModel
import CandorTensor

/// Layer conductance: the flow of the attribution through an intermediate tensor along the
/// input path x′ + α(x − x′), Σₖ (A(xₖ₊₁) − A(xₖ)) ⊙ ∂f/∂A(xₖ) over n + 1 points of the
/// integration scheme (their weights unused), as Captum computes it. Dhamdhere et al., "How
/// Important Is a Neuron?", 2018; Captum `LayerConductance`. `convergence_delta` =
/// Σ attributions − (f(x) − f(x′)), not zero even for a linear model, since the scheme's
/// points stop short of 0 and 1.
public struct LayerConductance: Explainer {
    public let descriptor = MethodDescriptor(
        name: "layer_conductance", family: "layer",
        summary:
            "conductance of an intermediate tensor along the input path (attributions shaped like the layer); returns convergence_delta",
        reference: "Captum LayerConductance", requirement: .differentiable,
        checkedAgainst:
            "Captum 0.9 `LayerConductance` on the four CNN fixtures",
        details: """
            Σₖ (A(xₖ₊₁) − A(xₖ)) ⊙ ∂f/∂A(xₖ) along the path from the baseline to the input, as Captum
            sums it; attributions are shaped like the layer.
            """,
        parameters: LayerPathRequest.parameters)

    public init() {}

    public func prepare(_ parameters: [String: JSONValue], for problem: ExplanationProblem) throws(ExplanationError) -> any ExplanationPlan
    {
        Plan(request: try LayerPathRequest(parameters, for: problem, method: self))
    }

    struct Plan: ExplanationPlan {
        let request: LayerPathRequest
        var effectiveParameters: [String: JSONValue] { request.effectiveParameters }

        func run(_ problem: ResolvedProblem, context: ExplanationContext) throws(ExplanationError) -> [InstanceAttribution] {
            let (model, layer, path) = (request.model, request.layer, request.path)
            let inputs = problem.problem.inputs
            let batch = problem.problem.batchSize
            let alphas = path.scheme.pointsAndWeights(steps: path.steps + 1).alphas
            var total: [Float] = []
            var layerShape: [Int] = []
            var previous: (value: [Float], gradient: [Float])?
            for slice in path.slices(batch: batch, model: model, context: context, points: path.steps + 1) {
                var scaled: [Tensor] = []
                for (input, baseline) in zip(inputs, path.baselines) {
                    scaled.append(try PathIntegral.interpolate(from: baseline, to: input, at: alphas[slice]))
                }
                let result = try TargetGradients.compute(
                    model: model, inputs: scaled, output: problem.problem.output,
                    targets: Array(slice.map { _ in problem.targets }.joined()),
                    pass: BackwardPass(layers: [layer], needsInputGradients: false), context: context, rowsPerChunk: batch * slice.count)
                guard result.layerValues[0].shape.first == batch * slice.count,
                    result.layerGradients[0].shape == result.layerValues[0].shape
                else {
                    throw ExplanationError(.modelFailure, "layer '\(layer)' does not have one row per path point and instance")
                }
                let size = result.layerValues[0].count / slice.count
                if total.isEmpty {
                    total = [Float](repeating: 0, count: size)
                    layerShape = Array(result.layerValues[0].shape.dropFirst())
                }
                for position in 0..<slice.count {
                    let range = (position * size)..<((position + 1) * size)
                    let value = Array(result.layerValues[0].scalars[range])
                    let gradient = Array(result.layerGradients[0].scalars[range])
                    if let previous {
                        for index in 0..<size { total[index] += (value[index] - previous.value[index]) * previous.gradient[index] }
                    }
                    previous = (value, gradient)
                }
            }
            let attributions: [Tensor]
            do { attributions = try Tensor(shape: [batch] + layerShape, scalars: total).unstacked() } catch {
                throw ExplanationError(.modelFailure, "\(error)")
            }
            return try path.withDeltas(attributions.map { [$0] }, problem: problem, model: model)
        }
    }
}
