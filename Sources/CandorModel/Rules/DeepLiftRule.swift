import CandorTensor

/// DeepLIFT's rescale rule (Shrikumar et al., "Learning Important Features Through
/// Propagating Activation Differences", 2017) as Captum's `DeepLift` applies it, for a batch
/// that holds the inputs in its first half and their baselines in its second.
///
/// Each nonlinearity Captum knows — ReLU, ELU, LeakyReLU, Sigmoid, Tanh, Softplus — passes back
/// g · Δout/Δin instead of g · f′(x), with Δ the difference between an element of the first
/// half and its partner in the second (the same multiplier for both halves), and the plain
/// gradient where |Δin| < 10⁻¹⁰. MaxPool and Softmax have rules of their own; every other
/// operator (linear layers, batch norm, average pooling, additions, and nonlinearities Captum
/// does not hook, such as GELU) keeps its gradient, as in Captum. Each operator says which
/// applies to it (``AttributionRules/deepLift``).
///
/// SiLU, which exporters write as Mul(x, Sigmoid(x)) (``SiLUProduct``), takes the rescale
/// rule as one nonlinearity, y = x·σ(x). Here Candor departs from Captum, which hooks
/// neither `nn.SiLU` nor the pair and so leaves SiLU on its gradient: that breaks
/// summation-to-delta, and the rule as Shrikumar et al. state it applies to any element-wise
/// nonlinearity.
public struct DeepLiftRule: BackwardRule {
    /// Below this |Δin| the gradient stands in for the multiplier.
    public static let epsilon: Float = 1e-10

    public init() {}

    public func inputGradients(_ step: BackwardStep) throws(TensorError) -> [Tensor?]? {
        switch step.op.attributionRules.deepLift {
        case .rescale: return [try rescale(step)]
        case .siluRescale(let input, let sigmoid): return try rescaleSiLU(step, input: input, sigmoid: sigmoid)
        case .maxPool(let pool): return [try maxPool(step, pool)]
        case .softmax: return [try softmax(step)]
        case .gradient: return nil
        }
    }

    /// Δ between the two halves of a batch, repeated for both halves.
    static func halfDifferences(_ value: Tensor) throws(TensorError) -> [Float] {
        guard let rows = value.shape.first, rows % 2 == 0 else {
            throw .shapeMismatch("DeepLIFT runs inputs and baselines as one batch of two halves; got \(value.shape.first ?? 0) rows")
        }
        let half = value.count / 2
        let delta = (0..<half).map { value.scalars[$0] - value.scalars[half + $0] }
        return delta + delta
    }

    /// g · Δout/Δin, or the plain gradient where |Δin| < ε.
    private func rescale(_ step: BackwardStep) throws(TensorError) -> Tensor? {
        guard let g = step.outputGradients.first ?? nil else { return nil }
        let x = try step.inputs.float(0, "X")
        let y = try step.outputs.firstFloat()
        guard let plain = try step.gradient().first ?? nil else { return nil }
        return try multiplied(g, plain: plain, deltaIn: try Self.halfDifferences(x), deltaOut: try Self.halfDifferences(y))
    }

    /// SiLU as one nonlinearity of x: g · Δy/Δx (the gradient σ(x)(1 + x(1 − σ(x))) where
    /// |Δx| < ε) to x, and nothing to the Sigmoid operand, whose share Δy/Δx already holds.
    private func rescaleSiLU(_ step: BackwardStep, input: Int, sigmoid: Int) throws(TensorError) -> [Tensor?]? {
        guard let g = step.outputGradients.first ?? nil else { return nil }
        let x = try step.inputs.float(input, "X")
        let y = try step.outputs.firstFloat()
        let plain = try g.zipMap(try x.zipMap(try step.inputs.float(sigmoid, "Sigmoid(X)"), SiLUProduct.derivative)) {
            $0 * $1
        }
        var result = [Tensor?](repeating: nil, count: step.inputs.count)
        result[input] = try multiplied(
            g, plain: plain, deltaIn: try Self.halfDifferences(x), deltaOut: try Self.halfDifferences(y))
        return result
    }

    private func multiplied(_ g: Tensor, plain: Tensor, deltaIn: [Float], deltaOut: [Float]) throws(TensorError) -> Tensor {
        var result = plain
        for index in result.scalars.indices where Swift.abs(deltaIn[index]) >= Self.epsilon {
            result.scalars[index] = g.scalars[index] * deltaOut[index] / deltaIn[index]
        }
        return result
    }

    /// Captum's maxpool rule: the output differences are split at the larger of the two
    /// pooled values, m = max(y, y′): (m − y′) for the input half and (y − m) for the baseline
    /// half, each times g and routed to its own half's argmax; the two routed maps are summed
    /// and shared by both halves, then divided by Δin (the gradient where |Δin| < ε).
    private func maxPool(_ step: BackwardStep, _ pool: PoolOperator) throws(TensorError) -> Tensor? {
        guard let g = step.outputGradients.first ?? nil else { return nil }
        let x = try step.inputs.float(0, "X")
        let y = try step.outputs.firstFloat()
        // One pooling pass gives the argmax for both the routing and the plain gradient.
        guard let argmax = try pool.pool(x).argmax else { return nil }
        let plain = try Pooling.maxPoolGradient(inputShape: x.shape, argmax: argmax, outputGradient: g)
        let half = y.count / 2
        var routed = [Float](repeating: 0, count: x.count)
        for index in 0..<y.count where argmax[index] >= 0 {
            let partner = index < half ? index + half : index - half
            let top = Swift.max(y.scalars[index < half ? index : partner], y.scalars[index < half ? partner : index])
            // The input half carries m − y′, the baseline half y − m.
            let delta = index < half ? top - y.scalars[partner] : y.scalars[partner] - top
            // Summed where overlapping windows share a maximum. (Captum unpools with
            // max_unpool, which overwrites there and loses part of Δout; summing keeps
            // Σ multiplier·Δin = Σ g·Δout.)
            routed[argmax[index]] += g.scalars[index] * delta
        }
        let inputHalf = x.count / 2
        let combined = (0..<inputHalf).map { routed[$0] + routed[inputHalf + $0] }
        let deltaIn = try Self.halfDifferences(x)
        var result = plain
        for index in result.scalars.indices where Swift.abs(deltaIn[index]) >= Self.epsilon {
            result.scalars[index] = combined[index % inputHalf] / deltaIn[index]
        }
        return result
    }

    /// Captum's softmax rule: the rescaled gradient, minus its mean over the whole batch.
    private func softmax(_ step: BackwardStep) throws(TensorError) -> Tensor? {
        guard let g = step.outputGradients.first ?? nil else { return nil }
        let x = try step.inputs.float(0, "input")
        let y = try step.outputs.firstFloat()
        guard let plain = try step.gradient().first ?? nil else { return nil }
        var result = try multiplied(g, plain: plain, deltaIn: try Self.halfDifferences(x), deltaOut: try Self.halfDifferences(y))
        let mean = result.scalars.reduce(0, +) / Float(Swift.max(result.count, 1))
        result = result.map { $0 - mean }
        return result
    }
}
