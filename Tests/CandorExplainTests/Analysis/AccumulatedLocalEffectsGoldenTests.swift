import CandorExplain
import CandorModel
import CandorTestSupport
import Foundation
import Testing

/// `ale` against Alibi 0.9.6's `ALE` on the same ONNX models and rows
/// (`Tests/Fixtures/analyses/ale.json`): every feature of a binary classifier's logits and of a
/// regressor, a three-class model's target, features with few distinct values, constant
/// features (Alibi's extrapolation, positive and negative), `min_bin_points`. Grids and
/// deciles are NumPy's quantiles recomputed in double precision and agree to 1e-12; effects
/// are differences of the model's float32 outputs (onnxruntime's there, Candor's here) and agree
/// to 2e-6 absolute plus 1e-5 relative. `constant_value` is the analysed target's mean (Alibi
/// averages all output columns; the fixture records both).
@Suite struct AccumulatedLocalEffectsGoldenTests {
    @Test func effectsMatchAlibi() throws {
        var comparison = GoldenComparison { field in
            ["grid_values", "feature_deciles"].contains(field) ? (1e-300, 1e-12) : (2e-6, 1e-5)
        }
        for golden in try AnalysisGoldenModel.load("analyses/ale.json") {
            for (index, goldenCase) in golden.cases.enumerated() {
                let parameters = try AnalysisTesting.parameters(goldenCase["parameters"])
                let constants = (goldenCase["constant_columns"] as? [String: NSNumber] ?? [:]).mapValues(\.doubleValue)
                let problem = try golden.problem(constantColumns: constants)
                let (result, plan, progress) = try AnalysisTesting.run("ale", parameters, problem: problem)
                var expected = try #require(goldenCase["result"] as? [String: Any])
                expected["alibi_constant_value"] = nil
                comparison.compare(result, try AnalysisTesting.json(expected), path: "\(golden.name) case \(index)")
                #expect(progress.done == plan.progressTotal)
            }
        }
        #expect(comparison.failures.isEmpty, "\(comparison.failures.prefix(20))")
        print("ale vs Alibi, largest differences (absolute, relative):", comparison.largest)
    }
}
