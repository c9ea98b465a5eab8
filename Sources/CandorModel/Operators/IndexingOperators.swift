import CandorTensor

/// `Transpose`: axes permuted by `perm` (default: reversed).
/// Reference: https://onnx.ai/onnx/operators/onnx__Transpose.html
struct TransposeOperator: IndexMapOperator {
    let permutation: [Int]?

    init(attributes: inout NodeAttributes) throws(ModelError) {
        permutation = try attributes.ints("perm").map { $0.map { Int(clamping: $0) } }
    }

    func map(_ inputs: [GraphValue?]) throws(TensorError) -> IndexMap {
        guard let shape = inputs.first??.shape else { throw .shapeMismatch("missing input data") }
        let perm = permutation ?? Array((0..<shape.count).reversed())
        guard perm.sorted() == Array(0..<shape.count) else {
            throw .invalidAxis("Transpose perm \(perm) is not a permutation of \(shape.count) axes")
        }
        return try IndexMap(input: shape, output: perm.map { shape[$0] }) { index in
            var source = [Int](repeating: 0, count: perm.count)
            for (axis, from) in perm.enumerated() { source[from] = index[axis] }
            return source
        }
    }
}

/// `Slice` (opset 10+: starts, ends, axes and steps as inputs; before it as attributes), with
/// ONNX's clamping of out-of-range starts and ends and negative steps.
/// Reference: https://onnx.ai/onnx/operators/onnx__Slice.html
struct SliceOperator: IndexMapOperator {
    let attributeBounds: (starts: [Int], ends: [Int], axes: [Int]?)?

    init(attributes: inout NodeAttributes, context: OperatorContext) throws(ModelError) {
        if context.opset < 10 {
            let starts = try attributes.ints("starts") ?? []
            let ends = try attributes.ints("ends") ?? []
            let axes = try attributes.ints("axes")
            attributeBounds = (starts.map { Int(clamping: $0) }, ends.map { Int(clamping: $0) }, axes?.map { Int(clamping: $0) })
        } else {
            attributeBounds = nil
        }
    }

    func map(_ inputs: [GraphValue?]) throws(TensorError) -> IndexMap {
        guard let shape = inputs.first??.shape else { throw .shapeMismatch("missing input data") }
        let starts: [Int]
        let ends: [Int]
        let axes: [Int]
        var steps: [Int] = []
        if let attributeBounds {
            starts = attributeBounds.starts
            ends = attributeBounds.ends
            axes = attributeBounds.axes ?? Array(0..<starts.count)
        } else {
            starts = try inputs.integers(1, "starts") ?? []
            ends = try inputs.integers(2, "ends") ?? []
            axes = try inputs.integers(3, "axes") ?? Array(0..<starts.count)
            steps = try inputs.integers(4, "steps") ?? []
        }
        guard starts.count == ends.count, axes.count == starts.count, steps.isEmpty || steps.count == starts.count else {
            throw .shapeMismatch("Slice's starts, ends, axes and steps differ in length")
        }
        var first = [Int](repeating: 0, count: shape.count)
        var step = [Int](repeating: 1, count: shape.count)
        var extent = shape
        var seen = Set<Int>()
        for position in starts.indices {
            let axis = try normalizedAxis(axes[position], rank: shape.count)
            guard seen.insert(axis).inserted else { throw .invalidAxis("Slice names axis \(axis) twice") }
            let dimension = shape[axis]
            // Steps beyond the axis extent take one element, like a step of the extent + 1.
            let stride: Int = Swift.min(Swift.max(steps.isEmpty ? 1 : steps[position], -(dimension + 1)), dimension + 1)
            guard stride != 0 else { throw .invalidShape("Slice step 0") }
            // Clamped before the arithmetic, so INT64_MIN/MAX bounds cannot overflow.
            let bound = dimension + 1
            var start = Swift.min(Swift.max(starts[position], -bound), bound)
            var end = Swift.min(Swift.max(ends[position], -2 * bound), 2 * bound)
            if start < 0 { start += dimension }
            if end < 0 { end += dimension }
            if stride > 0 {
                start = Swift.min(Swift.max(start, 0), dimension)
                end = Swift.min(Swift.max(end, 0), dimension)
                extent[axis] = Swift.max(0, (end - start + stride - 1) / stride)
            } else {
                start = Swift.min(Swift.max(start, 0), dimension - 1)
                end = Swift.min(Swift.max(end, -1), dimension - 1)
                extent[axis] = Swift.max(0, (start - end - stride - 1) / -stride)
            }
            first[axis] = start
            step[axis] = stride
        }
        return try IndexMap(input: shape, output: extent) { index in
            (0..<index.count).map { first[$0] + index[$0] * step[$0] }
        }
    }
}

