import CandorModel
import CandorTensor

/// Layer integrated gradients: integrated gradients over an intermediate tensor's values,
/// (A(x) − A(x′)) ⊙ ∫₀¹ ∂f/∂A at A(x′) + α(A(x) − A(x′)) dα, the interpolated values replacing
/// the layer's in a pass on the real input (so paths around the layer see x). Captum
/// `LayerIntegratedGradients`; `convergence_delta` = Σ attributions − (f(x) − f(x′)).
public struct LayerIntegratedGradients: Explainer {
    public let descriptor = MethodDescriptor(
        name: "layer_integrated_gradients", family: "layer",
        summary:
            "integrated gradients at an intermediate tensor, interpolating its values (attributions shaped like the layer); returns convergence_delta",
        reference: "Captum LayerIntegratedGradients", requirement: .differentiable,
        checkedAgainst:
            "Captum 0.9 `LayerIntegratedGradients` (deltas included) on the four CNN fixtures and on the demo text model's word embeddings from Captum's tutorial reference, per token; completeness on a small CNN",
        details: """
            Integrated gradients over a layer's values, interpolated between A(x′) and A(x), with the
            rest of the graph run from the interpolated layer; attributions are shaped like the layer.

            On text instances (`{"text": ...}` for a model with a tokenizer) the layer is the word
            embeddings unless `layer` names another, the baselines are Captum's tutorial reference
            (the special tokens kept, every other token the padding token, the attention mask and
            token types unchanged), and the answer holds one attribution per token: the sum over
            the layer's values at that token.
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
            let output = problem.problem.output
            let batch = problem.problem.batchSize
            let tap = BackwardPass(layers: [layer], needsInputGradients: false)
            let atInput = try TargetGradients.compute(
                model: model, inputs: inputs, output: output, targets: problem.targets, pass: tap, context: context)
            let atBaseline = try TargetGradients.compute(
                model: model, inputs: path.baselines, output: output, targets: problem.targets, pass: tap, context: context)
            let (high, low) = (atInput.layerValues[0], atBaseline.layerValues[0])
            let (alphas, weights) = path.scheme.pointsAndWeights(steps: path.steps)
            var total = [Float](repeating: 0, count: high.count)
            for slice in path.slices(batch: batch, model: model, context: context) {
                let replaced = try PathIntegral.interpolate(from: low, to: high, at: alphas[slice])
                let repeated: [Tensor]
                do {
                    repeated = try inputs.map { input throws(TensorError) in try Tensor.concatenatingRows(slice.map { _ in input }) }
                } catch {
                    throw ExplanationError(.invalidInput, "the layer path is too large: \(error)")
                }
                let result = try TargetGradients.compute(
                    model: model, inputs: repeated, output: output, targets: Array(slice.map { _ in problem.targets }.joined()),
                    pass: BackwardPass(layers: [layer], overrides: [layer: replaced], needsInputGradients: false), context: context,
                    rowsPerChunk: batch * slice.count)
                PathIntegral.accumulate(result.layerGradients[0], weights: weights[slice], into: &total)
            }
            let attributions = try PathIntegral.attributions(total, from: low, to: high)
            return try path.withDeltas(
                attributions.map { [$0] }, problem: problem, model: model, baselineOutputs: atBaseline.outputs[output])
        }
    }
}
