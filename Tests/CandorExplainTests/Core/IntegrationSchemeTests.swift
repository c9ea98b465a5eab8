import Testing

@testable import CandorExplain

@Suite struct IntegrationSchemeTests {
    @Test func gaussLegendreMatchesTheClosedFormForThreePoints() {
        let (nodes, weights) = IntegrationScheme.gaussLegendre(3)
        let root = (3.0 / 5.0).squareRoot()
        #expect(zip(nodes, [-root, 0, root]).allSatisfy { abs($0 - $1) < 1e-14 })
        #expect(zip(weights, [5.0 / 9, 8.0 / 9, 5.0 / 9]).allSatisfy { abs($0 - $1) < 1e-14 })
    }

    /// Every rule integrates a constant exactly — except Captum's trapezoid rule, whose weights
    /// sum to (n − 1)/n, reproduced as Captum has it.
    @Test(arguments: IntegrationScheme.allCases, [2, 7, 50, 300])
    func weightsSumToOneAndPointsLieInTheUnitInterval(_ scheme: IntegrationScheme, steps: Int) {
        let (alphas, weights) = scheme.pointsAndWeights(steps: steps)
        #expect(alphas.count == steps && weights.count == steps)
        let total = scheme == .riemannTrapezoid ? Double(steps - 1) / Double(steps) : 1
        #expect(abs(weights.reduce(0, +) - total) < 1e-12)
        #expect(alphas.allSatisfy { (0...1).contains($0) })
        #expect(zip(alphas, alphas.dropFirst()).allSatisfy { $0 < $1 })
    }

    /// Gauss–Legendre with n points integrates polynomials of degree 2n − 1 exactly.
    @Test func gaussLegendreIsExactForPolynomialsOfDegreeTwoNMinusOne() {
        let (alphas, weights) = IntegrationScheme.gaussLegendre.pointsAndWeights(steps: 5)
        let integral = zip(alphas, weights).reduce(0.0) { $0 + $1.1 * pow9($1.0) }
        #expect(abs(integral - 0.1) < 1e-13)  // ∫₀¹ α⁹ dα = 1/10
    }

    private func pow9(_ x: Double) -> Double { (0..<9).reduce(1.0) { value, _ in value * x } }
}