/// `Gather`: the entries of `data` along `axis` at `indices` (negative ones count from the end).
/// Reference: https://onnx.ai/onnx/operators/onnx__Gather.html
struct GatherOperator: IndexMapOperator {
    let axis: Int

    init(attributes: inout NodeAttributes) throws(ModelError) {
        axis = try attributes.int("axis", default: 0)
    }

    func map(_ inputs: [GraphValue?]) throws(TensorError) -> IndexMap {
        guard let shape = inputs.first??.shape else { throw .shapeMismatch("missing input data") }
        guard case .integer(let indices)? = inputs.count > 1 ? inputs[1] : nil else {
            throw .shapeMismatch("Gather's indices must be an int64 tensor")
        }
        let axis = try normalizedAxis(axis, rank: shape.count)
        let dimension = shape[axis]
        let resolved = try indices.values.map { value throws(TensorError) -> Int in
            let index = Int(clamping: value)
            guard index >= -dimension, index < dimension else {
                throw .invalidShape("Gather index \(index) is out of range for \(dimension)")
            }
            return index < 0 ? index + dimension : index
        }
        let indexStrides = IndexMap.strides(indices.shape)
        let output = Array(shape[..<axis]) + indices.shape + Array(shape[(axis + 1)...])
        return try IndexMap(input: shape, output: output) { index in
            let inner = index[axis..<(axis + indices.shape.count)]
            let flat = zip(inner, indexStrides).reduce(0) { $0 + $1.0 * $1.1 }
            return Array(index[..<axis]) + [resolved[flat]] + Array(index[(axis + indices.shape.count)...])
        }
    }
}

/// `Pad` (opset 11+: pads, constant_value and axes as inputs; before it, attributes):
/// `constant`, `reflect` and `edge` modes; negative pads crop.
/// Reference: https://onnx.ai/onnx/operators/onnx__Pad.html
struct PadOperator: IndexMapOperator {
    enum Mode: String { case constant, reflect, edge }
    let mode: Mode
    let attributePads: [Int]?
    let attributeValue: Float

    init(attributes: inout NodeAttributes, context: OperatorContext) throws(ModelError) {
        let name = try attributes.string("mode") ?? "constant"
        guard let mode = Mode(rawValue: name) else {
            throw ModelError(.unsupportedAttribute, "\(context.node): Pad mode '\(name)' is not constant, reflect or edge")
        }
        self.mode = mode
        attributePads = context.opset < 11 ? try attributes.ints("pads").map { $0.map { Int(clamping: $0) } } ?? [] : nil
        attributeValue = context.opset < 11 ? try attributes.float("value", default: 0) : 0
    }

    func fill(_ inputs: [GraphValue?]) throws(TensorError) -> Float {
        if attributePads != nil { return attributeValue }
        return try inputs.optionalFloat(2, "constant_value")?.scalars.first ?? 0
    }

    func map(_ inputs: [GraphValue?]) throws(TensorError) -> IndexMap {
        guard let shape = inputs.first??.shape else { throw .shapeMismatch("missing input data") }
        var pads: [Int] = attributePads ?? []
        var axes: [Int]?
        if attributePads == nil {
            pads = try inputs.integers(1, "pads") ?? []
            axes = try inputs.integers(3, "axes")
        }
        let resolvedAxes = try (axes ?? Array(0..<shape.count)).map { axis throws(TensorError) in
            try normalizedAxis(axis, rank: shape.count)
        }
        guard pads.count == 2 * resolvedAxes.count else {
            throw .shapeMismatch("Pad has \(pads.count) pads for \(resolvedAxes.count) axes")
        }
        guard pads.allSatisfy({ (-Tensor.maximumElementCount...Tensor.maximumElementCount).contains($0) }) else {
            throw .tooLarge("Pad's pads \(pads) are too large")
        }
        var begin = [Int](repeating: 0, count: shape.count)
        var end = [Int](repeating: 0, count: shape.count)
        for (position, axis) in resolvedAxes.enumerated() {
            begin[axis] = pads[position]
            end[axis] = pads[position + resolvedAxes.count]
        }
        let output = try (0..<shape.count).map { axis throws(TensorError) -> Int in
            let extent = shape[axis] + begin[axis] + end[axis]
            guard extent >= 0 else { throw .invalidShape("Pad crops axis \(axis) below zero") }
            if mode == .reflect, begin[axis] >= shape[axis] || end[axis] >= shape[axis] {
                throw .invalidShape("reflect padding needs pads smaller than the axis (\(shape[axis]))")
            }
            if mode != .constant, shape[axis] == 0, extent > 0 { throw .invalidShape("cannot \(mode.rawValue)-pad an empty axis") }
            return extent
        }
        return try IndexMap(input: shape, output: output) { index in
            var source = [Int](repeating: 0, count: index.count)
            for axis in index.indices {
                var position = index[axis] - begin[axis]
                let extent = shape[axis]
                if position < 0 || position >= extent {
                    switch mode {
                    case .constant: return nil
                    case .edge: position = Swift.min(Swift.max(position, 0), extent - 1)
                    case .reflect:
                        let period = 2 * (extent - 1)
                        position = period == 0 ? 0 : ((position % period) + period) % period
                        if position >= extent { position = period - position }
                    }
                }
                source[axis] = position
            }
            return source
        }
    }
}

