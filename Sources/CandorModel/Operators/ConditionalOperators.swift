import CandorTensor

/// `Equal`, `Less`, `LessOrEqual`, `Greater` and `GreaterOrEqual` with NumPy broadcasting.
/// Candor carries their boolean results as int64 0 and 1 (it has no boolean tensors), which
/// `Where`, `Cast` and the integer operators read as ONNX reads booleans. Comparisons have
/// no gradient: nothing flows back through a condition, in ONNX Runtime's training graphs
/// or in PyTorch.
/// Reference: https://onnx.ai/onnx/operators/onnx__Less.html
struct ComparisonOperator: Operator {
    enum Kind: String, Sendable {
        case equal = "Equal", less = "Less", lessOrEqual = "LessOrEqual", greater = "Greater", greaterOrEqual = "GreaterOrEqual"
    }
    let kind: Kind

    var attributionRules: AttributionRules { AttributionRules(deepLift: .gradient, lrp: .noCaptumRule("a comparison")) }

    /// The largest integer compared exactly after conversion to float32.
    static let exactIntegerLimit: Int64 = 1 << 24

    /// An operand as float32: floats as they are, integers while float32 holds them exactly.
    static func comparable(_ value: GraphValue?, _ role: String) throws(TensorError) -> Tensor {
        switch value {
        case .float(let tensor)?: return tensor
        case .integer(let tensor)?:
            guard tensor.values.allSatisfy({ Swift.abs($0) <= exactIntegerLimit }) else {
                throw .invalidShape("\(role): Candor compares int64 values up to 2^24 in magnitude")
            }
            return try Tensor(shape: tensor.shape, scalars: tensor.values.map { Float($0) })
        case nil: throw .shapeMismatch("missing input \(role)")
        }
    }

    func forward(_ inputs: [GraphValue?]) throws(TensorError) -> [GraphValue] {
        let a = try Self.comparable(inputs.first ?? nil, "A")
        let b = try Self.comparable(inputs.count > 1 ? inputs[1] : nil, "B")
        let result: Tensor =
            switch kind {
            case .equal: try Broadcasting.apply(a, b) { $0 == $1 ? 1 : 0 }
            case .less: try Broadcasting.apply(a, b) { $0 < $1 ? 1 : 0 }
            case .lessOrEqual: try Broadcasting.apply(a, b) { $0 <= $1 ? 1 : 0 }
            case .greater: try Broadcasting.apply(a, b) { $0 > $1 ? 1 : 0 }
            case .greaterOrEqual: try Broadcasting.apply(a, b) { $0 >= $1 ? 1 : 0 }
            }
        return [.integer(try IntegerTensor(shape: result.shape, values: result.scalars.map { Int64($0) }))]
    }

    func backward(
        _ inputs: [GraphValue?], outputs: [GraphValue], outputGradients: [Tensor?], wanted: [Bool]
    ) throws(TensorError) -> [Tensor?] {
        [nil, nil]
    }
}

/// `Where`: X where the condition holds (is nonzero), Y elsewhere, all three broadcast
/// together (X and Y float, or both int64). Its VJP routes g to X where the condition holds and to Y elsewhere, each summed
/// back over its broadcast axes; the condition gets none. DeepLIFT keeps this gradient
/// (Captum does not hook `torch.where`); LRP has no rule for it and refuses models that use it.
/// Reference: https://onnx.ai/onnx/operators/onnx__Where.html
struct WhereOperator: Operator {
    var attributionRules: AttributionRules { AttributionRules(deepLift: .gradient, lrp: .noCaptumRule("a selection by condition")) }

    /// The condition as 0/1 floats and X, Y, each broadcast to the common shape.
    private func operands(_ inputs: [GraphValue?]) throws(TensorError) -> (condition: Tensor, x: Tensor, y: Tensor) {
        let condition = try ComparisonOperator.comparable(inputs.first ?? nil, "condition").map { $0 != 0 ? 1 : 0 }
        let x = try inputs.float(1, "X")
        let y = try inputs.float(2, "Y")
        let shape = try Broadcasting.shape(try Broadcasting.shape(condition.shape, x.shape), y.shape)
        let zeros = try Tensor(repeating: 0, shape: shape)
        return (
            try Broadcasting.apply(condition, zeros) { value, _ in value }, try Broadcasting.apply(x, zeros) { value, _ in value },
            try Broadcasting.apply(y, zeros) { value, _ in value }
        )
    }

    func forward(_ inputs: [GraphValue?]) throws(TensorError) -> [GraphValue] {
        if case .integer(let x)? = inputs.count > 1 ? inputs[1] : nil, case .integer(let y)? = inputs.count > 2 ? inputs[2] : nil {
            // int64 branches (shape arithmetic): no gradient, so no float detour.
            guard case .integer(let condition)? = inputs.first ?? nil else { throw .shapeMismatch("Where's condition must be boolean") }
            let picked = try IntegerArithmetic.apply(condition, x) { truth, value in truth != 0 ? value : 0 }
            let chosen = try IntegerArithmetic.apply(condition, x) { truth, _ in truth }
            let fallback = try IntegerArithmetic.apply(chosen, y) { truth, value in truth != 0 ? 0 : value }
            return [.integer(try IntegerArithmetic.apply(picked, fallback) { $0 + $1 })]
        }
        let (condition, x, y) = try operands(inputs)
        var result = x
        for index in result.scalars.indices where condition.scalars[index] == 0 { result.scalars[index] = y.scalars[index] }
        return [.float(result)]
    }

    func backward(
        _ inputs: [GraphValue?], outputs: [GraphValue], outputGradients: [Tensor?], wanted: [Bool]
    ) throws(TensorError) -> [Tensor?] {
        let (condition, _, _) = try operands(inputs)
        let g = outputGradients.firstGradient(like: try outputs.firstFloat())
        let toX = try g.zipMap(condition) { $0 * $1 }
        let toY = try g.zipMap(condition) { $0 * (1 - $1) }
        return [
            nil, try Broadcasting.reduce(toX, toShape: try inputs.float(1, "X").shape),
            try Broadcasting.reduce(toY, toShape: try inputs.float(2, "Y").shape),
        ]
    }
}
