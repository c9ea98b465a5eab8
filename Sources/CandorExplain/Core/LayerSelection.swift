import CandorModel
import CandorTensor

/// The `layer` parameter of the layer methods: an intermediate tensor of an ONNX graph, by
/// the name `GET /v1/models/{name}` lists under `layers`.
enum LayerSelection {
    static func parameter(_ summary: String) -> ParameterSpec {
        ParameterSpec("layer", .text, summary: summary)
    }

    /// The most numbers a layer may hold for one request (instances × its per-instance size):
    /// its values, gradients and attributions are kept whole.
    static let maximumElements = 1 << 26

    /// The named layer (or `fallback` when the request names none), checked against the
    /// model's tensors; the choice is recorded so the response and cache key show it.
    static func resolve(
        _ reader: inout ParameterReader, model: any DifferentiableModel, fallback: String?, method: String, batchSize: Int
    ) throws(ExplanationError) -> String {
        guard let name = try reader.optionalString("layer") ?? fallback else {
            throw ExplanationError(
                .invalidParameter, "\(method) needs 'layer': the name of an intermediate tensor (GET /v1/models/{name} lists them)")
        }
        guard let info = model.layer(named: name) else {
            throw ExplanationError(
                .invalidParameter, "the model has no intermediate tensor '\(name)' for \(method); GET /v1/models/{name} lists its layers")
        }
        // A layer method needs one row of the layer per instance, and a bounded layer.
        guard case .symbolic? = info.shape.first, info.shape.count >= 2 else {
            throw ExplanationError(
                .invalidParameter, "layer '\(name)' has no batch axis (shape \(info.shape)); \(method) needs one row per instance")
        }
        let perInstance = info.shape.dropFirst().reduce(1) { $0.multipliedReportingOverflow(by: $1.fixedValue ?? 1).partialValue }
        let total = perInstance.multipliedReportingOverflow(by: batchSize)
        guard !total.overflow, total.partialValue <= maximumElements else {
            throw ExplanationError(
                .tooLarge,
                "layer '\(name)' holds \(perInstance) numbers per instance; for \(batchSize) instances that is more than the \(maximumElements) allowed: send fewer instances"
            )
        }
        reader.record("layer", .string(name))
        return name
    }
}
