/// The Benjamini–Hochberg step-up procedure ("Controlling the False Discovery Rate",
/// J. R. Stat. Soc. B 57, 1995): among m hypotheses with p-values p₍₁₎ ≤ … ≤ p₍ₘ₎, reject
/// those with p ≤ p₍ₖ₎ for the largest k with p₍ₖ₎ ≤ k·q/m. When the p-values of the true
/// nulls are independent (or positively dependent, Benjamini & Yekutieli 2001), the expected
/// share of false discoveries among the discoveries is at most q·m₀/m ≤ q.
public enum BenjaminiHochberg {
    /// The adjusted p-values, in the input's order: p̃₍ᵢ₎ = min over j ≥ i of min(1, m·p₍ⱼ₎/j)
    /// (R's `p.adjust(method = "BH")`, statsmodels' `fdr_bh`). Hypothesis i is rejected at
    /// level q exactly when p̃ᵢ ≤ q.
    public static func adjusted(_ pValues: [Double]) -> [Double] {
        let m = pValues.count
        let order = pValues.indices.sorted { (pValues[$0], $0) < (pValues[$1], $1) }
        var adjusted = [Double](repeating: 1, count: m)
        var running = 1.0
        for rank in stride(from: m, through: 1, by: -1) {
            let index = order[rank - 1]
            running = Swift.min(running, Swift.min(1, Double(m) * pValues[index] / Double(rank)))
            adjusted[index] = running
        }
        return adjusted
    }

    /// Whether each hypothesis is rejected at false discovery rate `q`.
    public static func rejected(_ pValues: [Double], q: Double) -> [Bool] {
        adjusted(pValues).map { $0 <= q }
    }
}
