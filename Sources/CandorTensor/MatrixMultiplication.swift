import COpenBLAS

/// Matrix products, all through BLAS `sgemm` (OpenBLAS).
public enum MatrixMultiplication {
    /// OpenBLAS runs each product on one thread: Candor's parallelism is its worker pool, one
    /// request per core, and BLAS threads of their own would only contend with it (they spin
    /// in `sched_yield` waiting for each other). Touched by every BLAS and LAPACK entry point,
    /// so whichever runs first sets it.
    @usableFromInline static let singleThreaded: Void = openblas_set_num_threads(1)

    /// C ← α·op(A)·op(B) + β·C on raw row-major buffers, `op` optionally transposing.
    /// A is m×k after `op`, B is k×n after `op`, C is m×n.
    @inlinable
    public static func gemm(
        m: Int, n: Int, k: Int,
        a: UnsafePointer<Float>, transposeA: Bool,
        b: UnsafePointer<Float>, transposeB: Bool,
        c: UnsafeMutablePointer<Float>,
        alpha: Float = 1, beta: Float = 0
    ) {
        _ = singleThreaded
        guard m > 0, n > 0 else { return }
        guard k > 0 else {
            // An empty inner dimension contributes nothing: C ← β·C.
            for index in 0..<(m * n) { c[index] = beta == 0 ? 0 : beta * c[index] }
            return
        }
        cblas_sgemm(
            CblasRowMajor,
            transposeA ? CblasTrans : CblasNoTrans,
            transposeB ? CblasTrans : CblasNoTrans,
            Int32(m), Int32(n), Int32(k),
            alpha, a, Int32(transposeA ? m : k),
            b, Int32(transposeB ? k : n),
            beta, c, Int32(n))
    }

    /// The product of two stacks of matrices, `a` [..., m, k] and `b` [..., k, n] (after the
    /// optional transposes of their last two axes), with the leading axes broadcast.
    public static func batched(
        _ a: Tensor, _ b: Tensor, transposeA: Bool = false, transposeB: Bool = false
    ) throws(TensorError) -> Tensor {
        guard a.rank >= 2, b.rank >= 2 else {
            throw .invalidShape("batched matrix product needs rank ≥ 2, got \(a.shape) and \(b.shape)")
        }
        let (rowsA, colsA) = (a.shape[a.rank - 2], a.shape[a.rank - 1])
        let (rowsB, colsB) = (b.shape[b.rank - 2], b.shape[b.rank - 1])
        let (m, k) = transposeA ? (colsA, rowsA) : (rowsA, colsA)
        let (kB, n) = transposeB ? (colsB, rowsB) : (rowsB, colsB)
        guard k == kB else {
            throw .shapeMismatch("matrix product of \(a.shape) and \(b.shape): inner dimensions \(k) and \(kB) differ")
        }
        let batchA = Array(a.shape.dropLast(2))
        let batchB = Array(b.shape.dropLast(2))
        let batch = try Broadcasting.shape(batchA, batchB)
        let outputShape = batch + [m, n]
        let outputCount = try outputShape.checkedElementCount()

        // When `b` is one matrix and `a` is not transposed, the whole stack of `a` is a single
        // (batch·m)×k matrix: one GEMM instead of many.
        if batchB.allSatisfy({ $0 == 1 }) && !transposeA && batchA.count >= batchB.count {
            let rows = outputCount / Swift.max(n, 1)
            // BLAS with β = 0 writes every element (without reading them): no need to zero first.
            let product = [Float](unsafeUninitializedCapacity: outputCount) { out, initialized in
                let written = a.scalars.withUnsafeBufferPointer { x in
                    b.scalars.withUnsafeBufferPointer { y in
                        guard let x = x.baseAddress, let y = y.baseAddress, let out = out.baseAddress else { return false }
                        gemm(m: rows, n: n, k: k, a: x, transposeA: false, b: y, transposeB: transposeB, c: out)
                        return true
                    }
                }
                if !written { out.initialize(repeating: 0) }
                initialized = outputCount
            }
            return Tensor(uncheckedShape: outputShape, scalars: product)
        }

        let stridesA = Broadcasting.strides(of: batchA, broadcastTo: batch)
        let stridesB = Broadcasting.strides(of: batchB, broadcastTo: batch)
        let matrixA = rowsA * colsA
        let matrixB = rowsB * colsB
        let matrixC = m * n
        var result = [Float](repeating: 0, count: outputCount)
        a.scalars.withUnsafeBufferPointer { x in
            b.scalars.withUnsafeBufferPointer { y in
                result.withUnsafeMutableBufferPointer { out in
                    guard let x = x.baseAddress, let y = y.baseAddress, let out = out.baseAddress else { return }
                    Broadcasting.forEachOffset(outputShape: batch, stridesA: stridesA, stridesB: stridesB) {
                        index, offsetA, offsetB in
                        gemm(
                            m: m, n: n, k: k,
                            a: x + offsetA * matrixA, transposeA: transposeA,
                            b: y + offsetB * matrixB, transposeB: transposeB,
                            c: out + index * matrixC)
                    }
                }
            }
        }
        return Tensor(uncheckedShape: outputShape, scalars: result)
    }

