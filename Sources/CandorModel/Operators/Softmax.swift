import CandorTensor

/// `Softmax` and `LogSoftmax`. From opset 13 they normalise along `axis` (default −1); before
/// it they flatten the input to 2-D at `axis` (default 1) and normalise each row.
/// Reference: https://onnx.ai/onnx/operators/onnx__Softmax.html (versions 11 and 13).
struct SoftmaxOperator: Operator {
    /// Captum's `DeepLift` has a rule for `nn.Softmax`, which Candor applies to `LogSoftmax`
    /// too; LRP has none (nor has Captum's).
    var attributionRules: AttributionRules {
        AttributionRules(deepLift: .softmax, lrp: .noCaptumRule("a softmax, which couples every element along its axis"))
    }

    let isLogarithmic: Bool
    let axis: Int
    let flattensTrailingAxes: Bool

    init(isLogarithmic: Bool, attributes: inout NodeAttributes, context: OperatorContext) throws(ModelError) {
        self.isLogarithmic = isLogarithmic
        self.flattensTrailingAxes = context.opset < 13
        self.axis = try attributes.int("axis", default: flattensTrailingAxes ? 1 : -1)
    }

    private func view(of shape: [Int]) throws(TensorError) -> AxisView {
        let rank = shape.count
        guard axis >= -rank, axis < Swift.max(rank, 1) else {
            throw .invalidAxis("axis \(axis) is out of range for rank \(rank)")
        }
        guard rank > 0 else { return AxisView(outer: 1, extent: 1, inner: 1) }
        let normalized = axis < 0 ? axis + rank : axis
        if flattensTrailingAxes {
            return AxisView(
                outer: shape[..<normalized].reduce(1, *), extent: shape[normalized...].reduce(1, *), inner: 1)
        }
        return AxisView(shape: shape, axis: normalized)
    }

    func forward(_ inputs: [GraphValue?]) throws(TensorError) -> [GraphValue] {
        let x = try inputs.float(0, "input")
        let view = try view(of: x.shape)
        return [.float(isLogarithmic ? AxisKernels.logSoftmax(x, view: view) : AxisKernels.softmax(x, view: view))]
    }

    func backward(
        _ inputs: [GraphValue?], outputs: [GraphValue], outputGradients: [Tensor?], wanted: [Bool]
    ) throws(TensorError) -> [Tensor?] {
        let y = try outputs.firstFloat()
        let g = outputGradients.firstGradient(like: y)
        let view = try view(of: y.shape)
        return [
            isLogarithmic
                ? AxisKernels.logSoftmaxGradient(output: y, outputGradient: g, view: view)
                : AxisKernels.softmaxGradient(output: y, outputGradient: g, view: view)
        ]
    }
}
