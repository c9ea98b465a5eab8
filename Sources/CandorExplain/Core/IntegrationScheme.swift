import Foundation

/// The quadrature rules integrated gradients approximates its path integral with: the points
/// α ∈ [0, 1] at which gradients are taken and the weight of each. They reproduce Captum's
/// `captum.attr._utils.approximation_methods` exactly, so attributions match for every
/// `n_steps`.
public enum IntegrationScheme: String, Sendable, CaseIterable {
    case gaussLegendre = "gausslegendre"
    case riemannLeft = "riemann_left"
    case riemannRight = "riemann_right"
    case riemannMiddle = "riemann_middle"
    case riemannTrapezoid = "riemann_trapezoid"

    /// The α points (ascending) and their weights for `steps` evaluations.
    public func pointsAndWeights(steps n: Int) -> (alphas: [Double], weights: [Double]) {
        let count = Double(n)
        switch self {
        case .riemannLeft:
            return ((0..<n).map { Double($0) / count }, Array(repeating: 1 / count, count: n))
        case .riemannRight:
            return ((0..<n).map { Double($0 + 1) / count }, Array(repeating: 1 / count, count: n))
        case .riemannMiddle:
            return ((0..<n).map { (Double($0) + 0.5) / count }, Array(repeating: 1 / count, count: n))
        case .riemannTrapezoid:
            // Captum's rule, kept for identical numbers: n equally spaced points from 0 to 1
            // with weights [½, 1, …, 1, ½] / n. They sum to (n − 1)/n rather than 1, so the
            // attributions are scaled by that factor and convergence_delta shows it.
            guard n > 1 else { return ([0], [1]) }
            let alphas = (0..<n).map { Double($0) / (count - 1) }
            let weights = (0..<n).map { $0 == 0 || $0 == n - 1 ? 1 / (2 * count) : 1 / count }
            return (alphas, weights)
        case .gaussLegendre:
            let (nodes, weights) = Self.gaussLegendre(n)
            return (nodes.map { 0.5 * (1 + $0) }, weights.map { 0.5 * $0 })
        }
    }

    /// Gauss–Legendre nodes on [−1, 1] (ascending, as NumPy's `leggauss`) and weights, by
    /// Newton's method on the Legendre polynomial Pₙ with the three-term recurrence.
    /// Reference: Press et al., Numerical Recipes, §4.6 (`gauleg`).
    static func gaussLegendre(_ n: Int) -> (nodes: [Double], weights: [Double]) {
        var nodes = [Double](repeating: 0, count: n)
        var weights = [Double](repeating: 0, count: n)
        for i in 0..<(n + 1) / 2 {
            var x = cos(Double.pi * (Double(i) + 0.75) / (Double(n) + 0.5))
            var derivative = 0.0
            for _ in 0..<100 {
                var p0 = 1.0
                var p1 = 0.0
                for j in 0..<n {
                    let p2 = p1
                    p1 = p0
                    p0 = ((2 * Double(j) + 1) * x * p1 - Double(j) * p2) / Double(j + 1)
                }
                // p0 = Pₙ(x), p1 = Pₙ₋₁(x); Pₙ′(x) = n (x Pₙ − Pₙ₋₁) / (x² − 1)
                derivative = Double(n) * (x * p0 - p1) / (x * x - 1)
                let step = p0 / derivative
                x -= step
                if abs(step) < 1e-15 { break }
            }
            let weight = 2 / ((1 - x * x) * derivative * derivative)
            nodes[i] = -x
            nodes[n - 1 - i] = x
            weights[i] = weight
            weights[n - 1 - i] = weight
        }
        return (nodes, weights)
    }
}
