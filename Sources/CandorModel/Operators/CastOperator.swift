import CandorTensor

/// `Cast` between the element types Candor computes on: to float (from `FLOAT` or `DOUBLE`
/// targets) or to int64 (`INT64`, `INT32`, truncating toward zero as C and ONNX Runtime do;
/// `BOOL`, as int64 0 and 1, nonzero becoming 1 — how Candor carries booleans).
/// The gradient passes through a float-to-float cast and stops at integers.
struct CastOperator: Operator {
    var attributionRules: AttributionRules { .structural }

    let target: ElementType
    /// Whether the target is `BOOL`: every nonzero value becomes 1.
    let isBoolean: Bool

    init(attributes: inout NodeAttributes, context: OperatorContext) throws(ModelError) {
        let to = try attributes.int("to", default: 0)
        switch Onnx_TensorProto.DataType(rawValue: to) {
        case .float?, .double?: target = .float32
        case .int64?, .int32?, .bool?: target = .int64
        default:
            let name = Onnx_TensorProto.DataType(rawValue: to).map { "\($0)" } ?? String(to)
            throw ModelError(
                .unsupportedAttribute,
                "\(context.node): Cast to \(name) is not supported; Candor casts to float, double, int32, int64 and bool")
        }
        isBoolean = Onnx_TensorProto.DataType(rawValue: to) == .bool
        // `saturate` only concerns float8 targets, which are refused above.
        _ = try attributes.int("saturate", default: 1)
    }

    func forward(_ inputs: [GraphValue?]) throws(TensorError) -> [GraphValue] {
        switch (inputs.first ?? nil, isBoolean) {
        case (.float(let x)?, true): return [.integer(try IntegerTensor(shape: x.shape, values: x.scalars.map { $0 != 0 ? 1 : 0 }))]
        case (.integer(let x)?, true): return [.integer(try IntegerTensor(shape: x.shape, values: x.values.map { $0 != 0 ? 1 : 0 }))]
        default: break
        }
        switch (inputs.first ?? nil, target) {
        case (.float(let x)?, .float32): return [.float(x)]
        case (.integer(let x)?, .int64): return [.integer(x)]
        case (.float(let x)?, .int64):
            guard x.scalars.allSatisfy({ $0.isFinite && abs($0) < 9.2e18 }) else {
                throw .invalidShape("Cast of a non-finite or out-of-range float to int64")
            }
            return [.integer(try IntegerTensor(shape: x.shape, values: x.scalars.map { Int64($0) }))]
        case (.integer(let x)?, .float32):
            return [.float(try Tensor(shape: x.shape, scalars: x.values.map { Float($0) }))]
        case (nil, _): throw .shapeMismatch("missing input")
        }
    }

    func backward(
        _ inputs: [GraphValue?], outputs: [GraphValue], outputGradients: [Tensor?], wanted: [Bool]
    ) throws(TensorError) -> [Tensor?] {
        guard case .float? = inputs.first ?? nil, target == .float32 else { return [nil] }
        return [outputGradients.first ?? nil]
    }
}
