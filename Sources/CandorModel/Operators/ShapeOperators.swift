import CandorTensor

/// `Identity`: passes its input through (float or integer).
struct IdentityOperator: Operator {
    var attributionRules: AttributionRules { .structural }

    func forward(_ inputs: [GraphValue?]) throws(TensorError) -> [GraphValue] {
        guard let value = inputs.first ?? nil else { throw .shapeMismatch("missing input") }
        return [value]
    }

    func backward(
        _ inputs: [GraphValue?], outputs: [GraphValue], outputGradients: [Tensor?], wanted: [Bool]
    ) throws(TensorError) -> [Tensor?] {
        [outputGradients.first ?? nil]
    }
}

/// An operator that only changes the shape of a float tensor: its VJP reshapes the gradient
/// back to the input's shape.
protocol ReshapingOperator: Operator {
    func outputShape(for inputs: [GraphValue?]) throws(TensorError) -> [Int]
}

extension ReshapingOperator {
    func forward(_ inputs: [GraphValue?]) throws(TensorError) -> [GraphValue] {
        let shape = try outputShape(for: inputs)
        switch inputs.first ?? nil {
        case .float(let x)?: return [.float(try x.reshaped(to: shape))]
        case .integer(let x)?: return [.integer(try IntegerTensor(shape: shape, values: x.values))]
        case nil: throw .shapeMismatch("missing input")
        }
    }

    func backward(
        _ inputs: [GraphValue?], outputs: [GraphValue], outputGradients: [Tensor?], wanted: [Bool]
    ) throws(TensorError) -> [Tensor?] {
        let x = try inputs.float(0, "data")
        guard let g = outputGradients.first ?? nil else { return [nil] }
        return [try g.reshaped(to: x.shape)]
    }
}

/// `Flatten`: reshapes to 2-D, [product of axes before `axis`, product of the rest].
struct FlattenOperator: ReshapingOperator {
    var attributionRules: AttributionRules { .structural }

    let axis: Int

    init(attributes: inout NodeAttributes) throws(ModelError) {
        axis = try attributes.int("axis", default: 1)
    }

    func outputShape(for inputs: [GraphValue?]) throws(TensorError) -> [Int] {
        guard let shape = inputs.first??.shape else { throw .shapeMismatch("missing input") }
        guard axis >= -shape.count, axis <= shape.count else {
            throw .invalidAxis("Flatten axis \(axis) is out of range for rank \(shape.count)")
        }
        let split = axis < 0 ? axis + shape.count : axis
        return [shape[..<split].reduce(1, *), shape[split...].reduce(1, *)]
    }
}

/// `Reshape` (opset 5+): the target shape is the second input; 0 copies the input's extent
/// (unless `allowzero`), −1 is inferred from the element count.
struct ReshapeOperator: ReshapingOperator {
    var attributionRules: AttributionRules { .structural }

    let allowsZero: Bool

    init(attributes: inout NodeAttributes, context: OperatorContext) throws(ModelError) {
        guard context.opset >= 5 else {
            throw ModelError(.unsupportedAttribute, "\(context.node): Reshape before opset 5 (shape as an attribute) is not supported")
        }
        allowsZero = try attributes.int("allowzero", default: 0) != 0
    }

    func outputShape(for inputs: [GraphValue?]) throws(TensorError) -> [Int] {
        guard let input = inputs.first ?? nil else { throw .shapeMismatch("missing input data") }
        guard case .integer(let requested)? = inputs.count > 1 ? inputs[1] : nil else {
            throw .shapeMismatch("Reshape's shape input must be an int64 tensor")
        }
        let inputShape = input.shape
        var shape: [Int] = []
        var inferredAxis: Int?
        for (axis, value) in requested.values.enumerated() {
            switch value {
            case -1:
                guard inferredAxis == nil else { throw .invalidShape("Reshape shape \(requested.values) has more than one -1") }
                inferredAxis = axis
                shape.append(1)
            case 0 where !allowsZero:
                guard axis < inputShape.count else {
                    throw .invalidShape("Reshape shape \(requested.values) copies axis \(axis) of a rank-\(inputShape.count) input")
                }
                shape.append(inputShape[axis])
            default:
                guard value >= 0, let extent = Int(exactly: value) else {
                    throw .invalidShape("Reshape shape \(requested.values) has a negative extent")
                }
                shape.append(extent)
            }
        }
        let total = try inputShape.checkedElementCount()
        if let inferredAxis {
            let known = try shape.checkedElementCount()
            guard known > 0, total % known == 0 else {
                throw .shapeMismatch("cannot reshape \(inputShape) to \(requested.values)")
            }
            shape[inferredAxis] = total / known
        }
        guard try shape.checkedElementCount() == total else {
            throw .shapeMismatch("cannot reshape \(inputShape) (\(total) elements) to \(shape)")
        }
        return shape
    }
}

/// `Constant`: a value fixed in the node's attributes, computed once at load time.
struct ConstantOperator: Operator {
    var attributionRules: AttributionRules { .structural }

    let value: GraphValue

