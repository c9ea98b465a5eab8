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
    static func explain(_ file: String, _ method: String, _ parameters: [String: JSONValue]) throws -> [Float] {
        let golden = try #require(try Fixtures.json("golden/\(file).json") as? [String: Any])
        let model = try Fixtures.model(golden["model"] as? String ?? "")
        let explainer = try #require(MethodCatalog.standard.explainer(named: method))
        let problem = ExplanationProblem(
            model: model, inputs: [try tensor(fromJSON: golden["inputs"] as Any)], output: 0, targets: [0, 1, 2])
        let plan = try explainer.prepare(parameters, for: problem)
        return try ExplanationRunner.run(plan, problem: problem, context: ExplanationContext())
            .flatMap { $0.attribution.attributions[0].scalars }
    }

    /// With no rescaled nonlinearity on the way (Gemm, LayerNormalization, Gelu, Add), DeepLIFT
    /// against a zero baseline is x ⊙ ∇f(x): input × gradient, as Captum's DeepLift gives it.
    @Test func deepLiftKeepsTheGradientOfLayerNormalizationAndGelu() throws {
        let deepLift = try Self.explain("zoo_layernorm_mlp_dynamo", "deeplift", ["baselines": .number(0)])
        let inputTimesGradient = try Self.explain("zoo_layernorm_mlp_dynamo", "input_x_gradient", [:])
        #expect(inputTimesGradient.contains { abs($0) > 0.1 })
        #expect(isClose(deepLift, inputTimesGradient, absolute: 1e-5, relative: 1e-4))
    }

    @Test(arguments: ["zoo_layernorm_mlp_dynamo", "zoo_vision_transformer_dynamo"])
    func lrpRefusesLayerNormalizationByName(_ file: String) throws {
        let error = try #require(throws: ExplanationError.self) { try Self.explain(file, "lrp", [:]) }
        #expect(error.code == .methodNotApplicable)
        #expect(error.message.contains("LayerNormalization"))
    }
}
