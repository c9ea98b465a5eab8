import CandorExplain
import CandorModel
import CandorTensor
import CandorTestSupport
import Foundation
import Testing

/// scikit-learn linear models and pipelines converted by skl2onnx
/// (`scripts/fixtures/make_converter_fixtures.py`): `linear_shap` equals SHAP's
/// `LinearExplainer` on the final estimator with the scaled data, class by class.
@Suite struct LinearShapTests {
    struct Case: Sendable, CustomTestStringConvertible {
        let name: String
        let file: String
        let inputs: [[Double]]
        let background: [[Double]]
        /// [class][instance][feature]
        let values: [[[Double]]]
        let expectedValue: [Double]
        /// [class][instance]
        let margin: [[Double]]
        var testDescription: String { name }
    }

    static let cases: [Case] = {
        guard let root = try? Fixtures.json("golden/converted_onnx.json") as? [String: Any] else { return [] }
        return (root["models"] as? [[String: Any]] ?? []).compactMap { model in
            guard let golden = model["linear_shap"] as? [String: Any] else { return nil }
            return Case(
                name: model["name"] as? String ?? "?", file: model["file"] as? String ?? "",
                inputs: (model["inputs"] as? [Any] ?? []).map(jsonNumbers),
                background: (golden["background"] as? [Any] ?? []).map(jsonNumbers),
                values: (golden["values"] as? [Any] ?? []).map { ($0 as? [Any] ?? []).map(jsonNumbers) },
                expectedValue: jsonNumbers(golden["expected_value"] ?? []),
                margin: (golden["margin"] as? [Any] ?? []).map(jsonNumbers))
        }
    }()

    static func problem(_ model: ONNXModel, _ inputs: [[Double]], target: Int) throws -> ExplanationProblem {
        let tensor = try Tensor(shape: [inputs.count, inputs[0].count], scalars: inputs.flatMap { $0.map(Float.init) })
        let output = model.outputs.firstIndex { $0.elementType == .float32 } ?? 0
        return ExplanationProblem(model: model, inputs: [tensor], output: output, targets: Array(repeating: target, count: inputs.count))
    }

    @Test func everyLinearFixtureIsPresent() {
        #expect(Self.cases.map(\.name) == ["linear_regression", "logistic_scaled_binary", "logistic_minmax_multinomial"])
    }

    @Test(arguments: cases)
    func valuesEqualShapLinearExplainer(_ testCase: Case) throws {
        let model = try Fixtures.model(testCase.file)
        #expect(model.linearForm != nil)
        let background: JSONValue = .array(testCase.background.map { .array($0.map { .number($0) }) })
        for target in testCase.values.indices {
            let problem = try Self.problem(model, testCase.inputs, target: target)
            let plan = try LinearShap().prepare(["background": background], for: problem)
            let explanations = try ExplanationRunner.run(plan, problem: problem, context: ExplanationContext())
            for (row, explanation) in explanations.enumerated() {
                let expected = testCase.values[target][row]
                let scale = expected.map(abs).max() ?? 1
                let values = explanation.attribution.attributions[0].scalars
                #expect(isClose(values, expected.map(Float.init), absolute: Float(1e-5 * max(scale, 1))), "class \(target) row \(row)")
                let base = try #require(explanation.attribution.extras["base_value"]?.doubleValue)
                let margin = try #require(explanation.attribution.extras["margin"]?.doubleValue)
                #expect(abs(base - testCase.expectedValue[target]) <= 1e-5 * max(1, abs(base)))
                #expect(abs(margin - testCase.margin[target][row]) <= 1e-4 * max(1, abs(margin)))
                // Local accuracy: the values add up to the margin less the base value.
                #expect(abs(values.reduce(0) { $0 + Double($1) } + base - margin) <= 1e-4 * max(1, abs(margin)))
            }
        }
    }

    /// For a linear model, integrated gradients from the background mean are the same
    /// w ⊙ (x − x̄): on a linear model both are the exact Shapley values with the mean as
    /// baseline.
    @Test func integratedGradientsFromTheMeanEqualLinearShap() throws {
        let testCase = try #require(Self.cases.first { $0.name == "linear_regression" })
        let model = try Fixtures.model(testCase.file)
        let width = testCase.background[0].count
        let mean = (0..<width).map { column in testCase.background.reduce(0) { $0 + $1[column] } / Double(testCase.background.count) }
        let problem = try Self.problem(model, testCase.inputs, target: 0)
        let shap = try ExplanationRunner.run(
            try LinearShap().prepare(["background": .array(testCase.background.map { .array($0.map { .number($0) }) })], for: problem),
            problem: problem, context: ExplanationContext())
        let gradients = try ExplanationRunner.run(
            try IntegratedGradients().prepare(["baselines": .array(mean.map { .number($0) })], for: problem),
            problem: problem, context: ExplanationContext())
        for (a, b) in zip(shap, gradients) {
            let scale = a.attribution.attributions[0].scalars.map(abs).max() ?? 1
            #expect(isClose(b.attribution.attributions[0].scalars, a.attribution.attributions[0].scalars, absolute: 1e-4 * max(scale, 1)))
        }
    }

    @Test func aPipelineThatIsNotLinearIsRefused() throws {
        let model = try Fixtures.model("converted/logistic_normalized.onnx")
        #expect(model.linearForm == nil)
        let problem = try Self.problem(model, [[5.1, 3.5, 1.4, 0.2]], target: 0)
        #expect(!ModelRequirement.linear.isMet(by: model))
        #expect(throws: ExplanationError.self) {
            _ = try LinearShap().prepare(["background": .array([.array([1, 1, 1, 1])])], for: problem)
        }
    }
}
