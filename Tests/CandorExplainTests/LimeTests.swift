import CandorExplain
import CandorModel
import CandorTensor
import CandorTestSupport
import Foundation
import Testing

/// LIME against the `lime` package (`scripts/fixtures/make_lime_fixtures.py`): the quartile
/// discretizer exactly, and whole explanations within lime's own run-to-run spread.
@Suite struct LimeTests {
    static func golden() throws -> [String: Any] {
        try #require(try Fixtures.json("golden/lime_tabular.json") as? [String: Any])
    }

    /// Bins computed from training rows are lime's: edges, per-bin means and deviations,
    /// bounds, frequencies and rule strings, including repeated quartiles and empty bins.
    @Test func binsFromTrainingRowsAreLimesDiscretizer() throws {
        let synthetic = try #require((try Self.golden()["discretizer"] as? [String: Any])?["synthetic"] as? [String: Any])
        let rows = try #require(synthetic["training_data"] as? [[Double]])
        let names = try #require(synthetic["feature_names"] as? [String])
        let expected = try #require(synthetic["features"] as? [[String: Any]])
        for (feature, lime) in expected.enumerated() {
            let bins = try #require(QuartileBins(values: rows.map { $0[feature] }))
            let mismatches = limeDiscretizerMismatches(bins, lime, name: names[feature])
            #expect(mismatches.isEmpty, "feature \(names[feature]): \(mismatches)")
        }
    }

    /// f(x) = 2·x₀ + 0·x₁ − 1·x₂ + 0.5, with training rows spread over every feature.
    static func linear() throws -> (model: ONNXModel, background: JSONValue) {
        let model = try ONNXModelLoader.load(try GraphFactory.linearModel(weights: [[2], [0], [-1]], bias: [0.5]))
        var random = SeededRandom(seed: 1)
        let rows: [JSONValue] = (0..<200).map { _ in .array((0..<3).map { _ in .number(random.standardNormal() * 2 + 1) }) }
        return (model, .array(rows))
    }

    func explain(_ parameters: [String: JSONValue], model: ONNXModel, instance: [Float]) throws -> InstanceAttribution {
        let problem = ExplanationProblem(
            model: model, inputs: [try Tensor(shape: [1, instance.count], scalars: instance)], output: 0, targets: [0])
        let plan = try Lime().prepare(parameters, for: problem)
        return try #require(try ExplanationRunner.run(plan, problem: problem, context: ExplanationContext()).first).attribution
    }

    func number(_ value: JSONValue?) -> Double? {
        if case .number(let number)? = value { return number }
        return nil
    }

    /// Without discretizing, the surrogate of a linear model is the model in standardised
    /// units: coefficient j is w_j · σ_j, and the fit is perfect.
    @Test func aLinearModelIsRecoveredOnStandardisedFeatures() throws {
        let (model, background) = try Self.linear()
        guard case .array(let rows) = background else { return }
        let columns = (0..<3).map { feature in
            rows.compactMap { row -> Double? in
                guard case .array(let values) = row else { return nil }
                return number(values[feature])
            }
        }
        let stds = columns.map { column in
            let mean = column.reduce(0, +) / Double(column.count)
            return (column.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(column.count)).squareRoot()
        }
        let explanation = try explain(
            ["discretize": false, "background": background, "num_features": 3], model: model, instance: [1, 2, 3])
        let expected = zip([2.0, 0, -1], stds).map { Float($0 * $1) }
        #expect(
            isClose(explanation.attributions[0].scalars, expected, absolute: 2e-3, relative: 2e-3),
            "\(explanation.attributions[0].scalars) vs \(expected)")
        #expect((number(explanation.extras["score"]) ?? 0) > 0.9999)
    }

    /// Over groups hidden at a zero baseline, a linear model is linear in the keep-vector:
    /// group g's coefficient is Σ_{j∈g} w_j x_j.
    @Test func groupsOfALinearModelGetTheirContribution() throws {
        let (model, _) = try Self.linear()
        let explanation = try explain(["feature_mask": [0, 1, 0], "baselines": 0, "num_features": 2], model: model, instance: [1, 2, 3])
        // Group 0 = features 0 and 2: 2·1 − 1·3 = −1; group 1 = feature 1: 0.
        #expect(
            isClose(explanation.attributions[0].scalars, [-1, 0, -1], absolute: 2e-3, relative: 2e-3),
            "\(explanation.attributions[0].scalars)")
    }

    /// Dummy: a feature the model ignores is not among the chosen features.
    @Test func aFeatureTheModelIgnoresIsLeftOut() throws {
        let (model, background) = try Self.linear()
        // x₀ in its top bin raises f (w₀ > 0); x₂ in its bottom bin raises it too (w₂ < 0).
        let explanation = try explain(["background": background, "num_features": 2], model: model, instance: [6, 2, -4])
        #expect(explanation.attributions[0].scalars[1] == 0)
        #expect(explanation.attributions[0].scalars[0] > 0 && explanation.attributions[0].scalars[2] > 0)
        guard case .array(let rules)? = explanation.extras["rules"] else {
            Issue.record("no rules")
            return
        }
        #expect(rules.count == 2)
    }

    @Test func aFixedSeedReproducesAndAnotherSeedDiffers() throws {
        let (model, background) = try Self.linear()
        func values(_ seed: Int) throws -> [Float] {
            try explain(["background": background, "n_samples": 300, "seed": .number(Double(seed))], model: model, instance: [1, 2, 3])
                .attributions[0].scalars
        }
        #expect(try values(3) == values(3))
        #expect(try values(3) != values(4))
    }

    @Test func withoutStatisticsTheErrorSaysWhatToSend() throws {
        let (model, _) = try Self.linear()
        #expect {
            _ = try explain([:], model: model, instance: [1, 2, 3])
        } throws: { error in
            guard let error = error as? ExplanationError else { return false }
            return error.code == .missingReferenceData && error.message.contains("'background'")
        }
    }
}
