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
