import CandorTensor

/// Element-wise activations (`Relu`, `LeakyRelu`, `Sigmoid`, `Tanh`), each defined by its
/// function and its derivative, expressed through the input x and output y.
///
/// Where the derivative is undefined (ReLU at 0) it follows PyTorch, whose autograd gives the
/// gradients Captum reports: 0 for ReLU at x = 0, the negative slope for LeakyReLU at x ≤ 0.
struct ElementwiseActivation: Operator {
    enum Kind: Sendable, Equatable {
        case relu
        case leakyRelu(alpha: Float)
        case sigmoid
        case tanh
    }
    let kind: Kind

    func forward(_ inputs: [GraphValue?]) throws(TensorError) -> [GraphValue] {
        let x = try inputs.float(0, "X")
        let y: Tensor
        switch kind {
        case .relu: y = x.map { $0 > 0 ? $0 : 0 }
        case .leakyRelu(let alpha): y = x.map { $0 >= 0 ? $0 : alpha * $0 }
        case .sigmoid: y = ElementaryFunctions.sigmoid(x)
        case .tanh: y = ElementaryFunctions.tanh(x)
        }
        return [.float(y)]
    }

    func backward(
        _ inputs: [GraphValue?], outputs: [GraphValue], outputGradients: [Tensor?], wanted: [Bool]
    ) throws(TensorError) -> [Tensor?] {
        let x = try inputs.float(0, "X")
        let y = try outputs.firstFloat()
        let g = outputGradients.firstGradient(like: y)
        let gradient: Tensor
        switch kind {
        case .relu: gradient = try g.zipMap(x) { $1 > 0 ? $0 : 0 }
        case .leakyRelu(let alpha): gradient = try g.zipMap(x) { $1 > 0 ? $0 : alpha * $0 }
        case .sigmoid: gradient = try g.zipMap(y) { $0 * $1 * (1 - $1) }
        case .tanh: gradient = try g.zipMap(y) { $0 * (1 - $1 * $1) }
        }
        return [gradient]
    }
}
