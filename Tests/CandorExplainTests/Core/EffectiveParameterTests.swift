import CandorExplain
import CandorModel
import CandorTensor
import CandorTestSupport
import Foundation
import Testing

/// The effective parameters are echoed in responses and make up the cache key: a parameter
/// missing from them would let two different requests share a cached answer.
@Suite struct EffectiveParameterTests {
    /// A problem each method applies to: two tabular instances with reference rows, two images
    /// for the image-only method, two rows for a tree ensemble's or a linear model's, two texts'
    /// token ids for the transformer's.
    static func problem(for method: String) throws -> ExplanationProblem {
        if method == "tree_shap" {
            let ensemble = try XGBoostModelLoader.load(try Data(contentsOf: Fixtures.url("trees/xgb_regression.json")))
            return ExplanationProblem(model: ensemble, inputs: [try Tensor(repeating: 0, shape: [2, 10])], output: 0, targets: nil)
        }
        if method == "linear_shap" {
            let model = try Fixtures.model("converted/logistic_minmax_multinomial.onnx")
            let rows = try Tensor(repeating: 1, shape: [3, 4])
            return ExplanationProblem(
                model: model, inputs: [try Tensor(repeating: 2, shape: [2, 4])], output: 1, targets: nil,
                dataset: DatasetSummary(background: [rows], backgroundSource: "test"))
        }
        if [
            "lrp", "grad_cam", "guided_grad_cam", "layer_integrated_gradients", "layer_gradient_x_activation", "layer_conductance",
            "neuron_gradient",
        ]
        .contains(method) {
            let model = try ONNXModelLoader.load(try GraphFactory.smallConvolutionalNetwork())
            return ExplanationProblem(model: model, inputs: [try Tensor(repeating: 0.5, shape: [2, 1, 6, 6])], output: 0, targets: nil)
        }
        if method == "attention_rollout" || method == "attention_flow" {
            let model = try ONNXModelLoader.load(contentsOf: Fixtures.repository.appendingPathComponent("models/review_sentiment.onnx"))
            let ids = try Tensor(shape: [2, 4], scalars: [2, 7, 9, 3, 2, 8, 8, 3])
            return ExplanationProblem(model: model, inputs: [ids, try Tensor(repeating: 1, shape: [2, 4])], output: 0, targets: nil)
        }
        if method == "slic" {
            let model = try ONNXModelLoader.load(contentsOf: Fixtures.repository.appendingPathComponent("models/shapes_mlp.onnx"))
            return ExplanationProblem(model: model, inputs: [try Tensor(repeating: 0.5, shape: [2, 3, 32, 32])], output: 0, targets: nil)
        }
        let model = try Fixtures.model("models/mlp_torchscript.onnx")
        var random = SeededRandom(seed: 4)
        let rows = try Tensor(shape: [40, 6], scalars: (0..<240).map { _ in Float(random.standardNormal()) })
        return ExplanationProblem(
            model: model, inputs: [try Tensor(shape: [2, 6], scalars: [0.3, -1, 2, 0.5, 1, -0.7, 1, 1, -2, 0, 0.25, 3])], output: 0,
            targets: nil, dataset: DatasetSummary(background: [rows], backgroundSource: "test"))
    }

    /// The smallest request each method accepts.
    static let required: [String: [String: JSONValue]] = [
        "occlusion": ["sliding_window_shapes": 1], "layer_integrated_gradients": ["layer": "relu"],
        "layer_gradient_x_activation": ["layer": "relu"], "layer_conductance": ["layer": "relu"],
        "neuron_gradient": ["layer": "pool", "neuron_selector": [1, 2, 0]],
        "min_perturbation": ["perturbation": "gaussian_noise"],
    ]

    @Test(arguments: MethodCatalog.standard.names)
    func everyDefaultIsEchoed(_ method: String) throws {
        let explainer = try #require(MethodCatalog.standard.explainer(named: method))
        let plan = try Self.prepare(explainer, Self.required[method] ?? [:], for: try Self.problem(for: method))
        for spec in explainer.descriptor.parameters where spec.defaultValue != nil {
            #expect(plan.effectiveParameters[spec.name] != nil, "\(method) does not echo '\(spec.name)'")
        }
    }

    /// The method's plan; partition_shap's for two texts of two tokens each (it takes text
    /// instances only), its masker settings given as the server resolves them.
    static func prepare(
        _ explainer: any Explainer, _ parameters: [String: JSONValue], for problem: ExplanationProblem
    ) throws -> any ExplanationPlan {
        guard let partition = explainer as? PartitionShap else { return try explainer.prepare(parameters, for: problem) }
        var given = parameters
        given["mask_token"] = "[MASK]"
        given["collapse_mask_token"] = false
        let hierarchy = try FeatureHierarchy(count: 2, merges: [(0, 1)])
        return try partition.prepareText(
            given, texts: [TwoTokens(), TwoTokens()], hierarchies: [hierarchy, hierarchy], for: problem)
    }

    /// A text of two tokens, never evaluated.
    struct TwoTokens: TextSamples {
        var featureCount: Int { 2 }
        func inputs(keeping kept: [Double], samples: Int) throws(ExplanationError) -> (model: any PredictiveModel, inputs: [Tensor]) {
            throw ExplanationError(.modelFailure, "not evaluated")
        }
    }

    /// Every optional integer parameter, when given, is echoed (the ones read last were not).
    @Test(arguments: MethodCatalog.standard.names)
    func givenIntegersAreEchoed(_ method: String) throws {
        let explainer = try #require(MethodCatalog.standard.explainer(named: method))
        for spec in explainer.descriptor.parameters where spec.kind == .integer && spec.defaultValue == nil {
            // The base-method parameters of smoothgrad apply to integrated gradients only.
            var parameters = Self.required[method] ?? (method == "smoothgrad" ? ["base_method": "integrated_gradients"] : [:])
            let value = JSONValue.number(max(spec.minimum ?? 1, 2))
            parameters[spec.name] = value
            let plan = try Self.prepare(explainer, parameters, for: try Self.problem(for: method))
            #expect(plan.effectiveParameters[spec.name] == value, "\(method) does not echo '\(spec.name)'")
        }
    }
}
