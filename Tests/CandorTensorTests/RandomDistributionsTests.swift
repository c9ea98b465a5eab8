import CandorTensor
import Foundation
import Testing

/// Acklam's normal quantile keeps its stated precision, and truncated normal draws stay within
/// their bounds, in the tails too.
@Suite struct RandomDistributionsTests {
    /// Probabilities over (0, 1) with both tails and the central region's edges.
    static let probabilities: [Double] = {
        var random = SeededRandom(seed: 11)
        var values = (0..<100_003).map { _ in random.uniform() }
        values += [1e-300, 0.02425, 0.02425.nextDown, 0.97575, 0.97575.nextUp, 0.5, 1 - 0x1p-53, 0x1p-53, 0.9999, 1e-5]
        return values
    }()

    /// Acklam's approximation is within its stated 1.15·10⁻⁹ relative error of the refined quantile.
    @Test func theApproximateQuantileIsWithinItsStatedError() {
        for p in Self.probabilities where p > 1e-12 && p < 1 - 1e-12 {
            let exact = NormalDistribution.quantile(p)
            #expect(abs(NormalDistribution.approximateQuantile(p) - exact) <= 1.2e-9 * max(abs(exact), 1e-3), "p = \(p)")
        }
    }

    @Test(arguments: [(-1.0, 0.5), (0.2, 3.0), (-4.0, -3.5), (8.5, 9.0), (-12.0, -9.0), (-.infinity, -1.0), (1.0, .infinity), (2.0, 2.0)])
    func drawsStayInTheirBounds(lower: Double, upper: Double) {
        let law = TruncatedNormal(lower: lower, upper: upper)
        var random = SeededRandom(seed: 5)
        for _ in 0..<2_000 {
            let drawn = law.draw(&random)
            #expect(drawn >= lower && drawn <= upper, "\(drawn) outside [\(lower), \(upper)]")
        }
    }
}
