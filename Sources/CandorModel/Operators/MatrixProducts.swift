import CandorTensor

/// `MatMul`: NumPy matrix product with broadcast leading axes.
struct MatMulOperator: Operator {
    var attributionRules: AttributionRules { AttributionRules(deepLift: .gradient, lrp: .weightLayer) }

    func forward(_ inputs: [GraphValue?]) throws(TensorError) -> [GraphValue] {
        [.float(try MatrixMultiplication.matmul(try inputs.float(0, "A"), try inputs.float(1, "B")))]
    }

    func backward(
        _ inputs: [GraphValue?], outputs: [GraphValue], outputGradients: [Tensor?], wanted: [Bool]
    ) throws(TensorError) -> [Tensor?] {
        let g = outputGradients.firstGradient(like: try outputs.firstFloat())
        let a = try inputs.float(0, "A")
        let b = try inputs.float(1, "B")
        return [
            wanted.first ?? true ? try MatrixMultiplication.matmulGradientA(a, b, outputGradient: g) : nil,
            wanted.count > 1 && wanted[1] ? try MatrixMultiplication.matmulGradientB(a, b, outputGradient: g) : nil,
        ]
    }
}

/// `Gemm`: Y = α·op(A)·op(B) + β·C for 2-D A and B, C broadcast to the result.
/// Reference: https://onnx.ai/onnx/operators/onnx__Gemm.html
struct GemmOperator: Operator {
    var attributionRules: AttributionRules { AttributionRules(deepLift: .gradient, lrp: .weightLayer) }

    let alpha: Float
    let beta: Float
    let transposeA: Bool
    let transposeB: Bool

    init(attributes: inout NodeAttributes) throws(ModelError) {
        alpha = try attributes.float("alpha", default: 1)
        beta = try attributes.float("beta", default: 1)
        transposeA = try attributes.int("transA", default: 0) != 0
        transposeB = try attributes.int("transB", default: 0) != 0
        // `broadcast` (opsets 1–6) is implied by later opsets; C always broadcasts here.
        _ = try attributes.int("broadcast", default: 1)
    }

    private func operands(_ inputs: [GraphValue?]) throws(TensorError) -> (Tensor, Tensor, Tensor?) {
        let a = try inputs.float(0, "A")
        let b = try inputs.float(1, "B")
        guard a.rank == 2, b.rank == 2 else {
            throw .invalidShape("Gemm needs 2-D A and B, got \(a.shape) and \(b.shape)")
        }
        return (a, b, try inputs.optionalFloat(2, "C"))
    }

    func forward(_ inputs: [GraphValue?]) throws(TensorError) -> [GraphValue] {
        let (a, b, c) = try operands(inputs)
        var product = try MatrixMultiplication.batched(a, b, transposeA: transposeA, transposeB: transposeB)
        if alpha != 1 { product = product.map { alpha * $0 } }
        if let c, beta != 0 {
            let beta = beta
            let sum = try Broadcasting.apply(product, c) { $0 + beta * $1 }
            guard sum.shape == product.shape else {
                throw .shapeMismatch("Gemm's C of shape \(c.shape) does not broadcast to \(product.shape)")
            }
            product = sum
        }
        return [.float(product)]
    }

    func backward(
        _ inputs: [GraphValue?], outputs: [GraphValue], outputGradients: [Tensor?], wanted: [Bool]
    ) throws(TensorError) -> [Tensor?] {
        let (a, b, c) = try operands(inputs)
        let g = outputGradients.firstGradient(like: try outputs.firstFloat())
        // Derived from Y = α·A'·B': ∂A' = α·G·B'ᵀ and ∂B' = α·A'ᵀ·G, transposed back when the
        // operand itself was transposed.
        let wantsA = wanted.first ?? true
        let wantsB = wanted.count > 1 && wanted[1]
        let wantsC = wanted.count > 2 && wanted[2]
        var gradA: Tensor? =
            !wantsA
            ? nil
            : transposeA
                ? try MatrixMultiplication.batched(b, g, transposeA: transposeB, transposeB: true)
                : try MatrixMultiplication.batched(g, b, transposeB: !transposeB)
        var gradB: Tensor? =
            !wantsB
            ? nil
            : transposeB
                ? try MatrixMultiplication.batched(g, a, transposeA: true, transposeB: transposeA)
                : try MatrixMultiplication.batched(a, g, transposeA: !transposeA)
        if alpha != 1 {
            gradA = gradA?.map { alpha * $0 }
            gradB = gradB?.map { alpha * $0 }
        }
        let beta = beta
        let gradC = wantsC ? try c.map { c throws(TensorError) in try Broadcasting.reduce(g, toShape: c.shape).map { beta * $0 } } : nil
        return [gradA, gradB, gradC]
    }
}