    init(
        attributes: inout NodeAttributes, context: OperatorContext,
        decode: (Onnx_TensorProto) throws(ModelError) -> GraphValue
    ) throws(ModelError) {
        for unsupported in ["sparse_value", "value_string", "value_strings"] {
            try attributes.refuse(unsupported, reason: "Candor computes on float and int64 tensors only")
        }
        if let tensor = try attributes.tensor("value") {
            value = try decode(tensor)
            return
        }
        let scalarFloat = attributes.has("value_float") ? try attributes.float("value_float", default: 0) : nil
        let floats = try attributes.floats("value_floats")
        let scalarInt = attributes.has("value_int") ? try attributes.int("value_int", default: 0) : nil
        let ints = try attributes.ints("value_ints")
        var found: GraphValue?
        do throws(TensorError) {
            if let scalarFloat {
                found = .float(Tensor(scalar: scalarFloat))
            } else if let floats {
                found = .float(try Tensor(shape: [floats.count], scalars: floats))
            } else if let scalarInt {
                found = .integer(try IntegerTensor(shape: [], values: [Int64(scalarInt)]))
            } else if let ints {
                found = .integer(try IntegerTensor(shape: [ints.count], values: ints))
            }
        } catch {
            throw ModelError.atNode(context.node, error)
        }
        guard let found else { throw ModelError(.invalidModel, "\(context.node) has no value attribute") }
        value = found
    }

    func forward(_ inputs: [GraphValue?]) throws(TensorError) -> [GraphValue] { [value] }

    func backward(
        _ inputs: [GraphValue?], outputs: [GraphValue], outputGradients: [Tensor?], wanted: [Bool]
    ) throws(TensorError) -> [Tensor?] { [] }
}

/// `Squeeze` and `Unsqueeze`: remove or insert axes of extent 1 (axes as an attribute before
/// opset 13, an input from it; Squeeze without axes removes every extent-1 axis).
struct SqueezeOperator: ReshapingOperator {
    var attributionRules: AttributionRules { .structural }

    let inserts: Bool
    let attributeAxes: [Int]?
    let axesAreInput: Bool

    init(inserts: Bool, attributes: inout NodeAttributes, context: OperatorContext) throws(ModelError) {
        self.inserts = inserts
        axesAreInput = context.opset >= 13
        attributeAxes = axesAreInput ? nil : try attributes.ints("axes").map { $0.map { Int(clamping: $0) } }
    }

    func outputShape(for inputs: [GraphValue?]) throws(TensorError) -> [Int] {
        guard let shape = inputs.first??.shape else { throw .shapeMismatch("missing input data") }
        let axes = axesAreInput ? try inputs.integers(1, "axes") : attributeAxes
        if inserts {
            guard let axes else { throw .shapeMismatch("Unsqueeze needs axes") }
            let rank = shape.count + axes.count
            let resolved = Set(try axes.map { axis throws(TensorError) in try normalizedAxis(axis, rank: rank) })
            guard resolved.count == axes.count else { throw .invalidAxis("Unsqueeze axes \(axes) repeat") }
            var remaining = shape.makeIterator()
            return (0..<rank).map { resolved.contains($0) ? 1 : remaining.next() ?? 1 }
        }
        guard let axes, !axes.isEmpty else { return shape.filter { $0 != 1 } }
        let resolved = Set(try axes.map { axis throws(TensorError) in try normalizedAxis(axis, rank: shape.count) })
        for axis in resolved where shape[axis] != 1 { throw .invalidShape("Squeeze axis \(axis) has extent \(shape[axis]), not 1") }
        return shape.enumerated().filter { !resolved.contains($0.offset) }.map(\.element)
    }
}

/// `Shape`: the input's shape as int64 (axes `start` to `end`, opset 15). No gradient.
struct ShapeOperator: Operator {
    var attributionRules: AttributionRules { .structural }

    let start: Int
    let end: Int?

    init(attributes: inout NodeAttributes) throws(ModelError) {
        start = try attributes.int("start", default: 0)
        end = attributes.has("end") ? try attributes.int("end", default: 0) : nil
    }

    func forward(_ inputs: [GraphValue?]) throws(TensorError) -> [GraphValue] {
        guard let shape = inputs.first??.shape else { throw .shapeMismatch("missing input data") }
        let rank = shape.count
        func clamp(_ value: Int) -> Int { Swift.min(Swift.max(value < 0 ? value + rank : value, 0), rank) }
        let lower = clamp(start)
        let upper = Swift.max(lower, clamp(end ?? rank))
        let values = shape[lower..<upper].map { Int64($0) }
        return [.integer(try IntegerTensor(shape: [values.count], values: values))]
    }

    func backward(
        _ inputs: [GraphValue?], outputs: [GraphValue], outputGradients: [Tensor?], wanted: [Bool]
    ) throws(TensorError) -> [Tensor?] { [nil] }
}

/// `Expand`: the input broadcast (NumPy rules, both ways) against the `shape` input — a
/// dimension of 1 in `shape` keeps the input's extent. Its VJP sums the gradient back over
/// the broadcast axes, so DeepLIFT passes through it and LRP shares relevance among the
/// copies, conserving it.
/// Reference: https://onnx.ai/onnx/operators/onnx__Expand.html
struct ExpandOperator: Operator {
    var attributionRules: AttributionRules { .structural }

    func forward(_ inputs: [GraphValue?]) throws(TensorError) -> [GraphValue] {
        let x = try inputs.float(0, "input")
        guard let requested = try inputs.integers(1, "shape") else { throw .shapeMismatch("Expand needs its shape input") }
        guard requested.allSatisfy({ $0 >= 0 }) else { throw .invalidShape("Expand to a negative extent: \(requested)") }
        // Broadcasting.shape bounds the element count before anything is allocated.
        let shape = try Broadcasting.shape(x.shape, requested)
        return [.float(try Broadcasting.apply(x, try Tensor(repeating: 0, shape: shape)) { value, _ in value })]
    }

    func backward(
        _ inputs: [GraphValue?], outputs: [GraphValue], outputGradients: [Tensor?], wanted: [Bool]
    ) throws(TensorError) -> [Tensor?] {
        let x = try inputs.float(0, "input")
        guard let g = outputGradients.first ?? nil else { return [nil, nil] }
        return [try Broadcasting.reduce(g, toShape: x.shape), nil]
    }
}
