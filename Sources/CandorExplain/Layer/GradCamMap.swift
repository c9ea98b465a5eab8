import CandorModel
import CandorTensor

/// The Grad-CAM map of one layer, shared by `grad_cam` and `guided_grad_cam`.
struct GradCamMap: Sendable {
    let model: any DifferentiableModel
    let layer: String
    let relu: Bool
    /// nil: the layer's own resolution.
    let upsample: Resampling.Mode?
    /// The method's parameters as read, defaults filled in.
    let effectiveParameters: [String: JSONValue]

    /// How the map is brought to the input's size, by API name.
    enum Upsampling: String, CaseIterable, Sendable {
        case bilinear
        case nearest
        /// Kept at the layer's resolution.
        case none

        var mode: Resampling.Mode? {
            switch self {
            case .bilinear: .bilinear
            case .nearest: .nearest
            case .none: nil
            }
        }
    }

    /// Reads `layer` (default: the last Conv output), `upsample` and, unless `relu` fixes it,
    /// `relu_attributions`. The layer must be [N, C, h, w] and, to be upsampled, the input
    /// [N, C, H, W].
    init(
        _ parameters: [String: JSONValue], for problem: ExplanationProblem, method: some Explainer, relu fixedRelu: Bool? = nil
    ) throws(ExplanationError) {
        var reader = try ParameterReader(parameters, specs: method.descriptor.parameters, method: method.descriptor.name)
        model = try method.differentiable(problem.model)
        layer = try LayerSelection.resolve(
            &reader, model: model, fallback: model.lastConvolutionOutput, method: method.descriptor.name, batchSize: problem.batchSize)
        if let fixedRelu {
            relu = fixedRelu
        } else {
            relu = try reader.bool("relu_attributions")
        }
        upsample = try reader.choice("upsample", as: Upsampling.self).mode
        guard let info = model.layer(named: layer), info.shape.count == 4 else {
            throw ExplanationError(.invalidParameter, "Grad-CAM needs a 4-D [N, C, h, w] layer; '\(layer)' is not one")
        }
        guard problem.inputs.count == 1, problem.inputs[0].rank == 4 || upsample == nil else {
            throw ExplanationError(.invalidParameter, "upsampling a Grad-CAM map needs one [N, C, H, W] image input; use upsample 'none'")
        }
        effectiveParameters = reader.effective
    }

    /// One map per instance: [1, H, W], or [1, h, w] without upsampling.
    func compute(
        _ problem: ExplanationProblem, resolved: ResolvedProblem?, context: ExplanationContext
    ) throws(ExplanationError) -> (ResolvedProblem, [Tensor]) {
        let (resolved, result) = try TargetGradients.atInstances(
            problem, resolved: resolved, model: model, pass: BackwardPass(layers: [layer], needsInputGradients: false), context: context)
        let activation = result.layerValues[0]
        let gradient = result.layerGradients[0]
        guard activation.rank == 4, gradient.shape == activation.shape, activation.shape[0] == problem.batchSize else {
            throw ExplanationError(.modelFailure, "layer '\(layer)' is not [N, C, h, w] with one row per instance")
        }
        let (batch, channels, height, width) = (activation.shape[0], activation.shape[1], activation.shape[2], activation.shape[3])
        let plane = height * width
        var maps = [Float](repeating: 0, count: batch * plane)
        for n in 0..<batch {
            for k in 0..<channels {
                let start = (n * channels + k) * plane
                let weight = gradient.scalars[start..<(start + plane)].reduce(0, +) / Float(plane)
                for p in 0..<plane { maps[n * plane + p] += weight * activation.scalars[start + p] }
            }
        }
        if relu { maps = maps.map { Swift.max($0, 0) } }
        do {
            var tensor = try Tensor(shape: [batch, 1, height, width], scalars: maps)
            if let upsample {
                let input = problem.inputs[0]
                tensor = try Resampling.resize(tensor, height: input.shape[2], width: input.shape[3], mode: upsample)
            }
            return (resolved, tensor.unstacked())
        } catch {
            throw ExplanationError(.modelFailure, "\(error)")
        }
    }
}
