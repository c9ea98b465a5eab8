import CandorExplain
import CandorModel
import CandorTensor
import CandorTestSupport
import Foundation
import Testing

/// `shap_summary`: every row explained as an explain request would explain it, then the
/// summaries SHAP plots.
@Suite struct ShapSummaryTests {
    let iris: ONNXModel
    let rows: Tensor

    init() throws {
        let models = Fixtures.repository.appendingPathComponent("models")
        iris = try ONNXModelLoader.load(contentsOf: models.appendingPathComponent("iris_mlp.onnx"))
        let text = try Data(contentsOf: models.appendingPathComponent("iris_mlp.background.json"))
        let background = try #require(try JSONSerialization.jsonObject(with: text) as? [[Double]])
        rows = try Tensor(shape: [background.count, 4], scalars: background.flatMap { $0.map(Float.init) })
    }

    func run(_ parameters: [String: JSONValue], problem: AnalysisProblem) throws -> [String: JSONValue] {
        let plan = try ShapSummary().prepare(parameters, for: problem)
        let progress = AnalysisProgress(total: plan.progressTotal, unit: plan.progressUnit)
        let result = try plan.run(problem, context: AnalysisContext(explanation: ExplanationContext(), progress: progress))
        #expect(progress.done == progress.total)
        return try #require(result.objectValue)
    }

    /// The values are the explain results of each row alone, for the same method, parameters
    /// and target; the summaries are their means.
    @Test func theValuesAreTheExplainResultsOfEachRow() throws {
        let problem = AnalysisProblem(model: iris, rows: [rows], output: 0, target: 2)
        let methodParameters: [String: JSONValue] = ["n_steps": 16]
        let result = try run(["method": "integrated_gradients", "method_params": .object(methodParameters)], problem: problem)
        let values = try #require(
            result["values"].flatMap { value -> [[Double]]? in
                guard case .array(let rows) = value else { return nil }
                return rows.map { row in
                    guard case .array(let items) = row else { return [] }
                    return items.compactMap(\.doubleValue)
                }
            })
        #expect(values.count == rows.shape[0])
        for row in [0, 7, 29] {
            let single = ExplanationProblem(model: iris, inputs: [rows.rows(row..<(row + 1))], output: 0, targets: [2])
            let plan = try IntegratedGradients().prepare(methodParameters, for: single)
            let expected = try ExplanationRunner.run(plan, problem: single, context: ExplanationContext())
            // To float32 rounding: OpenBLAS may take another kernel for a batch of rows than
            // for one row alone (it does on AMD's Zen), which changes the last bit.
            let alone = expected[0].attribution.attributions[0].scalars.map { Double($0.description) ?? 0 }
            #expect(values[row].count == alone.count)
            for (value, reference) in zip(values[row], alone) { #expect(abs(value - reference) <= 1e-6 * Swift.max(1, abs(reference))) }
        }
        guard case .array(let features)? = result["features"], case .object(let first)? = features.first else {
            Issue.record("no features")
            return
        }
        let meanAbs = values.map { abs($0[0]) }.reduce(0, +) / Double(values.count)
        #expect(abs((first["mean_abs"]?.doubleValue ?? 0) - meanAbs) < 1e-6)
        #expect(result["method"] == "integrated_gradients")
    }

    /// On a linear model with a zero baseline, integrated gradients are w ⊙ x, so the ranking
    /// follows |w| × mean |x| and the dependence pairs lie on the line φ = w x.
    @Test func aLinearModelsSummaryFollowsItsWeights() throws {
        let linear = try ONNXModelLoader.load(try GraphFactory.linearModel(weights: [[3], [0], [-1]], bias: [0.5]))
        let data = try Tensor(shape: [4, 3], scalars: [1, 2, 3, -1, 0, 1, 2, 2, -2, 0.5, 1, 4])
        let result = try run(["method": "integrated_gradients"], problem: AnalysisProblem(model: linear, rows: [data]))
        #expect(result["ranking"] == .array(["0", "2", "1"]))
        guard case .array(let pairs)? = result["dependence"], case .object(let first)? = pairs.first,
            case .array(let xs)? = first["values"], case .array(let phis)? = first["attributions"]
        else {
            Issue.record("no dependence pairs")
            return
        }
        for (x, phi) in zip(xs.compactMap(\.doubleValue), phis.compactMap(\.doubleValue)) { #expect(abs(phi - 3 * x) < 1e-5) }
    }

    @Test func theDefaultMethodSuitsTheModelAndBadParametersAreNamed() throws {
        let problem = AnalysisProblem(model: iris, rows: [rows], output: 0, target: 0, dataset: DatasetSummary(background: [rows]))
        let plan = try ShapSummary().prepare([:], for: problem)
        #expect(plan.effectiveParameters["method"] == "kernel_shap")
        #expect(throws: ExplanationError.self) { try ShapSummary().prepare(["method": "no_such"], for: problem) }
        let badSteps = refusal(["method": "integrated_gradients", "method_params": .object(["n_steps": 0])], problem: problem)
        #expect(badSteps?.message.contains("n_steps") == true)
        #expect(refusal(["method": "tree_shap"], problem: problem)?.code == .methodNotApplicable)
    }

    /// The error `prepare` refuses `parameters` with; nil when it accepts them.
    func refusal(_ parameters: [String: JSONValue], problem: AnalysisProblem) -> ExplanationError? {
        let outcome = Result { () throws(ExplanationError) -> any AnalysisPlan in try ShapSummary().prepare(parameters, for: problem) }
        if case .failure(let error) = outcome { return error }
        return nil
    }

    @Test func cancellationStopsTheRun() throws {
        let problem = AnalysisProblem(model: iris, rows: [rows], output: 0, target: 0)
        let plan = try ShapSummary().prepare(["method": "saliency"], for: problem)
        let cancellation = CancellationFlag()
        cancellation.cancel()
        let context = AnalysisContext(
            explanation: ExplanationContext(cancellation: cancellation), progress: AnalysisProgress(total: 30, unit: "rows"))
        #expect(throws: ExplanationError(.cancelled, "the computation was cancelled")) { try plan.run(problem, context: context) }
    }
}
