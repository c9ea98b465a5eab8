import CandorTensor
import Foundation

/// Element-wise functions of one input — the activations (`Relu`, `LeakyRelu`, `Sigmoid`,
/// `Tanh`, `Gelu`, `HardSigmoid`, `HardSwish`, `Softplus`, `Elu`) and the unary math
/// operators (`Exp`, `Log`, `Sqrt`, `Erf`, `Neg`, `Abs`, `Reciprocal`, `Sin`, `Cos`) — each
/// defined by its function and its derivative, expressed through the input x and output y.
///
/// Where the derivative is undefined (ReLU at 0, the kinks of HardSigmoid and HardSwish) it
/// follows PyTorch, whose autograd gives the gradients Captum reports: 0 for ReLU at x = 0,
/// the negative slope for LeakyReLU at x ≤ 0.
public struct ElementwiseActivation: Operator {
    public enum Kind: Sendable, Equatable {
        case relu
        case leakyRelu(alpha: Float)
        case sigmoid
        case tanh
        /// x·Φ(x), or its tanh approximation.
        case gelu(tanhApproximation: Bool)
        case hardSigmoid(alpha: Float, beta: Float)
        case hardSwish
        case softplus
        case elu(alpha: Float)
        case exp
        case log
        case sqrt
        case erf
        case neg
        case abs
        case reciprocal
        case sin
        case cos
    }
    public let kind: Kind

    /// DeepLIFT rescales the nonlinearities Captum's `DeepLift` hooks (`nn.ReLU`, `nn.ELU`,
    /// `nn.LeakyReLU`, `nn.Sigmoid`, `nn.Tanh`, `nn.Softplus`) and keeps the others' gradients,
    /// as Captum does. LRP passes relevance through ReLU and Tanh, which keep their input's
    /// sign and map 0 to 0, as Captum's `LRP` does, and has no rule for the rest.
    public var attributionRules: AttributionRules {
        switch kind {
        case .relu, .tanh: AttributionRules(deepLift: .rescale, lrp: .passThrough(operand: 0))
        case .sigmoid:
            AttributionRules(
                deepLift: .rescale,
                lrp: .refused(
                    reason:
                        "Captum's LRP has no rule for a Sigmoid; Candor passes relevance through one only as half of a SiLU, Mul(x, Sigmoid(x)), whose Sigmoid nothing else on the way reads"
                ))
        case .leakyRelu, .elu, .softplus: AttributionRules(deepLift: .rescale, lrp: .nonlinearity)
        case .gelu, .hardSigmoid, .hardSwish, .exp, .log, .sqrt, .erf, .neg, .abs, .reciprocal, .sin, .cos:
            AttributionRules(deepLift: .gradient, lrp: .nonlinearity)
        }
    }

    private static let sqrtTwoOverPi: Float = (2 / Float.pi).squareRoot()
    private static let sqrtTwo: Float = Float(2).squareRoot()

    /// x·Φ(x), Φ the standard normal CDF.
    private static func gelu(_ x: Float) -> Float {
        let cdf: Float = 0.5 * (1 + Foundation.erf(x / sqrtTwo))
        return x * cdf
    }

    /// The tanh approximation ½x(1 + tanh(√(2/π)(x + 0.044715x³))).
    private static func geluTanh(_ x: Float) -> Float {
        let cube: Float = 0.044715 * x * x * x
        let t: Float = Foundation.tanh(sqrtTwoOverPi * (x + cube))
        return 0.5 * x * (1 + t)
    }

