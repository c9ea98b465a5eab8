import CandorModel
import CandorTensor

/// The `layer` parameter of the layer methods: an intermediate tensor of an ONNX graph, by
/// the name `GET /v1/models/{name}` lists under `layers`.
enum LayerSelection {
    static func parameter(required: Bool, _ summary: String) -> ParameterSpec {
        ParameterSpec("layer", .text, summary: summary)
    }

    /// The named layer (or `fallback` when the request names none), checked against the
    /// model's tensors; the choice is recorded so the response and cache key show it.
    static func resolve(
        _ reader: inout ParameterReader, model: any DifferentiableModel, fallback: String?, method: String
    ) throws(ExplanationError) -> String {
        guard let name = try reader.optionalString("layer") ?? fallback else {
            throw ExplanationError(
                .invalidParameter, "\(method) needs 'layer': the name of an intermediate tensor (GET /v1/models/{name} lists them)")
        }
        guard model.layerNames.contains(name) else {
            throw ExplanationError(
                .invalidParameter, "the model has no intermediate tensor '\(name)' for \(method); GET /v1/models/{name} lists its layers")
        }
        reader.record("layer", .string(name))
        return name
    }
}
