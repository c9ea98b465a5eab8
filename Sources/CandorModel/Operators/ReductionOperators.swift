import CandorTensor

/// `ReduceSum`, `ReduceMean`, `ReduceMax`, `ReduceMin` and `ReduceL2` over `axes` (an
/// attribute before opset 13 for ReduceSum and 18 for the others, an input from then),
/// `keepdims`, and `noop_with_empty_axes`.
///
/// Gradients: the sum and mean spread g evenly; the maximum and minimum route g to the
/// elements that attain them, shared equally among ties (as PyTorch's `amax`/`amin`, which
/// the exporters write as ReduceMax/ReduceMin); the L2 norm passes g · x / ‖x‖ (0 where the
/// norm is 0). DeepLIFT keeps all of them (Captum hooks none); LRP has the ε rule for
/// ReduceMean only (a spatial mean is average pooling) and refuses the others.
/// Reference: https://onnx.ai/onnx/operators/onnx__ReduceMean.html,
/// https://onnx.ai/onnx/operators/onnx__ReduceMax.html
struct ReduceOperator: Operator {
    enum Kind: String, Sendable {
        case sum = "ReduceSum", mean = "ReduceMean", max = "ReduceMax", min = "ReduceMin", l2 = "ReduceL2"
    }
    let kind: Kind

    var attributionRules: AttributionRules {
        switch kind {
        case .mean: AttributionRules(deepLift: .gradient, lrp: .epsilon)
        case .sum, .max, .min, .l2:
            AttributionRules(
                deepLift: .gradient,
                lrp: .refused(
                    reason: "among reductions LRP has a rule for the mean only, a spatial mean being average pooling (Captum's EpsilonRule)"
                ))
        }
    }

    let attributeAxes: [Int]?
    let axesAreInput: Bool
    let keepsDimensions: Bool
    let noopWithoutAxes: Bool

    init(kind: Kind, attributes: inout NodeAttributes, context: OperatorContext) throws(ModelError) {
        self.kind = kind
        axesAreInput = context.opset >= (kind == .sum ? 13 : 18)
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
        let outputCount = try output.checkedElementCount()
        var values: [Float]
        switch kind {
        case .sum, .mean, .l2:
            values = [Float](repeating: 0, count: outputCount)
            let square = kind == .l2
            for (index, target) in positions.sources.enumerated() {
                let value = x.scalars[index]
                values[target] += square ? value * value : value
            }
            // The mean of no elements is NaN, as ONNX defines it (0 / 0).
            if kind == .mean { values = values.map { $0 / Float(count) } }
            if square { values = values.map { $0.squareRoot() } }
        case .max, .min:
            // Over no elements the maximum is −∞ and the minimum +∞, as ONNX defines them.
            let isMaximum = kind == .max
            values = [Float](repeating: isMaximum ? -.infinity : .infinity, count: outputCount)
            for (index, target) in positions.sources.enumerated() {
                let value = x.scalars[index]
                if isMaximum ? value > values[target] : value < values[target] { values[target] = value }
            }
        }
        return [.float(try Tensor(shape: output, scalars: values))]
    }

    func backward(
        _ inputs: [GraphValue?], outputs: [GraphValue], outputGradients: [Tensor?], wanted: [Bool]
    ) throws(TensorError) -> [Tensor?] {
        let x = try inputs.float(0, "data")
        let y = try outputs.firstFloat()
        let g = outputGradients.firstGradient(like: y)
        guard let axes = try axes(inputs, rank: x.rank) else { return [g, nil] }
        let (positions, _, count) = try layout(x.shape, axes: axes)
        let sources = positions.sources
        let scalars: [Float]
        switch kind {
        case .sum, .mean:
            let scale: Float = kind == .mean && count > 0 ? 1 / Float(count) : 1
            scalars = sources.map { g.scalars[$0] * scale }
        case .l2:
            scalars = sources.enumerated().map { index, target in
                y.scalars[target] > 0 ? g.scalars[target] * x.scalars[index] / y.scalars[target] : 0
            }
        case .max, .min:
            var ties = [Float](repeating: 0, count: y.count)
            for (index, target) in sources.enumerated() where x.scalars[index] == y.scalars[target] { ties[target] += 1 }
            scalars = sources.enumerated().map { index, target in
                x.scalars[index] == y.scalars[target] ? g.scalars[target] / ties[target] : 0
            }
        }
        return [try Tensor(shape: x.shape, scalars: scalars), nil]
    }
}