    public func forward(_ inputs: [GraphValue?]) throws(TensorError) -> [GraphValue] {
        let x = try inputs.float(0, "X")
        let y: Tensor
        switch kind {
        case .relu: y = x.map { $0 > 0 ? $0 : 0 }
        case .leakyRelu(let alpha): y = x.map { $0 >= 0 ? $0 : alpha * $0 }
        case .sigmoid: y = ElementaryFunctions.sigmoid(x)
        case .tanh: y = ElementaryFunctions.tanh(x)
        case .gelu(let approximate): y = x.map { approximate ? Self.geluTanh($0) : Self.gelu($0) }
        case .hardSigmoid(let alpha, let beta): y = x.map { Swift.max(0, Swift.min(1, alpha * $0 + beta)) }
        case .hardSwish: y = x.map { $0 * Swift.max(0, Swift.min(1, $0 / 6 + 0.5)) }
        case .softplus: y = x.map { $0 > 20 ? $0 : Foundation.log1p(Foundation.exp($0)) }
        case .elu(let alpha): y = x.map { $0 > 0 ? $0 : alpha * (Foundation.exp($0) - 1) }
        case .exp: y = x.map { Foundation.exp($0) }
        case .log: y = x.map { Foundation.log($0) }
        case .sqrt: y = x.map { $0.squareRoot() }
        case .erf: y = x.map { Foundation.erf($0) }
        case .neg: y = x.map { -$0 }
        case .abs: y = x.map { Swift.abs($0) }
        case .reciprocal: y = x.map { 1 / $0 }
        case .sin: y = x.map { Foundation.sin($0) }
        case .cos: y = x.map { Foundation.cos($0) }
        }
        return [.float(y)]
    }

    /// dy/dx at input x with output y.
    public func derivative(x: Float, y: Float) -> Float {
        switch kind {
        case .relu: return x > 0 ? 1 : 0
        case .leakyRelu(let alpha): return x > 0 ? 1 : alpha
        case .sigmoid: return y * (1 - y)
        case .tanh: return 1 - y * y
        case .gelu(let approximate):
            if approximate {
                let cube: Float = 0.044715 * x * x * x
                let t: Float = Foundation.tanh(Self.sqrtTwoOverPi * (x + cube))
                let slope: Float = Self.sqrtTwoOverPi * (1 + 3 * 0.044715 * x * x)
                return 0.5 * (1 + t) + 0.5 * x * (1 - t * t) * slope
            }
            let cdf: Float = 0.5 * (1 + Foundation.erf(x / Self.sqrtTwo))
            let density: Float = Foundation.exp(-0.5 * x * x) / (2 * Float.pi).squareRoot()
            return cdf + x * density
        case .hardSigmoid(let alpha, let beta):
            let z = alpha * x + beta
            return z > 0 && z < 1 ? alpha : 0
        case .hardSwish: return x < -3 ? 0 : x <= 3 ? x / 3 + 0.5 : 1
        case .softplus: return 1 / (1 + Foundation.exp(-x))
        case .elu(let alpha): return x > 0 ? 1 : y + alpha
        case .exp: return y
        case .log: return 1 / x
        case .sqrt: return 0.5 / y
        case .erf: return 2 / Float.pi.squareRoot() * Foundation.exp(-x * x)
        case .neg: return -1
        case .abs: return x > 0 ? 1 : x < 0 ? -1 : 0
        case .reciprocal: return -y * y
        case .sin: return Foundation.cos(x)
        case .cos: return -Foundation.sin(x)
        }
    }

    public func backward(
        _ inputs: [GraphValue?], outputs: [GraphValue], outputGradients: [Tensor?], wanted: [Bool]
    ) throws(TensorError) -> [Tensor?] {
        let x = try inputs.float(0, "X")
        let y = try outputs.firstFloat()
        var g = outputGradients.firstGradient(like: y)
        guard g.count == x.count, g.count == y.count else { throw .shapeMismatch("the gradient does not match the activation") }
        // The common activations get their own loops (the switch hoisted out of them).
        g.scalars.withUnsafeMutableBufferPointer { g in
            x.scalars.withUnsafeBufferPointer { x in
                y.scalars.withUnsafeBufferPointer { y in
                    switch kind {
                    case .relu: for index in g.indices where x[index] <= 0 { g[index] = 0 }
                    case .sigmoid: for index in g.indices { g[index] *= y[index] * (1 - y[index]) }
                    case .tanh: for index in g.indices { g[index] *= 1 - y[index] * y[index] }
                    default: for index in g.indices { g[index] *= derivative(x: x[index], y: y[index]) }
                    }
                }
            }
        }
        return [g]
    }
}

