import CandorTensor

/// One step of a backward pass as a rule sees it: the operator, the values of its inputs and
/// outputs in the forward pass, ∂L/∂output, and which input gradients are needed.
public struct BackwardStep {
    public let op: any Operator
    public let inputs: [GraphValue?]
    /// The outputs the graph names, in order.
    public let outputs: [GraphValue]
    public let outputGradients: [Tensor?]
    public let wanted: [Bool]

    /// The operator's own vector-Jacobian product.
    public func gradient() throws(TensorError) -> [Tensor?] {
        try op.backward(inputs, outputs: outputs, outputGradients: outputGradients, wanted: wanted)
    }
}

/// A replacement for some operators' vector-Jacobian products during one backward pass —
/// DeepLIFT's multipliers, guided backpropagation, deconvolution, LRP. Rules are replaceable
/// per pass: a method passes one for its pass; nothing global changes.
public protocol BackwardRule: Sendable {
    /// The step's input gradients under this rule, or nil to use the operator's own.
    func inputGradients(_ step: BackwardStep) throws(TensorError) -> [Tensor?]?
}

/// What a gradient pass computes besides ∂L/∂input: the values and gradients of intermediate
/// tensors (layers, by their ONNX names), intermediate tensors replaced by given values (so
/// the rest of the graph runs from them), and a backward rule.
public struct BackwardPass: Sendable {
    public var layers: [String]
    public var overrides: [String: Tensor]
    public var rule: (any BackwardRule)?
    /// The intermediate tensor the seed applies to instead of the explained output (a
    /// neuron's gradient); the seed function then receives that tensor's value.
    public var seedLayer: String?
    /// Whether ∂L/∂input is wanted; without it the backward pass stops at the layers (Grad-CAM
    /// and the layer methods need nothing below them), and `inputGradients` is empty.
    public var needsInputGradients: Bool

    public init(
        layers: [String] = [], overrides: [String: Tensor] = [:], rule: (any BackwardRule)? = nil, seedLayer: String? = nil,
        needsInputGradients: Bool = true
    ) {
        self.layers = layers
        self.overrides = overrides
        self.rule = rule
        self.seedLayer = seedLayer
        self.needsInputGradients = needsInputGradients
    }

    public static let plain = BackwardPass()
}

/// The result of a gradient pass.
public struct GradientResult: Sendable {
    /// Every model output.
    public var outputs: [Tensor]
    /// ∂L/∂input, one per model input.
    public var inputGradients: [Tensor]
    /// The value of each requested layer, and ∂L/∂layer.
    public var layerValues: [Tensor]
    public var layerGradients: [Tensor]

    public init(outputs: [Tensor], inputGradients: [Tensor], layerValues: [Tensor], layerGradients: [Tensor]) {
        self.outputs = outputs
        self.inputGradients = inputGradients
        self.layerValues = layerValues
        self.layerGradients = layerGradients
    }
}
