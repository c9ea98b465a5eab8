import CandorTensor

/// The standard error of KernelSHAP's values, measured from the estimate's own random draws
/// (the delta-method variance of the regression estimator over independent coalition draws,
/// Covert & Lee, "Improving KernelSHAP: Practical Shapley Value Estimation via Linear
/// Regression", AISTATS 2021, §3).
///
/// With the efficiency constraint eliminated, the values solve H·β = Xᵀ W y with H = XᵀWX.
/// Perturbing the draws moves β by H⁻¹ Σ_d g_d to first order, where draw d's score is
/// g_d = w·Σ_{rows i of d} xᵢ (yᵢ − xᵢᵀβ) (w the weight of one drawn count): the enumerated
/// coalitions are fixed and add nothing. The draws are independent, so
/// Cov(β) ≈ D/(D − 1) Σ_d h_d h_dᵀ with h_d = H⁻¹(g_d − ḡ) over the D draws; the last group's
/// value, the total minus the others, has variance 1ᵀ Cov(β) 1. Every coalition enumerated
/// (no draws): the values are exact and their errors 0. A single draw cannot measure its
/// own spread: no errors then.
enum KernelShapStandardError {
    /// One standard error per group (the last included), or nil with fewer than two draws.
    static func of(
        design: ShapleyKernelDesign, x: [Double], y: [Double], weights: [Double], unknowns: Int, solution beta: [Double]
    ) -> [Double]? {
        let draws = design.draws
        guard !draws.isEmpty else { return [Double](repeating: 0, count: unknowns + 1) }
        guard draws.count >= 2 else { return nil }
        let gram = LinearSolvers.weightedGram(x, rows: design.count, columns: unknowns, weights: weights)
        let residuals = (0..<design.count).map { row in
            y[row] - (0..<unknowns).reduce(0.0) { $0 + x[row * unknowns + $1] * beta[$1] }
        }
        // The draws' scores, centred: one right-hand side of `unknowns` numbers per draw.
        var scores = [Double](repeating: 0, count: draws.count * unknowns)
        for (d, rows) in draws.enumerated() {
            for row in rows {
                for j in 0..<unknowns { scores[d * unknowns + j] += design.drawWeight * x[row * unknowns + j] * residuals[row] }
            }
        }
        for j in 0..<unknowns {
            let mean = stride(from: j, to: scores.count, by: unknowns).reduce(0) { $0 + scores[$1] } / Double(draws.count)
            for d in 0..<draws.count { scores[d * unknowns + j] -= mean }
        }
        guard let influences = LinearSolvers.solve(gram, scores) else { return nil }
        let correction = Double(draws.count) / Double(draws.count - 1)
        var variances = [Double](repeating: 0, count: unknowns + 1)
        for d in 0..<draws.count {
            let influence = influences[(d * unknowns)..<((d + 1) * unknowns)]
            for (j, h) in influence.enumerated() { variances[j] += correction * h * h }
            let last = influence.reduce(0, +)
            variances[unknowns] += correction * last * last
        }
        return variances.map { $0.squareRoot() }
    }
}
