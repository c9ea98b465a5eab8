import CandorTensor
import Testing

@testable import CandorExplain

/// The running moments agree with the two-pass textbook formulas, also when the mean is far
/// larger than the spread.
@Suite struct SampleMomentsTests {
    @Test(arguments: [0.0, 1e6])
    func runningMomentsMatchTheTwoPassFormulas(_ offset: Double) throws {
        var random = SeededRandom(seed: 4)
        let samples = (0..<40).map { _ in [offset + random.standardNormal(), offset + 3 * random.uniform()] }
        var moments = SampleMoments(elements: 2, fourthMoments: true)
        for sample in samples { moments.add(sample) }
        let meanErrors = try #require(moments.standardErrorOfMean)
        let varianceErrors = try #require(moments.standardErrorOfVariance)
        let n = Double(samples.count)
        for element in 0..<2 {
            let values = samples.map { $0[element] }
            let mean = values.reduce(0, +) / n
            let m2 = values.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / n
            let m4 = values.map { ($0 - mean) * ($0 - mean) * ($0 - mean) * ($0 - mean) }.reduce(0, +) / n
            let expectedMeanError = (m2 * n / (n - 1) / n).squareRoot()
            let expectedVarianceError = (n - 1) / n * ((m4 - m2 * m2 * (n - 3) / (n - 1)) / n).squareRoot()
            #expect(abs(Double(meanErrors[element]) / expectedMeanError - 1) < 1e-5)
            #expect(abs(Double(varianceErrors[element]) / expectedVarianceError - 1) < 1e-4)
        }
    }

    @Test func fewerThanTwoSamplesHaveNoStandardError() {
        var moments = SampleMoments(elements: 3, fourthMoments: true)
        #expect(moments.standardErrorOfMean == nil)
        moments.add([1, 2, 3])
        #expect(moments.standardErrorOfMean == nil && moments.standardErrorOfVariance == nil)
        moments.add([1, 2, 4])
        #expect(moments.standardErrorOfMean == [0, 0, 0.5])
    }
}
