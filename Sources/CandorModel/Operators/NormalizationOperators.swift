import CandorTensor

/// The normalisations that standardise with the statistics of the input itself, then scale
/// and shift: y = x̂ · Scale + B, x̂ = (x − μ) / √(σ² + ε), μ and σ² over
///
/// - `LayerNormalization` (opset 17): every axis from `axis` on; Scale and B broadcast
///   over those axes. PyTorch's exporters write it for `nn.LayerNorm`, tf2onnx for Keras'
///   `LayerNormalization`. Its optional outputs `Mean` and `InvStdDev` are not produced: a
///   graph that reads them is refused at load. `stash_type` only chooses the precision of
///   μ and σ², which Candor accumulates in double precision whatever it says.
/// - `InstanceNormalization`: each (instance, channel) plane of an [N, C, ...] input; Scale
///   and B per channel.
/// - `GroupNormalization` (opset 21): each instance's channels in `num_groups` groups; Scale
///   and B per channel. Opset 18's per-group Scale and B (deprecated by opset 21, which
///   changed their meaning) are refused.
///
/// Backward rules: DeepLIFT keeps these operators' gradients (Captum does not hook
/// `nn.LayerNorm`, `nn.InstanceNorm*` or `nn.GroupNorm`); LRP has no rule for them (nor has
/// Captum), so LRP refuses models that use them.
/// References: https://onnx.ai/onnx/operators/onnx__LayerNormalization.html,
/// https://onnx.ai/onnx/operators/onnx__InstanceNormalization.html,
/// https://onnx.ai/onnx/operators/onnx__GroupNormalization.html
struct NormalizationOperator: Operator {
    enum Kind: Sendable, Equatable {
        case layer(axis: Int)
        case instance
        case group(count: Int)
    }
    let kind: Kind
    let epsilon: Float

    var attributionRules: AttributionRules {
        AttributionRules(deepLift: .gradient, lrp: .noCaptumRule("a normalisation by its own input's statistics"))
    }

    /// Reads the attributes of a `LayerNormalization`, `InstanceNormalization` or
    /// `GroupNormalization` node (`operatorType`).
    init(_ operatorType: String, attributes: inout NodeAttributes, context: OperatorContext) throws(ModelError) {
        epsilon = try attributes.float("epsilon", default: 1e-5)
        guard epsilon >= 0, epsilon.isFinite else {
            throw ModelError(.unsupportedAttribute, "\(context.node): epsilon \(epsilon) must be finite and not negative")
        }
        switch operatorType {
        case "LayerNormalization":
            self.kind = .layer(axis: try attributes.int("axis", default: -1))
            _ = try attributes.int("stash_type", default: 1)
            if context.consumesOutput(1) || context.consumesOutput(2) {
                throw ModelError(
                    .unsupportedFeature,
                    "\(context.node): the graph reads LayerNormalization's Mean or InvStdDev output, which Candor does not produce")
            }
        case "GroupNormalization":
            let groups = try attributes.int("num_groups", default: 0)
            guard (1...(1 << 20)).contains(groups) else {
                throw ModelError(.unsupportedAttribute, "\(context.node): num_groups must be between 1 and 2^20, not \(groups)")
            }
            guard context.opset >= 21 else {
                throw ModelError(
                    .unsupportedFeature,
                    "\(context.node): GroupNormalization before opset 21 (Scale and B per group) is not supported; export at opset 21")
            }
            _ = try attributes.int("stash_type", default: 1)
            self.kind = .group(count: groups)
        default:
            self.kind = .instance
        }
    }

    /// How long a row of `x` is, and the shape Scale and B take to broadcast onto x.
    private func layout(_ x: Tensor, scale: Tensor) throws(TensorError) -> (RowStandardization, [Int]) {
        let spatial = x.shape.dropFirst(2).reduce(1, *)
        switch kind {
        case .layer(let axis):
            let first = try normalizedAxis(axis, rank: x.rank)
            return (RowStandardization(rowLength: x.shape[first...].reduce(1, *), epsilon: epsilon), scale.shape)
        case .instance, .group:
            guard x.rank >= 3 else { throw .invalidShape("an instance or group normalisation needs [N, C, ...] input, got \(x.shape)") }
            let channels = x.shape[1]
            guard scale.count == channels else { throw .shapeMismatch("Scale has \(scale.count) values for \(channels) channels") }
            let broadcast = [channels] + [Int](repeating: 1, count: x.rank - 2)
            guard case .group(let groups) = kind else {
                return (RowStandardization(rowLength: spatial, epsilon: epsilon), broadcast)
            }
            guard channels % groups == 0 else { throw .shapeMismatch("\(channels) channels do not split into \(groups) groups") }
            return (RowStandardization(rowLength: channels / groups * spatial, epsilon: epsilon), broadcast)
        }
    }

    /// Scale or B reshaped to broadcast onto x (LayerNormalization's broadcast as they are).
    private func broadcastable(_ parameter: Tensor, _ shape: [Int]) throws(TensorError) -> Tensor {
        if case .layer = kind { return parameter }
        guard parameter.count == shape.reduce(1, *) else {
            throw .shapeMismatch("a normalisation parameter of shape \(parameter.shape) does not fit \(shape)")
        }
        return try parameter.reshaped(to: shape)
    }

    func forward(_ inputs: [GraphValue?]) throws(TensorError) -> [GraphValue] {
        let x = try inputs.float(0, "X")
        let scale = try inputs.float(1, "Scale")
        let (rows, shape) = try layout(x, scale: scale)
        var y = try Broadcasting.apply(try rows.standardised(x).normal, try broadcastable(scale, shape)) { $0 * $1 }
        if let bias = try inputs.optionalFloat(2, "B") { y = try Broadcasting.apply(y, try broadcastable(bias, shape)) { $0 + $1 } }
        guard y.shape == x.shape else { throw .shapeMismatch("Scale or B \(scale.shape) does not broadcast onto X \(x.shape)") }
        return [.float(y)]
    }

    /// ∂L/∂x̂ = g · Scale goes through the standardisation's VJP; ∂L/∂Scale = Σ g ⊙ x̂ and
    /// ∂L/∂B = Σ g over the axes they were broadcast along.
    func backward(
        _ inputs: [GraphValue?], outputs: [GraphValue], outputGradients: [Tensor?], wanted: [Bool]
    ) throws(TensorError) -> [Tensor?] {
        let x = try inputs.float(0, "X")
        let scale = try inputs.float(1, "Scale")
        let g = outputGradients.firstGradient(like: try outputs.firstFloat())
        let (rows, shape) = try layout(x, scale: scale)
        let (normal, inverseDeviations) = try rows.standardised(x)
        var result = [Tensor?](repeating: nil, count: Swift.max(inputs.count, 2))
        if wanted.first ?? true {
            let scaled = try Broadcasting.apply(g, try broadcastable(scale, shape)) { $0 * $1 }
            result[0] = try rows.inputGradient(scaled, normal: normal, inverseDeviations: inverseDeviations)
        }
        if wanted.count > 1 && wanted[1] {
            let summed = try Broadcasting.reduce(try g.zipMap(normal) { $0 * $1 }, toShape: shape)
            result[1] = try summed.reshaped(to: scale.shape)
        }
        if wanted.count > 2 && wanted[2], let bias = try inputs.optionalFloat(2, "B") {
            let reduced = try Broadcasting.reduce(g, toShape: try broadcastable(bias, shape).shape)
            result[2] = try reduced.reshaped(to: bias.shape)
        }
        return result
    }
}
