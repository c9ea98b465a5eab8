import CandorTensor

/// `Transpose`: axes permuted by `perm` (default: reversed).
/// Reference: https://onnx.ai/onnx/operators/onnx__Transpose.html
struct TransposeOperator: IndexMapOperator {
    var attributionRules: AttributionRules { .structural }

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
        let strides = IndexMap.strides(shape)
        return try IndexMap(output: perm.map { shape[$0] }, sourceStrides: perm.map { strides[$0] })
    }
}

/// `Slice` (opset 10+: starts, ends, axes and steps as inputs; before it as attributes), with
/// ONNX's clamping of out-of-range starts and ends and negative steps.
/// Reference: https://onnx.ai/onnx/operators/onnx__Slice.html
struct SliceOperator: IndexMapOperator {
    var attributionRules: AttributionRules { .structural }

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
        let strides = IndexMap.strides(shape)
        return try IndexMap(
            output: extent, sourceStrides: zip(step, strides).map { $0 * $1 },
            offset: zip(first, strides).reduce(0) { $0 + $1.0 * $1.1 })
    }
}

/// `Gather`: the entries of `data` along `axis` at `indices` (negative ones count from the end).
/// Reference: https://onnx.ai/onnx/operators/onnx__Gather.html
struct GatherOperator: IndexMapOperator {
    var attributionRules: AttributionRules { .structural }

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
        return try IndexMap(gathering: resolved, positionsShape: indices.shape, along: axis, of: shape)
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

    var attributionRules: AttributionRules { AttributionRules(deepLift: .gradient, lrp: .noCaptumRule("padding layers")) }

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
    var attributionRules: AttributionRules { .structural }

    let axis: Int

    init(attributes: inout NodeAttributes) throws(ModelError) {
        axis = try attributes.int("axis", default: 1)
    }

    init(axis: Int) { self.axis = axis }

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
        let (axis, extents, _, _) = try layout(shapes.filter { !$0.isEmpty })
        guard let g = outputGradients.first ?? nil else { return shapes.map { _ in nil } }
        var pieces = try Self.pieces(of: g, axis: axis, extents: extents).makeIterator()
        return inputs.map { input in
            guard let input else { return nil }
            let piece = pieces.next()
            return input.elementType == .float32 ? piece : nil
        }
    }

    /// `x` cut along `axis` into consecutive pieces of the given extents (which must add up
    /// to x's extent there): Concat's VJP and Split's forward.
    static func pieces(of x: Tensor, axis: Int, extents: [Int]) throws(TensorError) -> [Tensor] {
        guard axis < x.rank, extents.reduce(0, +) == x.shape[axis], extents.allSatisfy({ $0 >= 0 }) else {
            throw .shapeMismatch("cannot cut \(x.shape) along axis \(axis) into \(extents)")
        }
        let outer = x.shape[..<axis].reduce(1, *)
        let inner = x.shape[(axis + 1)...].reduce(1, *)
        let total = x.shape[axis]
        var offset = 0
        return try extents.map { extent throws(TensorError) in
            var scalars: [Float] = []
            scalars.reserveCapacity(outer * extent * inner)
            for block in 0..<outer {
                let start = (block * total + offset) * inner
                scalars += x.scalars[start..<(start + extent * inner)]
            }
            offset += extent
            var shape = x.shape
            shape[axis] = extent
            return try Tensor(shape: shape, scalars: scalars)
        }
    }
}

/// `Split`: the input cut along `axis` into the node's outputs — by the `split` input (an
/// attribute before opset 13), or into equal parts (from opset 18 `num_outputs` of them, the
/// last one smaller when the extent does not divide). Its VJP joins the outputs' gradients
/// (zeros for an output without one), so DeepLIFT and LRP pass through it.
/// Reference: https://onnx.ai/onnx/operators/onnx__Split.html
struct SplitOperator: Operator {
    var attributionRules: AttributionRules { .structural }

    let axis: Int
    let outputCount: Int
    let attributeSplit: [Int]?

    init(attributes: inout NodeAttributes, context: OperatorContext) throws(ModelError) {
        axis = try attributes.int("axis", default: 0)
        outputCount = context.consumedOutputs.count
        attributeSplit = context.opset < 13 ? try attributes.ints("split").map { $0.map { Int(clamping: $0) } } : nil
        let parts = context.opset >= 18 ? try attributes.int("num_outputs", default: outputCount) : outputCount
        guard outputCount >= 1, parts == outputCount else {
            throw ModelError(.unsupportedAttribute, "\(context.node): Split has \(outputCount) outputs but num_outputs \(parts)")
        }
        if let attributeSplit, attributeSplit.count != outputCount {
            throw ModelError(.unsupportedAttribute, "\(context.node): split \(attributeSplit) does not give \(outputCount) extents")
        }
    }

    /// The axis and each output's extent along it.
    private func extents(_ inputs: [GraphValue?], shape: [Int]) throws(TensorError) -> (Int, [Int]) {
        let axis = try normalizedAxis(axis, rank: shape.count)
        let inputSplit = attributeSplit == nil ? try inputs.integers(1, "split") : nil
        if let given = attributeSplit ?? inputSplit {
            guard given.count == outputCount else { throw .shapeMismatch("split \(given) does not give \(outputCount) extents") }
            return (axis, given)
        }
        let extent = shape[axis]
        let part = (extent + outputCount - 1) / outputCount
        return (axis, (0..<outputCount).map { Swift.max(0, Swift.min(part, extent - $0 * part)) })
    }

    func forward(_ inputs: [GraphValue?]) throws(TensorError) -> [GraphValue] {
        let x = try inputs.float(0, "input")
        let (axis, extents) = try extents(inputs, shape: x.shape)
        return try ConcatOperator.pieces(of: x, axis: axis, extents: extents).map { .float($0) }
    }

    func backward(
        _ inputs: [GraphValue?], outputs: [GraphValue], outputGradients: [Tensor?], wanted: [Bool]
    ) throws(TensorError) -> [Tensor?] {
        let x = try inputs.float(0, "input")
        let (axis, extents) = try extents(inputs, shape: x.shape)
        let zeros = try ConcatOperator.pieces(of: Tensor(zerosLike: x), axis: axis, extents: extents)
        let parts = zeros.indices.map { index in (index < outputGradients.count ? outputGradients[index] : nil) ?? zeros[index] }
        let joined = try ConcatOperator(axis: axis).forward(parts.map { .float($0) }).firstFloat()
        return [joined, nil]
    }
}
