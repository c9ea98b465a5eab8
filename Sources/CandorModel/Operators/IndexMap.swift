import CandorTensor

/// A rearrangement of a tensor's elements: output element i is input element `sources[i]`,
/// or the fill value where it is −1. Transpose, Slice, Gather and Pad are each one such map,
/// so each runs on float and int64 data alike, and its VJP adds each output gradient back
/// onto its source (sources repeat under Gather and reflect/edge padding).
struct IndexMap {
    let outputShape: [Int]
    let sources: [Int]

    /// Row-major strides of a shape.
    static func strides(_ shape: [Int]) -> [Int] {
        var strides = [Int](repeating: 1, count: shape.count)
        for axis in stride(from: shape.count - 2, through: 0, by: -1) { strides[axis] = strides[axis + 1] * shape[axis + 1] }
        return strides
    }

    /// Steps a row-major multi-index within `shape` to the next element, last axis fastest.
    static func advance(_ index: inout [Int], in shape: [Int]) {
        var axis = shape.count - 1
        while axis >= 0 {
            index[axis] += 1
            if index[axis] < shape[axis] { return }
            index[axis] = 0
            axis -= 1
        }
    }

    /// Builds the map by calling `source(outputIndex)` with each output element's
    /// multi-index; it returns the source's multi-index in `input`, or nil for the fill.
    init(input: [Int], output: [Int], source: ([Int]) -> [Int]?) throws(TensorError) {
        let count = try output.checkedElementCount()
        let inputStrides = Self.strides(input)
        var sources = [Int](repeating: -1, count: count)
        var index = [Int](repeating: 0, count: output.count)
        for flat in 0..<count {
            if let position = source(index) {
                sources[flat] = zip(position, inputStrides).reduce(0) { $0 + $1.0 * $1.1 }
            }
            Self.advance(&index, in: output)
        }
        self.outputShape = output
        self.sources = sources
    }

    /// A map whose source is affine in the output's multi-index, `offset` + Σₖ index[k] ·
    /// `sourceStrides`[k] (Transpose, Slice), built with a running sum: no per-element
    /// allocation, which the closure form costs (a transformer transposes every activation
    /// twice per head split).
    init(output: [Int], sourceStrides: [Int], offset: Int = 0) throws(TensorError) {
        let count = try output.checkedElementCount()
        var sources = [Int](repeating: 0, count: count)
        guard count > 0 else {
            self.outputShape = output
            self.sources = sources
            return
        }
        let rank = output.count
        guard rank > 0 else {
            sources[0] = offset
            self.outputShape = output
            self.sources = sources
            return
        }
        var index = [Int](repeating: 0, count: rank)
        var source = offset
        let (inner, innerStride) = (output[rank - 1], sourceStrides[rank - 1])
        var flat = 0
        sources.withUnsafeMutableBufferPointer { sources in
            while flat < count {
                for position in 0..<inner { sources[flat + position] = source + position * innerStride }
                flat += inner
                // The odometer over the outer axes.
                var axis = rank - 2
                while axis >= 0 {
                    index[axis] += 1
                    source += sourceStrides[axis]
                    if index[axis] < output[axis] { break }
                    source -= sourceStrides[axis] * output[axis]
                    index[axis] = 0
                    axis -= 1
                }
            }
        }
        self.outputShape = output
        self.sources = sources
    }

    /// The map of a gather along `axis` of `input` at the (resolved, in-range) `positions`,
    /// laid out as `positionsShape`: blocks of the inner axes copied whole.
    init(gathering positions: [Int], positionsShape: [Int], along axis: Int, of input: [Int]) throws(TensorError) {
        let output = Array(input[..<axis]) + positionsShape + Array(input[(axis + 1)...])
        let count = try output.checkedElementCount()
        let outer = input[..<axis].reduce(1, *)
        let inner = input[(axis + 1)...].reduce(1, *)
        var sources = [Int]()
        sources.reserveCapacity(count)
        for block in 0..<outer {
            for position in positions {
                let start = (block * input[axis] + position) * inner
                for element in 0..<inner { sources.append(start + element) }
            }
        }
        self.outputShape = output
        self.sources = sources
    }

    func apply(_ value: GraphValue, fill: Float = 0) throws(TensorError) -> GraphValue {
        switch value {
        case .float(let x):
            return .float(try Tensor(shape: outputShape, scalars: sources.map { $0 >= 0 ? x.scalars[$0] : fill }))
        case .integer(let x):
            guard let integerFill = Int64(exactly: fill.rounded(.towardZero)) else {
                throw .invalidShape("the fill value \(fill) is not an int64")
            }
            return .integer(try IntegerTensor(shape: outputShape, values: sources.map { $0 >= 0 ? x.values[$0] : integerFill }))
        }
    }

    /// ∂L/∂input given ∂L/∂output.
    func gradient(_ g: Tensor, inputShape: [Int]) throws(TensorError) -> Tensor {
        var result = try Tensor(repeating: 0, shape: inputShape)
        for (index, source) in sources.enumerated() where source >= 0 { result.scalars[source] += g.scalars[index] }
        return result
    }
}

/// An operator defined by an `IndexMap` of its first input (the other inputs only say how).
protocol IndexMapOperator: Operator {
    func map(_ inputs: [GraphValue?]) throws(TensorError) -> IndexMap
    /// The value where the map has no source (Pad's constant).
    func fill(_ inputs: [GraphValue?]) throws(TensorError) -> Float
}

extension IndexMapOperator {
    func fill(_ inputs: [GraphValue?]) throws(TensorError) -> Float { 0 }

    func forward(_ inputs: [GraphValue?]) throws(TensorError) -> [GraphValue] {
        guard let data = inputs.first ?? nil else { throw .shapeMismatch("missing input data") }
        return [try map(inputs).apply(data, fill: try fill(inputs))]
    }

    func backward(
        _ inputs: [GraphValue?], outputs: [GraphValue], outputGradients: [Tensor?], wanted: [Bool]
    ) throws(TensorError) -> [Tensor?] {
        let x = try inputs.float(0, "data")
        guard let g = outputGradients.first ?? nil else { return [nil] }
        return [try map(inputs).gradient(g, inputShape: x.shape)] + [Tensor?](repeating: nil, count: max(inputs.count - 1, 0))
    }
}

extension Array where Element == GraphValue? {
    /// The int64 values of input `index`, or nil when it is omitted.
    func integers(_ index: Int, _ role: String) throws(TensorError) -> [Int]? {
        guard index < count, let value = self[index] else { return nil }
        guard case .integer(let tensor) = value else { throw .shapeMismatch("input \(role) must be an int64 tensor") }
        return tensor.values.map { Int(clamping: $0) }
    }
}

/// Resolves a possibly negative axis against a rank.
func normalizedAxis(_ axis: Int, rank: Int) throws(TensorError) -> Int {
    guard axis >= -rank, axis < rank else { throw .invalidAxis("axis \(axis) is out of range for rank \(rank)") }
    return axis < 0 ? axis + rank : axis
}
