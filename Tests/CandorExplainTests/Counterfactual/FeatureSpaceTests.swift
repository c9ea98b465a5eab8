import CandorTensor
import Testing

@testable import CandorExplain

@Suite struct FeatureSpaceTests {
    func space(
        ranges: [ClosedRange<Double>], varying: [Int]? = nil, domains: FeatureDomains = .none, scale: [Double]? = nil
    ) -> FeatureSpace {
        FeatureSpace(
            count: ranges.count, names: nil, varying: varying ?? Array(ranges.indices), ranges: ranges, domains: domains,
            scale: scale ?? ranges.map { _ in 1 })
    }

    /// MAD = median |x − median(x)| per column, as numpy computes medians (the mean of the
    /// middle two for an even count); a feature constant over most rows gets 1.
    @Test func theScaleIsEachColumnsMedianAbsoluteDeviation() {
        let rows: [Float] = [1, 5, 2, 5, 4, 5, 10, 7]  // columns [1, 2, 4, 10] and [5, 5, 5, 7]
        let scale = FeatureSpace.medianAbsoluteDeviations(rows, count: 2)
        // column 0: median 3, deviations [2, 1, 1, 7] → median 1.5; column 1: median 5, deviations [0, 0, 0, 2] → 0 → 1.
        #expect(scale == [1.5, 1])
    }

    @Test func theDistanceScalesEachChangeByItsMADAndCountsACategoryChangeOnce() {
        let space = space(ranges: [0...10, 0...10, 0...3], domains: FeatureDomains(categories: [2: [0, 1, 3]]), scale: [2, 0.5, 1])
        let expected: Double = 2 / 2 + 0.5 / 0.5 + 1
        #expect(space.distance([1, 1, 0], [3, 1.5, 3]) == expected)
        #expect(space.distance([1, 1, 0], [1, 1, 0]) == 0)
    }

    /// Immutable features keep the instance's value; others are clipped to their range, rounded
    /// inward when whole-numbered, or moved to the nearest code.
    @Test func projectionKeepsEveryDeclaredConstraint() {
        let domains = FeatureDomains(integer: [1], categories: [2: [0, 1, 3]])
        let space = space(ranges: [0...10, 0.5...4.2, 0...3, 0...1], varying: [0, 1, 2], domains: domains)
        let instance: [Double] = [5, 2, 1, 0.5]
        #expect(space.project([12, 4.6, 2.4, 0.9], onto: instance) == [10, 4, 3, 0.5])
        #expect(space.project([-3, 0.4, 1.9, 0.5], onto: instance) == [0, 1, 1, 0.5])
        #expect(space.project([5, 2.6, 0.2, 0.5], onto: instance) == [5, 3, 0, 0.5])
    }

    /// The instance's own value stays admissible even outside the permitted range, so an
    /// unchanged feature never counts as a change.
    @Test func theInstancesOwnValueIsAlwaysAdmissible() {
        let space = space(ranges: [0...1, 0...1])
        #expect(space.project([3, 0.5], onto: [3, 0.2]) == [3, 0.5])
        #expect(space.project([4, 0.5], onto: [3, 0.2]) == [3, 0.5])
        #expect(space.project([-1, 0.5], onto: [3, 0.2]) == [0, 0.5])
    }
}
