import CandorExplain
import CandorModel
import CandorTestSupport
import Foundation
import Testing

/// `partial_dependence` against scikit-learn 1.9.1's `partial_dependence(method="brute")` on the
/// same ONNX models and rows (`Tests/Fixtures/analyses/partial_dependence.json`): a binary
/// classifier's logits, a regressor, and two three-class models with a target; one features, pairs,
/// few distinct values, a declared categorical feature, every kind, centring. Grids are computed
/// the same way in double precision and agree to 1e-12; the curves average the model's float32
/// outputs (onnxruntime's there, Candor's here), so they agree to float32 precision: 2e-6
/// absolute plus 1e-5 relative.
@Suite struct PartialDependenceGoldenTests {
    @Test func curvesMatchScikitLearn() throws {
        var comparison = GoldenComparison { field in
            field == "grid_values" ? (1e-300, 1e-12) : (2e-6, 1e-5)
        }
        for golden in try AnalysisGoldenModel.load("analyses/partial_dependence.json") {
            for (index, goldenCase) in golden.cases.enumerated() {
                let parameters = try AnalysisTesting.parameters(goldenCase["parameters"])
                let problem = try golden.problem(categorical: goldenCase["categorical_features"] as? [String] ?? [])
                let (result, plan, progress) = try AnalysisTesting.run("partial_dependence", parameters, problem: problem)
                comparison.compare(result, try AnalysisTesting.json(goldenCase["result"] as Any), path: "\(golden.name) case \(index)")
                #expect(progress.done == plan.progressTotal)
            }
        }
        #expect(comparison.failures.isEmpty, "\(comparison.failures.prefix(20))")
        print("partial_dependence vs scikit-learn, largest differences (absolute, relative):", comparison.largest)
    }
}
