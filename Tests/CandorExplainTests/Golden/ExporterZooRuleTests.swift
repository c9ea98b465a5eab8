import CandorExplain
import CandorModel
import CandorTensor
import CandorTestSupport
import Foundation
import Testing

/// The backward-rule decisions of the operators the exporters write, on the exporter zoo's
/// models: DeepLIFT keeps the gradient of `LayerNormalization` and `Gelu` (Captum hooks
/// neither), and LRP refuses a model that uses them, naming them.
@Suite struct ExporterZooRuleTests {
    static func explanations(_ file: String, _ method: String, _ parameters: [String: JSONValue]) throws -> [InstanceExplanation] {
        let golden = try #require(try Fixtures.json("golden/\(file).json") as? [String: Any])
        let model = try Fixtures.model(golden["model"] as? String ?? "")
        let explainer = try #require(MethodCatalog.standard.explainer(named: method))
        let problem = ExplanationProblem(
            model: model, inputs: [try tensor(fromJSON: golden["inputs"] as Any)], output: 0, targets: [0, 1, 2])
        let plan = try explainer.prepare(parameters, for: problem)
        return try ExplanationRunner.run(plan, problem: problem, context: ExplanationContext())
    }

    static func explain(_ file: String, _ method: String, _ parameters: [String: JSONValue]) throws -> [Float] {
        try explanations(file, method, parameters).flatMap { $0.attribution.attributions[0].scalars }
    }

    /// With no rescaled nonlinearity on the way (Gemm, LayerNormalization, Gelu, Add), DeepLIFT
    /// against a zero baseline is x ⊙ ∇f(x): input × gradient, as Captum's DeepLift gives it.
    @Test func deepLiftKeepsTheGradientOfLayerNormalizationAndGelu() throws {
        let deepLift = try Self.explain("zoo_layernorm_mlp_dynamo", "deeplift", ["baselines": .number(0)])
        let inputTimesGradient = try Self.explain("zoo_layernorm_mlp_dynamo", "input_x_gradient", [:])
        #expect(inputTimesGradient.contains { abs($0) > 0.1 })
        #expect(isClose(deepLift, inputTimesGradient, absolute: 1e-5, relative: 1e-4))
    }

    /// The SiLU residual CNNs (PyTorch's dynamo and legacy exporters) and the Keras CNN
    /// (tf2onnx, swish) write SiLU as `Mul(x, Sigmoid(x))`. Taken as one nonlinearity by the
    /// rescale rule, it keeps DeepLIFT's summation-to-delta (Shrikumar et al., 2017): before,
    /// the Sigmoid's rescaled multiplier times the Mul's product rule left deltas up to 15 on
    /// outputs of a few units.
    @Test(arguments: ["zoo_residual_cnn_dynamo", "zoo_residual_cnn_legacy", "zoo_keras_cnn"])
    func deepLiftIsCompleteThroughSiLU(_ file: String) throws {
        let golden = try #require(try Fixtures.json("golden/\(file).json") as? [String: Any])
        let outputs = try #require(golden["outputs"] as? [String: Any]).values.map { try tensor(fromJSON: $0) }
        let scale = outputs.flatMap(\.scalars).map(abs).max() ?? 1
        for baseline in [0.0, 0.25] {
            let deltas = try Self.explanations(file, "deeplift", ["baselines": .number(baseline)]).map {
                try #require($0.attribution.extras["convergence_delta"]?.doubleValue)
            }
            #expect(deltas.count == 3)
            for delta in deltas { #expect(abs(delta) < 1e-4 * Double(max(1, scale)), "baseline \(baseline): delta \(delta)") }
        }
    }

    /// LRP passes relevance through SiLU as through ReLU, so the residual CNNs, whose only
    /// other nonlinearity is SiLU's Sigmoid, are no longer refused.
    @Test(arguments: ["zoo_residual_cnn_dynamo", "zoo_residual_cnn_legacy"])
    func lrpPassesThroughSiLU(_ file: String) throws {
        let golden = try #require(try Fixtures.json("golden/\(file).json") as? [String: Any])
        let model = try Fixtures.model(golden["model"] as? String ?? "")
        // The SiLU pairs' Sigmoids are in the graph, and none is refused.
        #expect(model.operatorTypes.contains("Sigmoid"))
        #expect(model.lrpRefusals(feeding: 0).isEmpty)
        let attributions = try Self.explain(file, "lrp", [:])
        #expect(attributions.allSatisfy(\.isFinite) && attributions.contains { $0 != 0 })
    }

    @Test(arguments: ["zoo_layernorm_mlp_dynamo", "zoo_vision_transformer_dynamo"])
    func lrpRefusesLayerNormalizationByName(_ file: String) throws {
        let error = try #require(throws: ExplanationError.self) { try Self.explain(file, "lrp", [:]) }
        #expect(error.code == .methodNotApplicable)
        #expect(error.message.contains("LayerNormalization"))
    }
}
