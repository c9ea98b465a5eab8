import CandorTensor

/// The standard error of KernelSHAP's values, measured from the estimate's own random draws
/// (the delta-method variance of the regression estimator over its random coalitions, Covert &
/// Lee, "Improving KernelSHAP: Practical Shapley Value Estimation via Linear Regression",
/// AISTATS 2021, §3).
///
/// With the efficiency constraint eliminated, the values solve H·β = Xᵀ W y with H = XᵀWX.
/// Perturbing the draws moves β by H⁻¹ Σ_u g_u to first order, where unit u's score is
/// g_u = w·Σ_{rows i of u} xᵢ (yᵢ − xᵢᵀβ) (w the weight one count of the unit carries): the
/// enumerated coalitions are fixed and add nothing. Within a stratum the units are exchangeable
/// draws, so with h_u = H⁻¹(g_u − ḡ) over its k units the stratum adds
/// (1 − f)·k/(k − 1) Σ_u h_u h_uᵀ to Cov(β), f the share of its population drawn without
/// replacement (0 for SHAP's draws with replacement: Cochran, "Sampling Techniques", §5.3). The
/// last group's value, the total minus the others, has variance 1ᵀ Cov(β) 1. Every coalition
/// enumerated (no draws): the values are exact and their errors 0. A stratum of a single unit
/// cannot measure its own spread: no errors then.
enum KernelShapStandardError {
    /// One standard error per group (the last included), or nil when a stratum has a single unit.
    static func of(
        design: ShapleyKernelDesign, x: [Double], y: [Double], weights: [Double], unknowns: Int, solution beta: [Double]
    ) -> [Double]? {
        let strata = design.strata
        guard !strata.isEmpty else { return [Double](repeating: 0, count: unknowns + 1) }
        guard strata.allSatisfy({ $0.units.count >= 2 }) else { return nil }
        let gram = LinearSolvers.weightedGram(x, rows: design.count, columns: unknowns, weights: weights)
        let residuals = (0..<design.count).map { row in
            y[row] - (0..<unknowns).reduce(0.0) { $0 + x[row * unknowns + $1] * beta[$1] }
        }
        // Every unit's score, centred in its stratum and scaled by its stratum's variance
        // factor: one right-hand side of `unknowns` numbers per unit.
        let unitCount = strata.reduce(0) { $0 + $1.units.count }
        var scores = [Double](repeating: 0, count: unitCount * unknowns)
        var first = 0
        for stratum in strata {
            let k = stratum.units.count
            for (offset, rows) in stratum.units.enumerated() {
                let unit = first + offset
                for row in rows {
                    for j in 0..<unknowns { scores[unit * unknowns + j] += stratum.unitWeight * x[row * unknowns + j] * residuals[row] }
                }
            }
            let factor = ((1 - stratum.sampledFraction) * Double(k) / Double(k - 1)).squareRoot()
            for j in 0..<unknowns {
                let mean = (first..<(first + k)).reduce(0) { $0 + scores[$1 * unknowns + j] } / Double(k)
                for unit in first..<(first + k) { scores[unit * unknowns + j] = factor * (scores[unit * unknowns + j] - mean) }
            }
            first += k
        }
        guard let influences = LinearSolvers.solve(gram, scores) else { return nil }
        var variances = [Double](repeating: 0, count: unknowns + 1)
        for unit in 0..<unitCount {
            let influence = influences[(unit * unknowns)..<((unit + 1) * unknowns)]
            for (j, h) in influence.enumerated() { variances[j] += h * h }
            let last = influence.reduce(0, +)
            variances[unknowns] += last * last
        }
        return variances.map { $0.squareRoot() }
    }
}