/// `Clip`: x limited to [min, max] (inputs from opset 11, attributes before). The gradient
/// passes where min ≤ x ≤ max, as PyTorch's `clamp` passes it.
struct ClipOperator: Operator {
    var attributionRules: AttributionRules { AttributionRules(deepLift: .gradient, lrp: .nonlinearity) }

    let attributeBounds: (Float, Float)?

    init(attributes: inout NodeAttributes, context: OperatorContext) throws(ModelError) {
        attributeBounds =
            context.opset < 11
            ? (
                try attributes.float("min", default: -.greatestFiniteMagnitude),
                try attributes.float("max", default: .greatestFiniteMagnitude)
            )
            : nil
    }

    private func bounds(_ inputs: [GraphValue?]) throws(TensorError) -> (Float, Float) {
        if let attributeBounds { return attributeBounds }
        let low = try inputs.optionalFloat(1, "min")
        let high = try inputs.optionalFloat(2, "max")
        guard low?.count ?? 1 == 1, high?.count ?? 1 == 1 else { throw .shapeMismatch("Clip's min and max must be scalars") }
        return (low?.scalars[0] ?? -.infinity, high?.scalars[0] ?? .infinity)
    }

    func forward(_ inputs: [GraphValue?]) throws(TensorError) -> [GraphValue] {
        let (low, high) = try bounds(inputs)
        return [.float(try inputs.float(0, "input").map { Swift.min(Swift.max($0, low), high) })]
    }

    func backward(
        _ inputs: [GraphValue?], outputs: [GraphValue], outputGradients: [Tensor?], wanted: [Bool]
    ) throws(TensorError) -> [Tensor?] {
        let (low, high) = try bounds(inputs)
        let x = try inputs.float(0, "input")
        let g = outputGradients.firstGradient(like: try outputs.firstFloat())
        return [try g.zipMap(x) { $1 >= low && $1 <= high ? $0 : 0 }, nil, nil]
    }
}

/// `Pow`: x^y with broadcasting; ∂/∂x = y·x^(y−1), ∂/∂y = x^y·ln x.
struct PowOperator: Operator {
    var attributionRules: AttributionRules { AttributionRules(deepLift: .gradient, lrp: .nonlinearity) }

    func forward(_ inputs: [GraphValue?]) throws(TensorError) -> [GraphValue] {
        [.float(try Broadcasting.apply(try inputs.float(0, "X"), try inputs.float(1, "Y")) { Foundation.pow($0, $1) })]
    }

    func backward(
        _ inputs: [GraphValue?], outputs: [GraphValue], outputGradients: [Tensor?], wanted: [Bool]
    ) throws(TensorError) -> [Tensor?] {
        let x = try inputs.float(0, "X")
        let y = try inputs.float(1, "Y")
        let g = outputGradients.firstGradient(like: try outputs.firstFloat())
        let slope = try Broadcasting.apply(x, y) { $1 == 0 ? 0 : $1 * Foundation.pow($0, $1 - 1) }
        let dx = try Broadcasting.reduce(try Broadcasting.apply(g, slope) { $0 * $1 }, toShape: x.shape)
        var dy: Tensor?
        if wanted.count > 1 && wanted[1] {
            let slopeY = try Broadcasting.apply(x, y) { $0 > 0 ? Foundation.pow($0, $1) * Foundation.log($0) : 0 }
            dy = try Broadcasting.reduce(try Broadcasting.apply(g, slopeY) { $0 * $1 }, toShape: y.shape)
        }
        return [dx, dy]
    }
}
