import CandorModel
import CandorTensor

/// Neuron gradient: ∂A[neuron]/∂x, the gradient of one element of an intermediate tensor
/// (indexed without the batch axis) with respect to the input. Captum `NeuronGradient`; the
/// target does not apply.
public struct NeuronGradient: Explainer {
    public let descriptor = MethodDescriptor(
        name: "neuron_gradient", family: "layer",
        summary: "∂A[neuron]/∂x: the gradient of one element of an intermediate tensor with respect to the input",
        reference: "Captum NeuronGradient", requirement: .differentiable,
        checkedAgainst:
            "Captum 0.9 `NeuronGradient` on the four CNN fixtures; a convolution neuron's gradient is its kernel",
        parameters: [
            LayerSelection.parameter("the intermediate tensor A (required)"),
            ParameterSpec(
                "neuron_selector", .integers, minimum: 0,
                summary: "the element of A, one index per axis after the batch axis (required)"),
        ])

    public init() {}

    public func prepare(_ parameters: [String: JSONValue], for problem: ExplanationProblem) throws(ExplanationError) -> any ExplanationPlan
    {
        var reader = try ParameterReader(parameters, specs: descriptor.parameters, method: descriptor.name)
        let model = try differentiable(problem.model)
        let layer = try LayerSelection.resolve(&reader, model: model, fallback: nil, method: descriptor.name, batchSize: problem.batchSize)
        guard let info = model.layer(named: layer) else {
            throw ExplanationError(.invalidParameter, "the model has no intermediate tensor '\(layer)' for neuron_gradient")
        }
        let extents = info.shape.dropFirst().map { $0.fixedValue ?? 0 }
        guard let selector = try reader.integers("neuron_selector", count: extents.count) else {
            throw ExplanationError(
                .invalidParameter,
                "neuron_gradient needs 'neuron_selector': one index per axis of '\(layer)' after the batch axis \(extents)")
        }
        guard zip(selector, extents).allSatisfy({ $0 < $1 }) else {
            throw ExplanationError(.invalidParameter, "neuron_selector \(selector) is outside the layer's per-instance shape \(extents)")
        }
        let flat = zip(selector, extents).reduce(0) { $0 * $1.1 + $1.0 }
        return Plan(model: model, layer: layer, neuron: flat, effectiveParameters: reader.effective)
    }

    struct Plan: ExplanationPlan {
        let model: any DifferentiableModel
        let layer: String
        let neuron: Int
        let effectiveParameters: [String: JSONValue]

        func run(_ problem: ResolvedProblem, context: ExplanationContext) throws(ExplanationError) -> [InstanceAttribution] {
            let result = try TargetGradients.compute(
                model: model, inputs: problem.problem.inputs, output: problem.problem.output,
                targets: Array(repeating: neuron, count: problem.problem.batchSize), pass: BackwardPass(seedLayer: layer), context: context)
            let perInput = result.inputGradients.map { $0.unstacked() }
            return (0..<problem.problem.batchSize).map { row in InstanceAttribution(attributions: perInput.map { $0[row] }) }
        }
    }
}
