/// A seeded pseudo-random generator, so every sampling method is reproducible: the same seed
/// gives the same numbers on every machine and toolchain (the standard library's
/// `SystemRandomNumberGenerator` is unseedable, and its shuffling algorithm is not promised to
/// stay the same).
///
/// xoshiro256** (Blackman & Vigna, "Scrambled Linear Pseudorandom Number Generators", 2021),
/// its state expanded from the 64-bit seed with SplitMix64 as the authors recommend.
public struct SeededRandom: RandomNumberGenerator, Sendable {
    private var state: (UInt64, UInt64, UInt64, UInt64)

    public init(seed: UInt64) {
        var splitMix = seed
        func next() -> UInt64 {
            splitMix &+= 0x9E37_79B9_7F4A_7C15
            var z = splitMix
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
        state = (next(), next(), next(), next())
    }

    /// An independent stream of one seed (for each instance of a batch, say): the seed mixed
    /// with the stream number by the golden-ratio constant, so streams 0, 1, … differ.
    public init(seed: UInt64, stream: Int) {
        self.init(seed: seed ^ (UInt64(truncatingIfNeeded: stream) &* 0x9E37_79B9_7F4A_7C15))
    }

    public mutating func next() -> UInt64 {
        let result = rotateLeft(state.1 &* 5, 7) &* 9
        let shifted = state.1 << 17
        state.2 ^= state.0
        state.3 ^= state.1
        state.1 ^= state.2
        state.0 ^= state.3
        state.2 ^= shifted
        state.3 = rotateLeft(state.3, 45)
        return result
    }

    private func rotateLeft(_ value: UInt64, _ count: UInt64) -> UInt64 {
        (value << count) | (value >> (64 - count))
    }

    /// A uniform integer in 0..<bound, without modulo bias (Lemire, "Fast Random Integer
    /// Generation in an Interval", 2019).
    public mutating func integer(below bound: Int) -> Int {
        precondition(bound > 0, "integer(below:) needs a positive bound")
        let range = UInt64(bound)
        var product = next().multipliedFullWidth(by: range)
        if product.low < range {
            let threshold = (0 &- range) % range
            while product.low < threshold { product = next().multipliedFullWidth(by: range) }
        }
        return Int(product.high)
    }

    /// A uniformly random permutation of 0..<count (Fisher–Yates).
    public mutating func permutation(of count: Int) -> [Int] {
        var items = Array(0..<count)
        guard count > 1 else { return items }
        for index in stride(from: count - 1, to: 0, by: -1) {
            items.swapAt(index, integer(below: index + 1))
        }
        return items
    }
}
