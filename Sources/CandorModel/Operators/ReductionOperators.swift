import CandorTensor

/// `ReduceSum` and `ReduceMean` over `axes` (an attribute before opset 13 for ReduceSum and
/// 18 for ReduceMean, an input from then), `keepdims`, and `noop_with_empty_axes`.
/// Reference: https://onnx.ai/onnx/operators/onnx__ReduceMean.html
struct ReduceOperator: Operator {
    let isMean: Bool
    let attributeAxes: [Int]?
    let axesAreInput: Bool
    let keepsDimensions: Bool
    let noopWithoutAxes: Bool

    init(isMean: Bool, attributes: inout NodeAttributes, context: OperatorContext) throws(ModelError) {
        self.isMean = isMean
        axesAreInput = context.opset >= (isMean ? 18 : 13)
        attributeAxes = axesAreInput ? nil : try attributes.ints("axes").map { $0.map { Int(clamping: $0) } }
        keepsDimensions = try attributes.int("keepdims", default: 1) != 0
        noopWithoutAxes = try attributes.int("noop_with_empty_axes", default: 0) != 0
    }

    /// The reduced axes (sorted), or nil for the identity.
    private func axes(_ inputs: [GraphValue?], rank: Int) throws(TensorError) -> Set<Int>? {
        let given = axesAreInput ? try inputs.integers(1, "axes") : attributeAxes
        guard let given, !given.isEmpty else { return noopWithoutAxes ? nil : Set(0..<rank) }
        return Set(try given.map { axis throws(TensorError) in try normalizedAxis(axis, rank: rank) })
    }

    /// Each input element's output position, and the output shape.
    private func layout(_ shape: [Int], axes: Set<Int>) throws(TensorError) -> (positions: IndexMap, output: [Int], count: Int) {
        let kept = shape.enumerated().map { axes.contains($0.offset) ? 1 : $0.element }
        let output = keepsDimensions ? kept : shape.enumerated().filter { !axes.contains($0.offset) }.map(\.element)
        // An IndexMap from the input's shape onto the kept-dimensions output: each input
        // element's target.
        let keptStrides = IndexMap.strides(kept)
        let positions = try IndexMap(input: [kept.reduce(1, *)], output: shape) { index in
            [zip(index.enumerated().map { axes.contains($0.offset) ? 0 : $0.element }, keptStrides).reduce(0) { $0 + $1.0 * $1.1 }]
        }
        let count = axes.reduce(1) { $0 * shape[$1] }
        return (positions, output, count)
    }

    func forward(_ inputs: [GraphValue?]) throws(TensorError) -> [GraphValue] {
        let x = try inputs.float(0, "data")
        guard let axes = try axes(inputs, rank: x.rank) else { return [.float(x)] }
        let (positions, output, count) = try layout(x.shape, axes: axes)
        var values = [Float](repeating: 0, count: try output.checkedElementCount())
        for (index, target) in positions.sources.enumerated() { values[target] += x.scalars[index] }
        // The mean of no elements is NaN, as ONNX defines it (0 / 0).
        if isMean { values = values.map { $0 / Float(count) } }
        return [.float(try Tensor(shape: output, scalars: values))]
    }

    func backward(
        _ inputs: [GraphValue?], outputs: [GraphValue], outputGradients: [Tensor?], wanted: [Bool]
    ) throws(TensorError) -> [Tensor?] {
        let x = try inputs.float(0, "data")
        let g = outputGradients.firstGradient(like: try outputs.firstFloat())
        guard let axes = try axes(inputs, rank: x.rank) else { return [g, nil] }
        let (positions, _, count) = try layout(x.shape, axes: axes)
        let scale: Float = isMean && count > 0 ? 1 / Float(count) : 1
        return [try Tensor(shape: x.shape, scalars: positions.sources.map { g.scalars[$0] * scale }), nil]
    }
}
