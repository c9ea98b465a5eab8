import COpenBLAS

/// Dense linear systems in double precision, through LAPACK (OpenBLAS): the regressions of
/// KernelSHAP and LIME are small (one unknown per feature) but ill-conditioned enough that
/// float32 would lose the agreement with SHAP and lime, which solve them in float64 with the
/// same routines (numpy's `solve` is `dgesv`, its `lstsq` is `dgelsd`).
public enum LinearSolvers {
    /// The solution of A·X = B for a square, row-major A (n×n) and B of one or more right-hand
    /// sides of n numbers each, one after another; X the same way. Nil when A is singular.
    public static func solve(_ a: [Double], _ b: [Double]) -> [Double]? {
        _ = MatrixMultiplication.singleThreaded
        let count = Int(Double(a.count).squareRoot().rounded())
        guard count > 0, a.count == count * count, b.count % count == 0, !b.isEmpty else { return b.isEmpty && a.isEmpty ? [] : nil }
        // LAPACK is column-major: pass Aᵀ and solve Aᵀᵀ = A by transposing here.
        var columnMajor = [Double](repeating: 0, count: a.count)
        for row in 0..<count {
            for column in 0..<count { columnMajor[column * count + row] = a[row * count + column] }
        }
        var solution = b
        var pivots = [Int32](repeating: 0, count: count)
        var n = Int32(count)
        var rightHandSides = Int32(b.count / count)
        var leading = Int32(count)
        var leadingB = Int32(count)
        var info: Int32 = 0
        dgesv_(&n, &rightHandSides, &columnMajor, &leading, &pivots, &solution, &leadingB, &info)
        guard info == 0, solution.allSatisfy(\.isFinite) else { return nil }
        return solution
    }

    /// The minimum-norm x minimising ‖A·x − b‖₂ for a row-major A (rows×columns), with
    /// singular values below `rcond`·σ_max treated as zero (numpy's `lstsq` default, machine
    /// epsilon × max(rows, columns), when nil). Nil only when LAPACK fails to converge.
    public static func leastSquares(_ a: [Double], rows: Int, columns: Int, _ b: [Double], rcond: Double? = nil) -> [Double]? {
        _ = MatrixMultiplication.singleThreaded
        guard rows > 0, columns > 0, a.count == rows * columns, b.count == rows else { return nil }
        var columnMajor = [Double](repeating: 0, count: a.count)
        for row in 0..<rows {
            for column in 0..<columns { columnMajor[column * rows + row] = a[row * columns + column] }
        }
        let height = max(rows, columns)
        var solution = b + [Double](repeating: 0, count: height - rows)
        var m = Int32(rows)
        var n = Int32(columns)
        var rightHandSides: Int32 = 1
        var leading = Int32(rows)
        var leadingB = Int32(height)
        var singular = [Double](repeating: 0, count: min(rows, columns))
        var threshold = rcond ?? Double.ulpOfOne * Double(height)
        var rank: Int32 = 0
        var info: Int32 = 0
        // Workspace query, then the solve.
        var workSize = [Double](repeating: 0, count: 1)
        var integerWorkSize = [Int32](repeating: 0, count: 1)
        var query: Int32 = -1
        dgelsd_(
            &m, &n, &rightHandSides, &columnMajor, &leading, &solution, &leadingB, &singular, &threshold, &rank,
            &workSize, &query, &integerWorkSize, &info)
        guard info == 0 else { return nil }
        var lwork = Int32(max(1, workSize[0].rounded(.up)))
        var work = [Double](repeating: 0, count: Int(lwork))
        var integerWork = [Int32](repeating: 0, count: max(1, Int(integerWorkSize[0])))
        dgelsd_(
            &m, &n, &rightHandSides, &columnMajor, &leading, &solution, &leadingB, &singular, &threshold, &rank,
            &work, &lwork, &integerWork, &info)
        guard info == 0 else { return nil }
        return Array(solution.prefix(columns))
    }

    /// The β minimising Σᵢ wᵢ (yᵢ − xᵢ·β)² + ridge·‖β‖² for a row-major X (rows×columns) and
    /// weights w ≥ 0: the solution of the normal equations (XᵀWX + ridge·I) β = XᵀWy, or, when
    /// they are singular, the minimum-norm least-squares solution of the square-root-weighted
    /// system (as numpy's `solve` falling back to `lstsq`). Nil if neither can be solved.
    public static func weightedLeastSquares(
        _ x: [Double], rows: Int, columns: Int, weights: [Double], _ y: [Double], ridge: Double = 0
    ) -> [Double]? {
        _ = MatrixMultiplication.singleThreaded
        guard columns > 0 else { return [] }
        guard rows > 0, x.count == rows * columns, weights.count == rows, y.count == rows else { return nil }
        var scaledX = x
        var scaledY = y
        for row in 0..<rows {
            let root = weights[row].squareRoot()
            scaledY[row] *= root
            for column in 0..<columns { scaledX[row * columns + column] *= root }
        }
        var gram = Self.gram(scaledX, rows: rows, columns: columns)
        var moment = [Double](repeating: 0, count: columns)
        // moment = X̃ᵀỹ with X̃ = W^½X, ỹ = W^½y (row-major).
        cblas_dgemv(CblasRowMajor, CblasTrans, Int32(rows), Int32(columns), 1, scaledX, Int32(columns), scaledY, 1, 0, &moment, 1)
        for column in 0..<columns { gram[column * columns + column] += ridge }
        if let solution = solve(gram, moment) { return solution }
        guard ridge == 0 else { return nil }
        return leastSquares(scaledX, rows: rows, columns: columns, scaledY)
    }

    /// XᵀWX for a row-major X (rows×columns) and weights w ≥ 0, row-major.
    public static func weightedGram(_ x: [Double], rows: Int, columns: Int, weights: [Double]) -> [Double] {
        _ = MatrixMultiplication.singleThreaded
        var scaled = x
        for row in 0..<rows {
            let root = weights[row].squareRoot()
            for column in 0..<columns { scaled[row * columns + column] *= root }
        }
        return gram(scaled, rows: rows, columns: columns)
    }

    /// XᵀX for a row-major X (rows×columns), row-major.
    private static func gram(_ x: [Double], rows: Int, columns: Int) -> [Double] {
        var gram = [Double](repeating: 0, count: columns * columns)
        cblas_dgemm(
            CblasRowMajor, CblasTrans, CblasNoTrans, Int32(columns), Int32(columns), Int32(rows), 1, x, Int32(columns), x,
            Int32(columns), 0, &gram, Int32(columns))
        return gram
    }
}