    /// NumPy's `matmul`: 1-D operands are promoted to a row (left) or column (right) matrix and
    /// the added axis removed from the result; leading axes broadcast.
    public static func matmul(_ a: Tensor, _ b: Tensor) throws(TensorError) -> Tensor {
        guard a.rank >= 1, b.rank >= 1 else {
            throw .invalidShape("matmul operands must have rank ≥ 1, got \(a.shape) and \(b.shape)")
        }
        let left = a.rank == 1 ? try a.reshaped(to: [1, a.shape[0]]) : a
        let right = b.rank == 1 ? try b.reshaped(to: [b.shape[0], 1]) : b
        var product = try batched(left, right)
        var shape = product.shape
        if b.rank == 1 { shape.remove(at: shape.count - 1) }
        if a.rank == 1 { shape.remove(at: shape.count - (b.rank == 1 ? 1 : 2)) }
        if shape != product.shape { product = try product.reshaped(to: shape) }
        return product
    }

    /// The vector-Jacobian product of ``matmul(_:_:)`` for its left operand: ∂L/∂A = G·Bᵀ,
    /// summed over broadcast axes and shaped like `a`.
    public static func matmulGradientA(_ a: Tensor, _ b: Tensor, outputGradient: Tensor) throws(TensorError) -> Tensor {
        let (left, right, gradient) = try promoted(a, b, outputGradient)
        return try Broadcasting.reduce(try batched(gradient, right, transposeB: true), toShape: left.shape).reshaped(to: a.shape)
    }

    /// The vector-Jacobian product of ``matmul(_:_:)`` for its right operand: ∂L/∂B = Aᵀ·G,
    /// summed over broadcast axes and shaped like `b`.
    public static func matmulGradientB(_ a: Tensor, _ b: Tensor, outputGradient: Tensor) throws(TensorError) -> Tensor {
        let (left, right, gradient) = try promoted(a, b, outputGradient)
        return try Broadcasting.reduce(try batched(left, gradient, transposeA: true), toShape: right.shape).reshaped(to: b.shape)
    }

    /// The operands with 1-D ones promoted as `matmul` promotes them, and the output gradient
    /// with the axes `matmul` removed put back, so it is a stack of m×n matrices.
    private static func promoted(_ a: Tensor, _ b: Tensor, _ gradient: Tensor) throws(TensorError) -> (Tensor, Tensor, Tensor) {
        let left = a.rank == 1 ? try a.reshaped(to: [1, a.shape[0]]) : a
        let right = b.rank == 1 ? try b.reshaped(to: [b.shape[0], 1]) : b
        guard left.rank >= 2, right.rank >= 2 else { throw .invalidShape("matmul operands must have rank ≥ 1") }
        let batch = try Broadcasting.shape(Array(left.shape.dropLast(2)), Array(right.shape.dropLast(2)))
        let matrices = try gradient.reshaped(to: batch + [left.shape[left.rank - 2], right.shape[right.rank - 1]])
        return (left, right, matrices)
    }
}