/// `Concat`: the inputs joined along `axis` (float or int64, all alike).
/// Reference: https://onnx.ai/onnx/operators/onnx__Concat.html
struct ConcatOperator: Operator {
    let axis: Int

    init(attributes: inout NodeAttributes) throws(ModelError) {
        axis = try attributes.int("axis", default: 1)
    }

    /// The resolved axis and each input's extent along it.
    private func layout(_ shapes: [[Int]]) throws(TensorError) -> (axis: Int, extents: [Int], outer: Int, inner: Int) {
        guard let first = shapes.first else { throw .shapeMismatch("Concat has no inputs") }
        let axis = try normalizedAxis(axis, rank: first.count)
        for shape in shapes where shape.count != first.count || (0..<first.count).contains(where: { $0 != axis && shape[$0] != first[$0] })
        {
            throw .shapeMismatch("Concat inputs \(shapes) differ off axis \(axis)")
        }
        return (axis, shapes.map { $0[axis] }, first[..<axis].reduce(1, *), first[(axis + 1)...].reduce(1, *))
    }

    func forward(_ inputs: [GraphValue?]) throws(TensorError) -> [GraphValue] {
        let values = inputs.compactMap { $0 }
        let (axis, extents, outer, inner) = try layout(values.map(\.shape))
        var shape = values[0].shape
        shape[axis] = extents.reduce(0, +)
        func join<Element>(_ parts: [[Element]]) -> [Element] {
            var result: [Element] = []
            result.reserveCapacity(outer * shape[axis] * inner)
            for block in 0..<outer {
                for (part, extent) in zip(parts, extents) {
                    result += part[(block * extent * inner)..<((block + 1) * extent * inner)]
                }
            }
            return result
        }
        if values.allSatisfy({ $0.elementType == .float32 }) {
            return [.float(try Tensor(shape: shape, scalars: join(values.compactMap { $0.floatTensor?.scalars })))]
        }
        let integers = values.compactMap { value -> [Int64]? in if case .integer(let x) = value { x.values } else { nil } }
        guard integers.count == values.count else { throw .shapeMismatch("Concat mixes float and int64 inputs") }
        return [.integer(try IntegerTensor(shape: shape, values: join(integers)))]
    }

    func backward(
        _ inputs: [GraphValue?], outputs: [GraphValue], outputGradients: [Tensor?], wanted: [Bool]
    ) throws(TensorError) -> [Tensor?] {
        let shapes = inputs.map { $0?.shape ?? [] }
        let (axis, extents, outer, inner) = try layout(shapes.filter { !$0.isEmpty })
        guard let g = outputGradients.first ?? nil else { return shapes.map { _ in nil } }
        let total = extents.reduce(0, +)
        var offset = 0
        var gradients: [Tensor?] = []
        for input in inputs {
            guard let shape = input?.shape, input?.elementType == .float32 else {
                gradients.append(nil)
                continue
            }
            let extent = shape[axis]
            var scalars: [Float] = []
            scalars.reserveCapacity(outer * extent * inner)
            for block in 0..<outer {
                let start = (block * total + offset) * inner
                scalars += g.scalars[start..<(start + extent * inner)]
            }
            offset += extent
            gradients.append(try Tensor(shape: shape, scalars: scalars))
        }
        return gradients
    }
}
