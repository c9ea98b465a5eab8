import CandorModel
import CandorTensor

/// Grad-CAM: at a convolutional layer A, each channel weighted by the spatial mean of
/// ∂f/∂Aᵏ, summed over channels, ReLU'd if asked, and brought to the input's size.
/// Selvaraju et al., "Grad-CAM", ICCV 2017; Captum `LayerGradCam` followed by
/// `LayerAttribution.interpolate`. The attributions are one map per instance, [1, H, W]
/// (the layer's [1, h, w] with `upsample` none).
public struct GradCam: Explainer {
    public let descriptor = MethodDescriptor(
        name: "grad_cam", family: "gradient",
        summary: "Grad-CAM: channels of a convolutional layer weighted by their mean gradient, summed, upsampled to the input",
        reference: "Captum LayerGradCam + LayerAttribution.interpolate", requirement: .differentiable,
        parameters: [
            LayerSelection.parameter("the [N, C, h, w] layer (default: the output of the last Conv node)"),
            ParameterSpec("relu_attributions", .boolean, default: false, summary: "apply a ReLU to the map"),
            ParameterSpec.choice(
                "upsample", default: GradCamMap.Upsampling.bilinear,
                summary: "how the map is brought to the input's height and width (PyTorch's interpolate, align_corners false)"),
        ])

    public init() {}

    public func prepare(_ parameters: [String: JSONValue], for problem: ExplanationProblem) throws(ExplanationError) -> any ExplanationPlan
    {
        var reader = try ParameterReader(parameters, specs: descriptor.parameters, method: descriptor.name)
        let model = try differentiable(problem.model)
        let relu = try reader.bool("relu_attributions")
        let map = try GradCamMap(&reader, model: model, problem: problem, method: descriptor.name, relu: relu)
        return Plan(model: model, map: map, effectiveParameters: reader.effective)
    }

    struct Plan: ExplanationPlan {
        let model: any DifferentiableModel
        let map: GradCamMap
        let effectiveParameters: [String: JSONValue]

        func run(_ problem: ResolvedProblem, context: ExplanationContext) throws(ExplanationError) -> [InstanceAttribution] {
            try map.compute(model: model, problem: problem, context: context).map { InstanceAttribution(attributions: [$0]) }
        }
    }
}

/// The Grad-CAM map of one layer, shared by `grad_cam` and `guided_grad_cam`.
struct GradCamMap: Sendable {
    let layer: String
    let relu: Bool
    /// nil: the layer's own resolution.
    let upsample: Resampling.Mode?

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

    /// Reads `layer` (default: the last Conv output) and `upsample`. The layer must be
    /// [N, C, h, w] and, to be upsampled, the input [N, C, H, W].
    init(
        _ reader: inout ParameterReader, model: any DifferentiableModel, problem: ExplanationProblem, method: String, relu: Bool
    ) throws(ExplanationError) {
        layer = try LayerSelection.resolve(
            &reader, model: model, fallback: model.lastConvolutionOutput, method: method, batchSize: problem.batchSize)
        self.relu = relu
        upsample = try reader.choice("upsample", as: Upsampling.self).mode
        guard let info = model.layer(named: layer), info.shape.count == 4 else {
            throw ExplanationError(.invalidParameter, "Grad-CAM needs a 4-D [N, C, h, w] layer; '\(layer)' is not one")
        }
        guard problem.inputs.count == 1, problem.inputs[0].rank == 4 || upsample == nil else {
            throw ExplanationError(.invalidParameter, "upsampling a Grad-CAM map needs one [N, C, H, W] image input; use upsample 'none'")
        }
    }

    /// One map per instance: [1, H, W], or [1, h, w] without upsampling.
    func compute(model: any DifferentiableModel, problem: ResolvedProblem, context: ExplanationContext) throws(ExplanationError) -> [Tensor]
    {
        let result = try TargetGradients.compute(
            model: model, inputs: problem.problem.inputs, output: problem.problem.output, targets: problem.targets,
            pass: BackwardPass(layers: [layer], needsInputGradients: false), context: context)
        let activation = result.layerValues[0]
        let gradient = result.layerGradients[0]
        guard activation.rank == 4, gradient.shape == activation.shape, activation.shape[0] == problem.problem.batchSize else {
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
                let input = problem.problem.inputs[0]
                tensor = try Resampling.resize(tensor, height: input.shape[2], width: input.shape[3], mode: upsample)
            }
            return tensor.unstacked()
        } catch {
            throw ExplanationError(.modelFailure, "\(error)")
        }
    }
}
