import Foundation

/// Continuous distributions drawn from a `SeededRandom`, for the sampling explainers.
extension SeededRandom {
    /// A uniform double in [0, 1), from the top 53 bits.
    public mutating func uniform() -> Double {
        Double(next() >> 11) * 0x1p-53
    }

    /// A standard normal draw by inversion of the normal CDF (one uniform per draw, so a
    /// stream's draws do not depend on how many came before in pairs).
    public mutating func standardNormal() -> Double {
        var u = uniform()
        while u == 0 { u = uniform() }
        return NormalDistribution.approximateQuantile(u)
    }

    /// A standard normal draw conditioned on [lower, upper] (see `TruncatedNormal`).
    public mutating func truncatedStandardNormal(lower: Double, upper: Double) -> Double {
        TruncatedNormal(lower: lower, upper: upper).draw(&self)
    }
}

/// The standard normal law conditioned on [lower, upper] (lower ≤ upper; either may be
/// infinite), drawn by inverting its CDF between the bounds, whose CDF values are computed
/// once here for all draws. Where both bounds lie far in one tail (beyond 8σ, where the CDF's
/// differences lose their precision), the conditional law is close to the bound plus an
/// exponential of rate |bound|, which is drawn instead (Robert, "Simulation of truncated
/// normal variables", 1995).
public struct TruncatedNormal: Sendable {
    private let lower: Double
    private let upper: Double
    /// Bounds reflected into the lower tail, where the CDF keeps its relative precision.
    private let flipped: Bool
    private let low: Double
    private let high: Double
    private let farTail: Bool

    public init(lower: Double, upper: Double) {
        self.lower = lower
        self.upper = upper
        flipped = lower > 0
        farTail = lower > 8 || upper < -8
        let (a, b) = flipped ? (-upper, -lower) : (lower, upper)
        low = NormalDistribution.cdf(a)
        high = NormalDistribution.cdf(b)
    }

    public func draw(_ random: inout SeededRandom) -> Double {
        guard lower < upper else { return lower }
        let (a, b) = flipped ? (-upper, -lower) : (lower, upper)
        if farTail {
            // Reflect the lower tail onto the upper one.
            let (near, far, sign) = lower > 8 ? (lower, upper, 1.0) : (-upper, -lower, -1.0)
            var value = far
            for _ in 0..<64 {
                var u = random.uniform()
                while u == 0 { u = random.uniform() }
                value = near - log(u) / near
                if value <= far { break }
            }
            return sign * min(value, far)
        }
        var u = low + (high - low) * random.uniform()
        if u <= 0 { u = Double.leastNormalMagnitude }
        let value = min(max(NormalDistribution.approximateQuantile(min(u, 1 - 0x1p-53)), a), b)
        return flipped ? -value : value
    }
}

/// The standard normal distribution's CDF and quantile in double precision.
public enum NormalDistribution {
    public static func cdf(_ x: Double) -> Double {
        0.5 * erfc(-x / 2.0.squareRoot())
    }

    /// Φ⁻¹(p) for p in (0, 1) to full double precision: the approximation below, refined by
    /// one Halley step on erfc.
    public static func quantile(_ p: Double) -> Double {
        var x = approximateQuantile(p)
        guard x.isFinite else { return x }
        // Halley refinement: e = Φ(x) − p, u = e·√(2π)·exp(x²/2).
        let error = cdf(x) - p
        let u = error * (2 * Double.pi).squareRoot() * exp(x * x / 2)
        x -= u / (1 + x * u / 2)
        return x
    }

    /// Acklam's coefficients: a, b for the central region, c, d for the tails.
    private static let aCoefficients: [Double] = [
        -3.969683028665376e+01, 2.209460984245205e+02, -2.759285104469687e+02, 1.383577518672690e+02, -3.066479806614716e+01,
        2.506628277459239e+00,
    ]
    private static let bCoefficients: [Double] = [
        -5.447609879822406e+01, 1.615858368580409e+02, -1.556989798598866e+02, 6.680131188771972e+01, -1.328068155288572e+01,
    ]
    private static let cCoefficients: [Double] = [
        -7.784894002430293e-03, -3.223964580411365e-01, -2.400758277161838e+00, -2.549732539343734e+00, 4.374664141464968e+00,
        2.938163982698783e+00,
    ]
    private static let dCoefficients: [Double] = [
        7.784695709041462e-03, 3.224671290700398e-01, 2.445134137142996e+00, 3.754408661907416e+00,
    ]

    /// Φ⁻¹(p) by Acklam's rational approximation (relative error below 1.15·10⁻⁹): precise
    /// enough for random draws that end as float32, at a third of the refined cost.
    public static func approximateQuantile(_ p: Double) -> Double {
        guard p > 0 else { return -.infinity }
        guard p < 1 else { return .infinity }
        let a = Self.aCoefficients
        let b = Self.bCoefficients
        let c = Self.cCoefficients
        let d = Self.dCoefficients
        let lowTail = 0.02425
        let x: Double
        if p < lowTail {
            let q = (-2 * log(p)).squareRoot()
            x =
                (((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5])
                / ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1)
        } else if p <= 1 - lowTail {
            let q = p - 0.5
            let r = q * q
            x =
                (((((a[0] * r + a[1]) * r + a[2]) * r + a[3]) * r + a[4]) * r + a[5]) * q
                / (((((b[0] * r + b[1]) * r + b[2]) * r + b[3]) * r + b[4]) * r + 1)
        } else {
            let q = (-2 * log(1 - p)).squareRoot()
            x =
                -(((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5])
                / ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1)
        }
        return x
    }
}
