import Foundation

/// Student's two-sample t-test for equal means with pooled variance, as SciPy's
/// `scipy.stats.ttest_ind(a, b)` computes it by default (`equal_var=True`, two-sided).
enum StudentTTest {
    /// The two-sided p-value for the hypothesis that `first` and `second` have equal means;
    /// nil when either sample has fewer than two values. When both samples are constant SciPy's
    /// t is ±∞ (p = 0) for different means and undefined (NaN) for equal ones; this returns 0
    /// and 1 for those.
    static func pValue(_ first: [Double], _ second: [Double]) -> Double? {
        let (n1, n2) = (Double(first.count), Double(second.count))
        guard first.count >= 2, second.count >= 2 else { return nil }
        let mean1 = first.reduce(0, +) / n1
        let mean2 = second.reduce(0, +) / n2
        let squares1 = first.reduce(0) { $0 + ($1 - mean1) * ($1 - mean1) }
        let squares2 = second.reduce(0) { $0 + ($1 - mean2) * ($1 - mean2) }
        let degrees = n1 + n2 - 2
        let pooled = (squares1 + squares2) / degrees
        let standardError = (pooled * (1 / n1 + 1 / n2)).squareRoot()
        guard standardError > 0 else { return mean1 == mean2 ? 1 : 0 }
        let t = (mean1 - mean2) / standardError
        // P(|T| > |t|) for T ~ t(ν) is I_{ν/(ν+t²)}(ν/2, 1/2).
        return regularizedIncompleteBeta(degrees / (degrees + t * t), degrees / 2, 0.5)
    }

    /// I_x(a, b), the regularized incomplete beta function, by its continued fraction (modified
    /// Lentz's method; Press et al., "Numerical Recipes", 3rd ed., §6.4), used directly when
    /// x < (a + 1)/(a + b + 2) and through I_x(a, b) = 1 − I_{1−x}(b, a) otherwise.
    static func regularizedIncompleteBeta(_ x: Double, _ a: Double, _ b: Double) -> Double {
        if x <= 0 { return 0 }
        if x >= 1 { return 1 }
        let logFront = lgamma(a + b) - lgamma(a) - lgamma(b) + a * log(x) + b * log1p(-x)
        if x < (a + 1) / (a + b + 2) {
            return exp(logFront) * continuedFraction(x, a, b) / a
        }
        return 1 - exp(logFront) * continuedFraction(1 - x, b, a) / b
    }

    private static func continuedFraction(_ x: Double, _ a: Double, _ b: Double) -> Double {
        let tiny = 1e-300
        let (sum, plus, minus) = (a + b, a + 1, a - 1)
        var c = 1.0
        var d = 1 - sum * x / plus
        if abs(d) < tiny { d = tiny }
        d = 1 / d
        var result = d
        for m in 1...10_000 {
            let m = Double(m)
            let twoM = 2 * m
            var term = m * (b - m) * x / ((minus + twoM) * (a + twoM))
            d = 1 + term * d
            if abs(d) < tiny { d = tiny }
            c = 1 + term / c
            if abs(c) < tiny { c = tiny }
            d = 1 / d
            result *= d * c
            term = -(a + m) * (sum + m) * x / ((a + twoM) * (plus + twoM))
            d = 1 + term * d
            if abs(d) < tiny { d = tiny }
            c = 1 + term / c
            if abs(c) < tiny { c = tiny }
            d = 1 / d
            let step = d * c
            result *= step
            if abs(step - 1) < 1e-15 { break }
        }
        return result
    }
}
