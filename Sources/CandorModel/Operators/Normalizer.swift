import CandorTensor

/// `Normalizer` (ai.onnx.ml): each row divided by its maximum (`MAX`), its sum of absolute
/// values (`L1`) or its Euclidean length (`L2`) — scikit-learn's `Normalizer`, and the L1
/// renormalisation skl2onnx puts after a multinomial logistic regression.
/// Reference: https://onnx.ai/onnx/operators/onnx_aionnxml_Normalizer.html
struct NormalizerOperator: Operator {
    enum Norm: String { case max = "MAX", l1 = "L1", l2 = "L2" }
    let norm: Norm

    var attributionRules: AttributionRules { AttributionRules(deepLift: .gradient, lrp: .noCaptumRule("ai.onnx.ml preprocessing")) }

    init(attributes: inout NodeAttributes, context: OperatorContext) throws(ModelError) {
        let name = try attributes.string("norm") ?? "MAX"
        guard let norm = Norm(rawValue: name) else {
            throw ModelError(.unsupportedAttribute, "\(context.node): norm '\(name)' is not MAX, L1 or L2")
        }
        self.norm = norm
    }

    private func divisor(_ row: ArraySlice<Float>) -> Float {
        switch norm {
        case .max: row.max() ?? 1
        case .l1: row.reduce(0) { $0 + abs($1) }
        case .l2: row.reduce(0) { $0 + $1 * $1 }.squareRoot()
        }
    }

    func forward(_ inputs: [GraphValue?]) throws(TensorError) -> [GraphValue] {
        let x = try inputs.float(0, "X")
        let width = max(x.shape.last ?? 1, 1)
        var y = x
        for start in stride(from: 0, to: x.count, by: width) {
            let n = divisor(x.scalars[start..<(start + width)])
            for index in start..<(start + width) { y.scalars[index] = x.scalars[index] / n }
        }
        return [.float(y)]
    }

    /// With y = x / n(x): ∂L/∂x = g / n − (Σ g·x / n²) · ∂n/∂x, where ∂n/∂x is the indicator of
    /// the maximum (MAX), sign(x) (L1) or x / n (L2).
    func backward(
        _ inputs: [GraphValue?], outputs: [GraphValue], outputGradients: [Tensor?], wanted: [Bool]
    ) throws(TensorError) -> [Tensor?] {
        let x = try inputs.float(0, "X")
        let g = outputGradients.firstGradient(like: try outputs.firstFloat())
        let width = max(x.shape.last ?? 1, 1)
        var result = g
        for start in stride(from: 0, to: x.count, by: width) {
            let row = x.scalars[start..<(start + width)]
            let n = divisor(row)
            let projection = (start..<(start + width)).reduce(Float(0)) { $0 + g.scalars[$1] * x.scalars[$1] } / (n * n)
            let top = row.indices.max { x.scalars[$0] < x.scalars[$1] } ?? start
            for index in start..<(start + width) {
                let slope: Float =
                    switch norm {
                    case .max: index == top ? 1 : 0
                    case .l1: x.scalars[index] > 0 ? 1 : x.scalars[index] < 0 ? -1 : 0
                    case .l2: x.scalars[index] / n
                    }
                result.scalars[index] = g.scalars[index] / n - projection * slope
            }
        }
        return [result]
    }
}
