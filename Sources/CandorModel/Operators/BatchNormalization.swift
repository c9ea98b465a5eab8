import CandorTensor

/// `BatchNormalization` in inference mode: y = scale · (x − mean) / √(var + ε) + B per
/// channel (axis 1), an affine map whose gradient is the per-channel factor. Training mode
/// (batch statistics) is refused at load time.
/// Reference: https://onnx.ai/onnx/operators/onnx__BatchNormalization.html
public struct BatchNormalizationOperator: Operator {
    /// An affine map per channel: its gradient is DeepLIFT's exact multiplier; LRP takes ε
    /// (Captum's `EpsilonRule` for `nn.BatchNorm2d`).
    public var attributionRules: AttributionRules { AttributionRules(deepLift: .gradient, lrp: .epsilon) }

    let epsilon: Float

    init(attributes: inout NodeAttributes, context: OperatorContext) throws(ModelError) {
        epsilon = try attributes.float("epsilon", default: 1e-5)
        _ = try attributes.float("momentum", default: 0.9)  // only affects training
        if try attributes.int("training_mode", default: 0) != 0 {
            throw ModelError(
                .unsupportedAttribute, "\(context.node): training_mode BatchNormalization is not supported; export the model in eval mode")
        }
        if try attributes.int("spatial", default: 1) != 1 {
            throw ModelError(.unsupportedAttribute, "\(context.node): BatchNormalization with spatial = 0 is not supported")
        }
        // Before opset 7, `is_test` nonzero is inference (the statistics given); zero, its
        // default, normalises with the batch's own statistics. `consumed_inputs` (opset 1) was
        // a memory hint without meaning for the result.
        if context.opset < 7 {
            _ = try attributes.ints("consumed_inputs")
            if try attributes.int("is_test", default: 0) == 0 {
                throw ModelError(
                    .unsupportedAttribute,
                    "\(context.node): BatchNormalization with is_test = 0 (training mode, batch statistics) is not supported; export the model in eval mode"
                )
            }
        }
    }

    /// Per channel, the factor and offset of y = factor · x + offset.
    public func affine(_ inputs: [GraphValue?], channels: Int) throws(TensorError) -> (factor: [Float], offset: [Float]) {
        let scale = try inputs.float(1, "scale")
        let bias = try inputs.float(2, "B")
        let mean = try inputs.float(3, "input_mean")
        let variance = try inputs.float(4, "input_var")
        guard [scale, bias, mean, variance].allSatisfy({ $0.count == channels }) else {
            throw .shapeMismatch("BatchNormalization's scale, B, mean and var need \(channels) values each")
        }
        var factor = [Float](repeating: 0, count: channels)
        var offset = [Float](repeating: 0, count: channels)
        for channel in 0..<channels {
            factor[channel] = scale.scalars[channel] / (variance.scalars[channel] + epsilon).squareRoot()
            offset[channel] = bias.scalars[channel] - mean.scalars[channel] * factor[channel]
        }
        return (factor, offset)
    }

    private func geometry(_ x: Tensor) throws(TensorError) -> (channels: Int, plane: Int) {
        guard x.rank >= 2 else { throw .invalidShape("BatchNormalization needs [N, C, ...] input, got \(x.shape)") }
        return (x.shape[1], x.shape.dropFirst(2).reduce(1, *))
    }

    public func forward(_ inputs: [GraphValue?]) throws(TensorError) -> [GraphValue] {
        var x = try inputs.float(0, "X")
        let (channels, plane) = try geometry(x)
        let (factor, offset) = try affine(inputs, channels: channels)
        for index in x.scalars.indices {
            let channel = (index / plane) % channels
            x.scalars[index] = x.scalars[index] * factor[channel] + offset[channel]
        }
        return [.float(x)]
    }

    public func backward(
        _ inputs: [GraphValue?], outputs: [GraphValue], outputGradients: [Tensor?], wanted: [Bool]
    ) throws(TensorError) -> [Tensor?] {
        let x = try inputs.float(0, "X")
        let (channels, plane) = try geometry(x)
        let (factor, _) = try affine(inputs, channels: channels)
        var g = outputGradients.firstGradient(like: try outputs.firstFloat())
        for index in g.scalars.indices { g.scalars[index] *= factor[(index / plane) % channels] }
        return [g, nil, nil, nil, nil]
    }
}

/// `Dropout` at inference: the identity. A graph that uses its mask output is refused at
/// load time (the node produces only the data).
struct DropoutOperator: Operator {
    /// The identity at inference; LRP passes relevance through it to the data, as Captum's
    /// `LRP` passes it through `nn.Dropout`.
    var attributionRules: AttributionRules { AttributionRules(deepLift: .gradient, lrp: .passThrough(operand: 0)) }

    init(attributes: inout NodeAttributes, context: OperatorContext) throws(ModelError) {
        _ = try attributes.float("ratio", default: 0.5)
        _ = try attributes.int("seed", default: 0)
        // Before opset 7, `is_test` nonzero is inference (the identity); zero, its default, asks
        // for a random mask. Opset 7 removed the attribute: Dropout is the identity at inference.
        if context.opset < 7, try attributes.int("is_test", default: 0) == 0 {
            throw ModelError(.unsupportedAttribute, "\(context.node): Dropout with is_test = 0 (training mode) is not supported")
        }
        if context.consumesOutput(1) {
            throw ModelError(.unsupportedFeature, "\(context.node): the graph reads Dropout's mask output, which Candor does not produce")
        }
    }

    func forward(_ inputs: [GraphValue?]) throws(TensorError) -> [GraphValue] {
        let x = try inputs.float(0, "data")
        if let training = inputs.count > 2 ? inputs[2] : nil, case .integer(let flag) = training, flag.values.contains(where: { $0 != 0 }) {
            throw .invalidShape("Dropout in training mode is not supported")
        }
        return [.float(x)]
    }

    func backward(
        _ inputs: [GraphValue?], outputs: [GraphValue], outputGradients: [Tensor?], wanted: [Bool]
    ) throws(TensorError) -> [Tensor?] {
        [outputGradients.first ?? nil, nil, nil]
    }
}
