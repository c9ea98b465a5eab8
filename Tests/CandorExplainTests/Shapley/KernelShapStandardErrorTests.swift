import CandorExplain
import CandorModel
import CandorTensor
import CandorTestSupport
import Foundation
import Testing

/// KernelSHAP's `attributions_stderr` is calibrated: over many seeds, the nominal 95 %
/// intervals value ± 1.96·stderr cover the exact Shapley values about 95 % of the time.
@Suite struct KernelShapStandardErrorTests {
    /// The 30 features of the demo model in 10 groups of three: 1,022 coalitions.
    let game: GroupedBreastCancer

    init() throws { game = try GroupedBreastCancer(groups: 10) }

    func explain(_ method: any Explainer, _ parameters: [String: JSONValue]) throws -> [InstanceAttribution] {
        try game.explain(method, parameters)
    }

    /// 100 seeds × 2 instances × 10 groups with 200 of the 1,022 coalitions (the singletons
    /// enumerated, the rest drawn): the intervals cover exact_shapley's values (the same game,
    /// every coalition evaluated) between 90 % and 99 % of the time.
    @Test func nominalIntervalsCoverTheExactValues() throws {
        let exact = try explain(ExactShapley(), [:]).map { $0.attributions[0].scalars }
        var covered = 0
        var total = 0
        for seed in 0..<100 {
            let sampled = try explain(KernelShap(), ["n_samples": 200, "seed": .number(Double(seed))])
            for (row, attribution) in sampled.enumerated() {
                let errors = try #require(attribution.standardErrors?.first?.scalars)
                for (element, (value, error)) in zip(attribution.attributions[0].scalars, errors).enumerated() where element % 3 == 0 {
                    total += 1
                    if abs(value - exact[row][element]) <= 1.96 * error + 1e-6 { covered += 1 }
                }
            }
        }
        let coverage = Double(covered) / Double(total)
        #expect(coverage >= 0.90 && coverage <= 0.99, "coverage \(coverage)")
    }

    /// With every coalition enumerated the values are exact and their errors zero.
    @Test func enumeratingEveryCoalitionLeavesNoError() throws {
        let exact = try explain(KernelShap(), ["n_samples": 1022])
        #expect(exact.allSatisfy { $0.standardErrors?.first?.scalars.allSatisfy { $0 == 0 } == true })
    }

    /// More draws, a smaller error (faster than √n: more coalition sizes are then enumerated).
    @Test func theErrorShrinksWithMoreDraws() throws {
        func meanError(_ samples: Int) throws -> Double {
            let errors = try explain(KernelShap(), ["n_samples": .number(Double(samples))]).flatMap {
                $0.standardErrors?.first?.scalars ?? []
            }
            return errors.reduce(0.0) { $0 + Double($1) } / Double(max(errors.count, 1))
        }
        #expect(try meanError(100) > 1.5 * meanError(400))
    }
}
