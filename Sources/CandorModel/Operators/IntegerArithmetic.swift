import CandorTensor

/// int64 element-wise arithmetic with NumPy broadcasting: the shape computations PyTorch's
/// legacy exporter writes around `expand`, `view` and attention heads (Mul, Div, Mod and
/// Where over `Shape` outputs). No gradient flows through integers.
enum IntegerArithmetic {
    /// `combine` applied to `a` and `b` broadcast against each other.
    static func apply(
        _ a: IntegerTensor, _ b: IntegerTensor, _ combine: (Int64, Int64) throws(TensorError) -> Int64
    ) throws(TensorError) -> IntegerTensor {
        let shape = try Broadcasting.shape(a.shape, b.shape)
        let count = try shape.checkedElementCount()
        let stridesA = strides(of: a.shape, broadcastTo: shape)
        let stridesB = strides(of: b.shape, broadcastTo: shape)
        var values = [Int64](repeating: 0, count: count)
        var index = [Int](repeating: 0, count: shape.count)
        for flat in 0..<count {
            let offsetA = zip(index, stridesA).reduce(0) { $0 + $1.0 * $1.1 }
            let offsetB = zip(index, stridesB).reduce(0) { $0 + $1.0 * $1.1 }
            values[flat] = try combine(a.values[offsetA], b.values[offsetB])
            IndexMap.advance(&index, in: shape)
        }
        return try IntegerTensor(shape: shape, values: values)
    }

    /// Row-major strides of `shape` read as broadcast to `target`: zero on stretched axes.
    private static func strides(of shape: [Int], broadcastTo target: [Int]) -> [Int] {
        let own = IndexMap.strides(shape)
        let offset = target.count - shape.count
        return target.indices.map { axis in
            axis < offset || shape[axis - offset] == 1 ? 0 : own[axis - offset]
        }
    }

    /// a ∘ b for `Add`, `Sub`, `Mul` and `Div` on int64: overflow and division by zero are
    /// errors (ONNX leaves them undefined), division truncates toward zero as ONNX Runtime's.
    static func binary(_ kind: ElementwiseBinary.Kind, _ a: IntegerTensor, _ b: IntegerTensor) throws(TensorError) -> IntegerTensor {
        try apply(a, b) { x, y throws(TensorError) in
            let (result, overflow): (Int64, Bool)
            switch kind {
            case .add: (result, overflow) = x.addingReportingOverflow(y)
            case .sub: (result, overflow) = x.subtractingReportingOverflow(y)
            case .mul: (result, overflow) = x.multipliedReportingOverflow(by: y)
            case .div:
                guard y != 0 else { throw .invalidShape("int64 division by zero") }
                (result, overflow) = x.dividedReportingOverflow(by: y)
            }
            guard !overflow else { throw .invalidShape("int64 \(kind.rawValue) overflows") }
            return result
        }
    }
}

/// `Mod`: the remainder of int64 or float division. With `fmod` 0 (the default, int64
/// only) it takes the divisor's sign, as Python's `%`; with `fmod` 1 the dividend's, as C's
/// `fmod`. For floats ∂/∂a = 1 and ∂/∂b = −trunc(a/b); DeepLIFT keeps that gradient and LRP
/// has no rule for it.
/// Reference: https://onnx.ai/onnx/operators/onnx__Mod.html
struct ModOperator: Operator {
    var attributionRules: AttributionRules { AttributionRules(deepLift: .gradient, lrp: .noCaptumRule("a remainder")) }

    let isFloatingRemainder: Bool

    init(attributes: inout NodeAttributes) throws(ModelError) {
        isFloatingRemainder = try attributes.int("fmod", default: 0) != 0
    }

    func forward(_ inputs: [GraphValue?]) throws(TensorError) -> [GraphValue] {
        switch (inputs.first ?? nil, inputs.count > 1 ? inputs[1] : nil) {
        case (.integer(let a)?, .integer(let b)?):
            let remainder = isFloatingRemainder
            return [
                .integer(
                    try IntegerArithmetic.apply(a, b) { x, y throws(TensorError) in
                        guard y != 0 else { throw .invalidShape("int64 Mod by zero") }
                        let (rest, _) = x.remainderReportingOverflow(dividingBy: y)
                        // C's remainder has the dividend's sign; Python's the divisor's.
                        return remainder || rest == 0 || (rest < 0) == (y < 0) ? rest : rest + y
                    })
            ]
        case (.float(let a)?, .float(let b)?):
            guard isFloatingRemainder else { throw .invalidShape("float Mod needs fmod = 1") }
            return [.float(try Broadcasting.apply(a, b) { $0.truncatingRemainder(dividingBy: $1) })]
        default:
            throw .shapeMismatch("Mod needs two int64 or two float inputs")
        }
    }

    func backward(
        _ inputs: [GraphValue?], outputs: [GraphValue], outputGradients: [Tensor?], wanted: [Bool]
    ) throws(TensorError) -> [Tensor?] {
        guard case .float(let a)? = inputs.first ?? nil, case .float(let b)? = inputs.count > 1 ? inputs[1] : nil,
            let g = outputGradients.first ?? nil
        else { return [nil, nil] }
        let quotient = try Broadcasting.apply(a, b) { ($0 / $1).rounded(.towardZero) }
        return [
            try Broadcasting.reduce(g, toShape: a.shape),
            try Broadcasting.reduce(try g.zipMap(quotient) { -$0 * $1 }, toShape: b.shape),
        ]
    }
}

/// `ConstantOfShape`: a tensor of the `shape` input's extents filled with `value` (a
/// one-element float or int64 tensor; float 0 by default). Nothing flows back.
/// Reference: https://onnx.ai/onnx/operators/onnx__ConstantOfShape.html
struct ConstantOfShapeOperator: Operator {
    var attributionRules: AttributionRules {
        AttributionRules(deepLift: .gradient, lrp: .noCaptumRule("a tensor built from a shape computed at run time"))
    }

    let value: GraphValue

    init(
        attributes: inout NodeAttributes, context: OperatorContext,
        decode: (Onnx_TensorProto) throws(ModelError) -> GraphValue
    ) throws(ModelError) {
        value = try attributes.tensor("value").map(decode) ?? .float(Tensor(scalar: 0))
        guard value.shape.reduce(1, *) == 1 else {
            throw ModelError(.unsupportedAttribute, "\(context.node): value must hold one element, not \(value.shape)")
        }
    }

    func forward(_ inputs: [GraphValue?]) throws(TensorError) -> [GraphValue] {
        guard let shape = try inputs.integers(0, "input") else { throw .shapeMismatch("ConstantOfShape needs its shape input") }
        let count = try shape.checkedElementCount()
        switch value {
        case .float(let fill): return [.float(try Tensor(repeating: fill.scalars[0], shape: shape))]
        case .integer(let fill):
            return [.integer(try IntegerTensor(shape: shape, values: [Int64](repeating: fill.values[0], count: count)))]
        }
    }

    func backward(
        _ inputs: [GraphValue?], outputs: [GraphValue], outputGradients: [Tensor?], wanted: [Bool]
    ) throws(TensorError) -> [Tensor?] { [nil] }
}
