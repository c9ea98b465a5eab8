import CandorExplain
import CandorModel
import CandorTensor
import CandorTestSupport
import Foundation
import Testing

/// DeepLIFT's properties on the fixture networks: completeness where every nonlinearity has a
/// rescale rule, w ⊙ (x − x′) on a linear model, and DeepLIFT SHAP as the mean over its
/// baselines. (Captum's numbers on convolutional networks are in the CNN goldens.)
@Suite struct DeepLiftTests {
    static func problem(_ model: any PredictiveModel, rows: [[Float]], output: Int = 0, target: Int = 0) throws -> ExplanationProblem {
        ExplanationProblem(
            model: model, inputs: [try Tensor(shape: [rows.count, rows[0].count], scalars: rows.flatMap { $0 })], output: output,
            targets: Array(repeating: target, count: rows.count))
    }

    /// ReLU, Sigmoid, Tanh and LeakyReLU all take the rescale rule, so the attributions add
    /// up to f(x) − f(x′) (Shrikumar et al.'s summation-to-delta).
    @Test func attributionsSumToTheOutputDifference() throws {
        let model = try Fixtures.model("models/mlp_torchscript.onnx")
        let rows: [[Float]] = [[0.3, -1, 2, 0.5, 1, -0.7], [1, 1, -2, 0, 0.25, 3]]
        for target in 0..<4 {
            let problem = try Self.problem(model, rows: rows, target: target)
            let plan = try DeepLift().prepare(["baselines": 0.25], for: problem)
            for explanation in try ExplanationRunner.run(plan, problem: problem, context: ExplanationContext()) {
                let delta = try #require(explanation.attribution.extras["convergence_delta"]?.doubleValue)
                #expect(abs(delta) < 1e-4, "target \(target): delta \(delta)")
            }
        }
    }

    @Test func aLinearModelGetsWeightsTimesTheDifference() throws {
        let model = try Fixtures.model("converted/linear_regression.onnx")
        let form = try #require(model.linearForm)
        let rows: [[Float]] = [[0.02, -0.04, 0.06, 0.01, -0.03, 0.02, 0.05, -0.01, 0.03, 0.04]]
        let problem = try Self.problem(model, rows: rows)
        let deeplift = try ExplanationRunner.run(try DeepLift().prepare([:], for: problem), problem: problem, context: ExplanationContext())
        let expected = zip(form.weights[0], rows[0]).map { Float($0 * Double($1)) }
        #expect(isClose(deeplift[0].attribution.attributions[0].scalars, expected, absolute: 1e-3))
        // With no ReLU to change, guided backpropagation and deconvolution are the gradient.
        for method in [GuidedBackprop() as any Explainer, Deconvolution()] {
            let values = try ExplanationRunner.run(try method.prepare([:], for: problem), problem: problem, context: ExplanationContext())
            #expect(isClose(values[0].attribution.attributions[0].scalars, form.weights[0].map(Float.init), absolute: 1e-3))
        }
    }

    @Test func deepLiftShapIsTheMeanOverItsBaselines() throws {
        let model = try Fixtures.model("models/mlp_torchscript.onnx")
        let row: [Float] = [0.3, -1, 2, 0.5, 1, -0.7]
        let baselines: [[Float]] = [[0, 0, 0, 0, 0, 0], [1, -1, 0.5, 0, 2, 1], [-0.5, 0.3, 0.1, 1, 0, -1]]
        let problem = try Self.problem(model, rows: [row], target: 2)
        let shap = try ExplanationRunner.run(
            try DeepLiftShap().prepare(["baselines": .array(baselines.map { .array($0.map { .number(Double($0)) }) })], for: problem),
            problem: problem, context: ExplanationContext())
        var mean = [Float](repeating: 0, count: row.count)
        for baseline in baselines {
            let single = try ExplanationRunner.run(
                try DeepLift().prepare(["baselines": .array(baseline.map { .number(Double($0)) })], for: problem), problem: problem,
                context: ExplanationContext())
            for (index, value) in single[0].attribution.attributions[0].scalars.enumerated() {
                mean[index] += value / Float(baselines.count)
            }
        }
        #expect(isClose(shap[0].attribution.attributions[0].scalars, mean, absolute: 1e-5))
        #expect(abs(try #require(shap[0].attribution.extras["convergence_delta"]?.doubleValue)) < 1e-4)
    }
}
