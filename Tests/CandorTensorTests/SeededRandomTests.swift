import CandorTensor
import Testing

@Suite struct SeededRandomTests {
    @Test func theSameSeedGivesTheSameSequence() {
        var a = SeededRandom(seed: 7)
        var b = SeededRandom(seed: 7)
        var c = SeededRandom(seed: 8)
        let first = (0..<16).map { _ in a.next() }
        #expect(first == (0..<16).map { _ in b.next() })
        #expect(first != (0..<16).map { _ in c.next() })
    }

    /// Pinned outputs: a change of algorithm would silently change every seeded explanation.
    /// The raw values are those of the reference C code of xoshiro256** with its state seeded
    /// by SplitMix64(0) (whose first output, 0xe220a8397b1dcdaf, is the published one).
    @Test func theSequenceIsPinned() {
        var random = SeededRandom(seed: 0)
        #expect((0..<3).map { _ in random.next() } == [0x99ec_5f36_cb75_f2b4, 0xbf6e_1f78_4956_452a, 0x1a5f_849d_4933_e6e0])
        var shuffler = SeededRandom(seed: 0)
        #expect(shuffler.permutation(of: 8) == [1, 6, 3, 7, 2, 0, 5, 4])
    }

    @Test func permutationsAreUniform() {
        var random = SeededRandom(seed: 42)
        var firstPosition = [Int](repeating: 0, count: 4)
        for _ in 0..<40_000 {
            let permutation = random.permutation(of: 4)
            #expect(Set(permutation) == [0, 1, 2, 3])
            firstPosition[permutation[0]] += 1
        }
        // Each element leads a quarter of the time: 10,000 ± a few standard deviations (~87).
        #expect(firstPosition.allSatisfy { abs($0 - 10_000) < 400 })
    }
}

@Suite struct RandomDistributionTests {
    /// Φ⁻¹(Φ(x)) = x across the range, the lower tail included (in the upper tail p itself
    /// cannot resolve x: Φ(8) is 1 − 6·10⁻¹⁶, which is why truncated draws work in the lower one).
    @Test(arguments: [-30.0, -8, -3, -1, -0.1, 0, 0.5, 2, 5])
    func theQuantileInvertsTheCDF(_ x: Double) {
        let p = NormalDistribution.cdf(x)
        #expect(abs(NormalDistribution.quantile(p) - x) < 1e-9 * max(1, abs(x)))
    }

    /// Draws stay within their bounds, however far in a tail or however wide.
    @Test(arguments: [(-1.0, 2.0), (0.0, .infinity), (10, 11), (-12, -11), (1e9, 2e9), (-2e9, -1e9), (3, 3), (-1e10, 1e10)])
    func truncatedDrawsStayWithinTheirBounds(_ lower: Double, _ upper: Double) {
        var random = SeededRandom(seed: 3)
        for _ in 0..<2000 {
            let value = random.truncatedStandardNormal(lower: lower, upper: upper)
            #expect(value >= lower && value <= upper, "\(value) outside [\(lower), \(upper)]")
        }
    }

    /// The half-normal's mean is √(2/π), its second moment 1; a standard normal's are 0 and 1.
    @Test func truncatedAndPlainDrawsHaveTheirMoments() {
        var random = SeededRandom(seed: 9)
        let count = 200_000
        let half = (0..<count).map { _ in random.truncatedStandardNormal(lower: 0, upper: .infinity) }
        #expect(abs(half.reduce(0, +) / Double(count) - (2 / Double.pi).squareRoot()) < 0.01)
        let plain = (0..<count).map { _ in random.standardNormal() }
        #expect(abs(plain.reduce(0, +) / Double(count)) < 0.01)
        #expect(abs(plain.reduce(0) { $0 + $1 * $1 } / Double(count) - 1) < 0.01)
    }
}
