import CandorTensor

/// The `Mul` of a SiLU pair, y = Mul(x, Sigmoid(x)): SiLU (Swish) as PyTorch's exporters
/// (dynamo and legacy) write `nn.SiLU` and tf2onnx writes Keras' `swish`.
///
/// The loader puts this operator in place of such a `Mul` (see ``ComputationGraph/markingSiLUPairs(_:)``).
/// It computes and differentiates exactly as the `Mul` does, and both nodes keep their names
/// and tensors, so predictions, plain gradients and the layers a user can name are unchanged.
/// The mark is for the backward rules, which need SiLU as the one element-wise nonlinearity
/// it is: DeepLIFT's rescale rule (Shrikumar, Greenside & Kundaje, "Learning Important
/// Features Through Propagating Activation Differences", ICML 2017) gives a nonlinearity the
/// multiplier Δy/Δx, and the Sigmoid's Δσ/Δx followed by the product rule of a `Mul` (a
/// gradient, not a difference quotient) does not add up to Δy — summation-to-delta broke by
/// more than the outputs themselves on the exporter zoo's residual CNNs.
public struct SiLUProduct: Operator {
    /// The position (0 or 1) of the `Mul` input that is Sigmoid(x).
    public let sigmoidOperand: Int
    private let product = ElementwiseBinary(kind: .mul)

    init(sigmoidOperand: Int) { self.sigmoidOperand = sigmoidOperand }

    /// The position of x, the input of both the `Sigmoid` and the `Mul`.
    public var inputOperand: Int { 1 - sigmoidOperand }

    /// SiLU as the one element-wise nonlinearity of x it is. DeepLIFT rescales it, g·Δy/Δx,
    /// where Captum, which hooks neither `nn.SiLU` nor the pair, leaves it on its gradient:
    /// the rule as Shrikumar et al. state it applies to any element-wise nonlinearity, and the
    /// gradient breaks summation-to-delta. LRP passes R through to x as through ReLU, which
    /// SiLU smooths: it keeps its input's sign, and passing R on conserves it (Captum's `LRP`
    /// refuses `nn.SiLU`). Neither sends anything back through the Sigmoid operand, so LRP
    /// does not meet that `Sigmoid` unless another node on the way reads it.
    public var attributionRules: AttributionRules {
        AttributionRules(deepLift: .siluRescale(input: inputOperand, sigmoid: sigmoidOperand), lrp: .passThrough(operand: inputOperand))
    }

    /// SiLU′(x) = σ(x)·(1 + x·(1 − σ(x))), from x and s = σ(x).
    @inlinable
    public static func derivative(_ x: Float, sigmoid s: Float) -> Float { s * (1 + x * (1 - s)) }

    public func forward(_ inputs: [GraphValue?]) throws(TensorError) -> [GraphValue] { try product.forward(inputs) }

    public func backward(
        _ inputs: [GraphValue?], outputs: [GraphValue], outputGradients: [Tensor?], wanted: [Bool]
    ) throws(TensorError) -> [Tensor?] {
        try product.backward(inputs, outputs: outputs, outputGradients: outputGradients, wanted: wanted)
    }
}
