import CandorTensor

/// The ReLU backward passes of guided backpropagation and deconvolution; every other
/// operator keeps its gradient. Like Captum's `GuidedBackprop` and `Deconvolution`, only
/// `Relu` nodes are changed.
///
/// - Guided backpropagation (Springenberg et al., 2015): the ReLU's gradient, then only its
///   positive part: max(g, 0) where x > 0.
/// - Deconvolution (Zeiler & Fergus, 2014): the positive part of the incoming gradient,
///   whatever the input: max(g, 0).
public struct ModifiedReluRule: BackwardRule {
    public enum Kind: Sendable { case guidedBackpropagation, deconvolution }
    public let kind: Kind

    public init(_ kind: Kind) { self.kind = kind }

    public func inputGradients(_ step: BackwardStep) throws(TensorError) -> [Tensor?]? {
        guard let activation = step.op as? ElementwiseActivation, activation.kind == .relu else { return nil }
        guard let g = step.outputGradients.first ?? nil else { return [nil] }
        switch kind {
        case .guidedBackpropagation:
            let x = try step.inputs.float(0, "X")
            return [try g.zipMap(x) { $1 > 0 && $0 > 0 ? $0 : 0 }]
        case .deconvolution:
            return [g.map { Swift.max($0, 0) }]
        }
    }
}
