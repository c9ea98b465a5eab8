import CandorModel

/// What the methods that follow the input path through a layer read (layer integrated
/// gradients, layer conductance): the differentiable model, the layer, and the path from the
/// baselines to the inputs, checked once for both.
struct LayerPathRequest: Sendable {
    static let parameters =
        [LayerSelection.parameter("the intermediate tensor A (required, except for text instances: the word embeddings)")]
        + PathIntegral.parameters

    let model: any DifferentiableModel
    let layer: String
    let path: PathIntegral
    let effectiveParameters: [String: JSONValue]

    init(_ parameters: [String: JSONValue], for problem: ExplanationProblem, method: some Explainer) throws(ExplanationError) {
        let name = method.descriptor.name
        var reader = try ParameterReader(parameters, specs: method.descriptor.parameters, method: name)
        model = try method.differentiable(problem.model)
        layer = try LayerSelection.resolve(&reader, model: model, fallback: nil, method: name, batchSize: problem.batchSize)
        path = try PathIntegral(&reader, problem: problem, method: name)
        effectiveParameters = reader.effective
    }
}
