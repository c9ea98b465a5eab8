import CandorTensor

/// Layer-wise relevance propagation (Bach et al., "On Pixel-Wise Explanations for Non-Linear
/// Classifier Decisions by Layer-Wise Relevance Propagation", PLoS ONE 2015) in its gradient
/// form, as Captum's `LRP` computes it: the "gradient" flowing back is the relevance R.
///
/// - Weight layers (`Conv`, `Gemm`, `MatMul`) take the chosen rule; pooling (a spatial
///   `ReduceMean` included), `BatchNormalization` and `Add` take ε — a sum sharing R in
///   proportion to its terms, so a residual connection conserves relevance. Each passes back R_a = a ⊙ J′ᵀ(R_z / (z′ + ε·sign₀(z′))),
///   with z′ and J′ the layer's output and Jacobian under the rule's parameters on the
///   original activations a, sign₀(0) = +1. The bias stays in z′ and absorbs its share.
///   - ε: the layer as it is (Captum `EpsilonRule`);
///   - γ: weights W + γ·W⁺ (Captum `GammaRule`, BatchNormalization's scale excluded here
///     because only weight layers take the rule);
///   - α1β0: weights W⁺, inputs and bias as they are (Captum `Alpha1_Beta0_Rule`);
///   - z⁺: z = W⁺a⁺ + W⁻a⁻ without bias, each sign's relevance through its own weights
///     (Montavon et al., 2017; Zennit's `ZPlus`), which conserves relevance exactly.
/// - `Relu`, `Tanh` and `Dropout` pass R through unchanged; the nodes that only move values
///   (reshapes, slices, concatenation, casts…) and `Sub` keep their gradient (reshapes
///   reshape it); every other operator has no rule, and a model with one on the way to the
///   explained output is refused.
/// - SiLU, Mul(x, Sigmoid(x)) (``SiLUProduct``), is an element-wise activation like those and
///   passes R through to x unchanged, nothing through its Sigmoid: as ReLU, which it smooths,
///   it keeps the sign of its input, and passing R through conserves it. (Captum's `LRP`
///   refuses `nn.SiLU`; a `Sigmoid` outside such a pair is still refused.)
///
/// Each operator declares which of these it takes (``AttributionRules/lrp``).
public struct LRPRule: BackwardRule {
    public enum WeightRule: Sendable, Equatable {
        case epsilon
        case gamma(Float)
        case alphaOneBetaZero
        case zPlus
    }
    public let weightRule: WeightRule
    public let epsilon: Float

    public init(_ weightRule: WeightRule, epsilon: Float) {
        self.weightRule = weightRule
        self.epsilon = epsilon
    }

    /// The step's relevance under the operator's own decision (``AttributionRules/lrp``). A
    /// refused operator keeps its gradient here: refusing the model is the caller's part,
    /// before the pass (``DifferentiableModel/lrpRefusals(feeding:)``).
    public func inputGradients(_ step: BackwardStep) throws(TensorError) -> [Tensor?]? {
        guard let g = step.outputGradients.first ?? nil else { return nil }
        switch step.op.attributionRules.lrp {
        case .passThrough(let operand):
            var result = [Tensor?](repeating: nil, count: step.inputs.count)
            result[operand] = g
            return result
        case .weightLayer:
            return try weightLayer(step, g)
        case .epsilon:
            return try ruled(step, inputs: step.inputs, g, activation: 0)
        case .addition:
            var result = [Tensor?](repeating: nil, count: step.inputs.count)
            for index in step.inputs.indices where step.wanted[index] {
                result[index] = try ruled(step, inputs: step.inputs, g, activation: index)[index]
            }
            return result
        case .gradient, .refused:
            return nil
        }
    }

    /// sign₀(z)·ε added to z, then R_z divided by it.
    private func stabilisedQuotient(_ relevance: Tensor, _ z: Tensor) throws(TensorError) -> Tensor {
        let epsilon = epsilon
        return try relevance.zipMap(z) { $0 / ($1 + ($1 >= 0 ? epsilon : -epsilon)) }
    }

    /// a ⊙ J′ᵀ(R / (z′ + ε)) for the activation input, with the layer evaluated on `inputs`.
    private func ruled(_ step: BackwardStep, inputs: [GraphValue?], _ relevance: Tensor, activation: Int) throws(TensorError) -> [Tensor?] {
        let z = try step.op.forward(inputs).firstFloat()
        let quotient = try stabilisedQuotient(relevance, z)
        var wanted = [Bool](repeating: false, count: inputs.count)
        wanted[activation] = true
        let back = try step.op.backward(inputs, outputs: [.float(z)], outputGradients: [quotient], wanted: wanted)
        guard activation < back.count, let propagated = back[activation] else { return inputs.map { _ in nil } }
        let a = try inputs.float(activation, "activation")
        var result = [Tensor?](repeating: nil, count: inputs.count)
        result[activation] = try a.zipMap(propagated) { $0 * $1 }
        return result
    }

    /// A weight layer: the activation is the input whose gradient is wanted, the weights the
    /// other one of the first two (a constant).
    private func weightLayer(_ step: BackwardStep, _ relevance: Tensor) throws(TensorError) -> [Tensor?] {
        let activation = step.wanted.first == false && step.wanted.count > 1 && step.wanted[1] ? 1 : 0
        let weightIndex = 1 - activation
        let weights = try step.inputs.float(weightIndex, "weights")
        var inputs = step.inputs
        switch weightRule {
        case .epsilon:
            return try ruled(step, inputs: inputs, relevance, activation: activation)
        case .gamma(let gamma):
            inputs[weightIndex] = .float(weights.map { $0 + gamma * Swift.max($0, 0) })
            return try ruled(step, inputs: inputs, relevance, activation: activation)
        case .alphaOneBetaZero:
            inputs[weightIndex] = .float(weights.map { Swift.max($0, 0) })
            return try ruled(step, inputs: inputs, relevance, activation: activation)
        case .zPlus:
            let a = try step.inputs.float(activation, "activation")
            var positive = step.inputs.map { _ in GraphValue?.none }
            var negative = positive
            positive[activation] = .float(a.map { Swift.max($0, 0) })
            positive[weightIndex] = .float(weights.map { Swift.max($0, 0) })
            negative[activation] = .float(a.map { Swift.min($0, 0) })
            negative[weightIndex] = .float(weights.map { Swift.min($0, 0) })
            let z = try step.op.forward(positive).firstFloat().zipMap(try step.op.forward(negative).firstFloat()) { $0 + $1 }
            let quotient = try stabilisedQuotient(relevance, z)
            var wanted = [Bool](repeating: false, count: step.inputs.count)
            wanted[activation] = true
            var total = Tensor(zerosLike: a)
            for part in [positive, negative] {
                let back = try step.op.backward(part, outputs: [.float(z)], outputGradients: [quotient], wanted: wanted)
                guard let propagated = back[activation] else { continue }
                total = try total.zipMap(try part.float(activation, "activation").zipMap(propagated) { $0 * $1 }) { $0 + $1 }
            }
            var result = [Tensor?](repeating: nil, count: step.inputs.count)
            result[activation] = total
            return result
        }
    }
}
