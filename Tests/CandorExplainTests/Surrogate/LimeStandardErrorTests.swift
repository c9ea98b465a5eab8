import CandorExplain
import CandorModel
import CandorTensor
import CandorTestSupport
import Foundation
import Testing

/// LIME's `attributions_stderr` is calibrated: the nominal 95 % intervals of 300-sample
/// surrogates cover the coefficients a 200,000-sample surrogate converges to (the same
/// regression with far less sampling error) about 95 % of the time.
@Suite struct LimeStandardErrorTests {
    func explain(_ parameters: [String: JSONValue]) throws -> InstanceAttribution {
        let (model, background) = try LimeTests.linear()
        var parameters = parameters
        parameters["background"] = background
        parameters["feature_selection"] = "none"
        let problem = ExplanationProblem(model: model, inputs: [try Tensor(shape: [1, 3], scalars: [1, 2, 3])], output: 0, targets: [0])
        return try #require(
            try ExplanationRunner.run(try Lime().prepare(parameters, for: problem), problem: problem, context: ExplanationContext()).first
        )
        .attribution
    }

    /// The discretized surrogate of the linear model is not exact (its bins flatten each
    /// feature), so each draw of samples moves its coefficients.
    @Test func nominalIntervalsCoverTheManySampleCoefficients() throws {
        let reference = try explain(["n_samples": 200_000]).attributions[0].scalars
        var covered = 0
        var total = 0
        for seed in 1...100 {
            let sampled = try explain(["n_samples": 300, "seed": .number(Double(seed))])
            let errors = try #require(sampled.standardErrors?.first?.scalars)
            for (element, (value, error)) in zip(sampled.attributions[0].scalars, errors).enumerated() {
                total += 1
                if abs(value - reference[element]) <= 1.96 * error { covered += 1 }
            }
        }
        let coverage = Double(covered) / Double(total)
        #expect(coverage >= 0.90 && coverage <= 0.99, "coverage \(coverage)")
    }

    /// Four times the samples, half the error.
    @Test func theErrorHalvesWithFourTimesTheSamples() throws {
        let few = try #require(try explain(["n_samples": 1000]).standardErrors?.first?.scalars)
        let many = try #require(try explain(["n_samples": 4000]).standardErrors?.first?.scalars)
        for (a, b) in zip(few, many) where a > 0 { #expect(a / b > 1.6 && a / b < 2.5, "\(a) vs \(b)") }
    }
}
