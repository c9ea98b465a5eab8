import CandorExplain
import CandorModel
import CandorTensor
import CandorTestSupport
import Foundation
import Testing

/// One attribution case from a golden file written by
/// `scripts/fixtures/make_gradient_fixtures.py` with Captum on the same model and inputs.
struct GoldenCase: CustomTestStringConvertible, Sendable {
    let file: String
    let model: String
    let inputs: Tensor
    let method: String
    let output: String
    let targets: [Int]
    let parameters: [String: JSONValue]
    let attributions: Tensor
    let convergenceDelta: [Float]?
    /// Deterministic cases: the largest |float32 − float64| of Captum's attributions, how far
    /// rounding alone moves this case (`f64_max_abs_diff`).
    let roundingSpread: Float?
    /// Sampling cases: the Monte-Carlo standard error of Captum's estimate, per element.
    let standardError: Tensor?

    var testDescription: String { "\(file): \(method) on \(output) \(parameters)" }

    static let models = ["mlp_torchscript", "mlp_dynamo", "mlp_handbuilt"]
    /// The convolutional networks of `make_cnn_fixtures.py`: a sigmoid LeNet, a dynamo export
    /// with batch norm and external data, a hand-built graph, and a residual block.
    static let convolutionalModels = ["cnn_lenet", "cnn_bn_relu", "cnn_handbuilt", "cnn_residual"]
    /// The exporter zoo: models as PyTorch's dynamo and legacy exporters write them
    /// (`make_exporter_zoo_fixtures.py`, against Captum) and as tf2onnx converts Keras 3 ones
    /// (`make_keras_zoo_fixtures.py`, against TensorFlow's gradients).
    static let exporterZoo =
        ["residual_cnn", "mobilenet", "layernorm_mlp", "vision_transformer"].flatMap { ["zoo_\($0)_dynamo", "zoo_\($0)_legacy"] }
        + ["zoo_keras_cnn", "zoo_keras_mlp"]
    /// Gradient methods (`make_gradient_fixtures.py`), perturbation methods
    /// (`make_perturbation_fixtures.py`), the backpropagation family (`make_cnn_fixtures.py`)
    /// and the exporter zoo's saliency and integrated gradients.
    static let files = models + models.map { "perturbation_\($0)" } + convolutionalModels + exporterZoo
    /// The sampling methods' expectations (`make_cnn_fixtures.py`).
    static let samplingFiles = convolutionalModels.map { "\($0)_sampling" }

    static func all(_ files: [String] = files) throws -> [GoldenCase] {
        try files.flatMap { file -> [GoldenCase] in
            let golden = try #require(try Fixtures.json("golden/\(file).json") as? [String: Any])
            let inputs = try tensor(fromJSON: golden["inputs"] as Any)
            let cases = golden["cases"] as? [[String: Any]] ?? []
            return try cases.map { entry in
                let parameterData = try JSONSerialization.data(withJSONObject: entry["params"] ?? [:])
                return GoldenCase(
                    file: file, model: golden["model"] as? String ?? "", inputs: inputs,
                    method: entry["method"] as? String ?? "", output: entry["output"] as? String ?? "",
                    targets: entry["targets"] as? [Int] ?? [],
                    parameters: try JSONDecoder().decode([String: JSONValue].self, from: parameterData),
                    attributions: try tensor(fromJSON: entry["attributions"] as Any),
                    convergenceDelta: (entry["convergence_delta"] as? [NSNumber])?.map(\.floatValue),
                    roundingSpread: (entry["f64_max_abs_diff"] as? NSNumber)?.floatValue,
                    standardError: try entry["standard_error"].map { try tensor(fromJSON: $0) })
            }
        }
    }
}

@Suite struct CaptumGoldenTests {
    static let cases = (try? GoldenCase.all()) ?? []

    @Test func everyGoldenFileHasItsCases() {
        #expect(Self.cases.count >= 60)
        #expect(Set(Self.cases.map(\.file)) == Set(GoldenCase.files))
    }

    /// The zoo holds what it is meant to: the dynamo exporter's MaxPool (with its
    /// `storage_order`), LayerNormalization and Gelu, and tf2onnx's NHWC transpose.
    @Test func theExporterZooHoldsWhatExportersWrite() throws {
        func operators(_ file: String) throws -> Set<String> {
            let golden = try #require(try Fixtures.json("golden/\(file).json") as? [String: Any])
            return Set(golden["op_types"] as? [String] ?? [])
        }
        #expect(try operators("zoo_residual_cnn_dynamo").isSuperset(of: ["MaxPool", "Conv", "Sigmoid", "Add", "AveragePool"]))
        #expect(try operators("zoo_mobilenet_dynamo").isSuperset(of: ["HardSwish", "HardSigmoid", "ReduceMean", "Conv"]))
        #expect(try operators("zoo_layernorm_mlp_dynamo").isSuperset(of: ["LayerNormalization", "Gelu"]))
        #expect(try operators("zoo_layernorm_mlp_legacy").contains("LayerNormalization"))
        #expect(try operators("zoo_vision_transformer_dynamo").isSuperset(of: ["LayerNormalization", "Expand", "Softmax", "MatMul"]))
        #expect(try operators("zoo_vision_transformer_legacy").isSuperset(of: ["ConstantOfShape", "Where", "Equal", "Mod"]))
        #expect(try operators("zoo_keras_cnn").isSuperset(of: ["Transpose", "MaxPool", "Conv"]))
    }

    @Test(arguments: GoldenCase.models + GoldenCase.convolutionalModels + GoldenCase.exporterZoo)
    func predictionsEqualOnnxRuntime(_ file: String) throws {
        let golden = try #require(try Fixtures.json("golden/\(file).json") as? [String: Any])
        let model = try Fixtures.model(golden["model"] as? String ?? "")
        let outputs = try model.predict([try tensor(fromJSON: golden["inputs"] as Any)])
        let expected = try #require(golden["outputs"] as? [String: Any])
        for (info, actual) in zip(model.outputs, outputs) {
            let reference = try tensor(fromJSON: try #require(expected[info.name]))
            #expect(actual.shape == reference.shape)
            #expect(isClose(actual.scalars, reference.scalars, absolute: 1e-5))
        }
    }

    /// The networks where Candor's DeepLIFT deliberately differs from Captum's, so its
    /// values are held to completeness instead:
    /// - Captum 0.9's DeepLIFT loses its MaxPool rule where an activation feeds the pool
    ///   directly (the activation's hook reads the gradient before the pool's hook rewrites
    ///   it: Captum issue #1104, fixed after 0.9), which breaks summation-to-delta on
    ///   `cnn_lenet` and `cnn_residual`;
    /// - Captum leaves SiLU on its gradient, which breaks it on the zoo's residual CNNs and
    ///   the Keras CNN (swish); Candor rescales SiLU as one nonlinearity (`SiLUProduct`).
    ///   Their goldens hold no DeepLIFT case yet; any added is held to completeness.
    static let deepLiftHeldToCompleteness: Set<String> = [
        "cnn_lenet", "cnn_residual", "zoo_residual_cnn_dynamo", "zoo_residual_cnn_legacy", "zoo_keras_cnn",
    ]

    static func explain(_ golden: GoldenCase) throws -> [InstanceExplanation] {
        let model = try Fixtures.model(golden.model)
        let output = try #require(model.outputs.firstIndex { $0.name == golden.output })
        let explainer = try #require(MethodCatalog.standard.explainer(named: golden.method))
        let problem = ExplanationProblem(model: model, inputs: [golden.inputs], output: output, targets: golden.targets)
        let plan = try explainer.prepare(golden.parameters, for: problem)
        return try ExplanationRunner.run(plan, problem: problem, context: ExplanationContext())
    }

    @Test(arguments: cases)
    func attributionsEqualCaptum(_ golden: GoldenCase) throws {
        let explanations = try Self.explain(golden)
        if golden.method != "neuron_gradient" { #expect(explanations.map(\.target) == golden.targets) }
        let attributions = explanations.flatMap { $0.attribution.attributions[0].scalars }
        let deltas = explanations.compactMap { $0.attribution.extras["convergence_delta"]?.doubleValue }
        if golden.method.hasPrefix("deeplift"), Self.deepLiftHeldToCompleteness.contains(golden.file) {
            for delta in deltas { #expect(abs(delta) < 1e-4, "DeepLIFT's summation-to-delta: \(delta)") }
            return
        }
        let scale = golden.attributions.scalars.map(abs).max() ?? 1
        #expect(
            isClose(attributions, golden.attributions.scalars, absolute: 1e-4 * max(1, scale)),
            "largest difference \(maxAbsoluteDifference(attributions, golden.attributions.scalars)) of \(scale)")
        guard let expected = golden.convergenceDelta, golden.method != "deeplift_shap" else { return }
        #expect(deltas.count == expected.count)
        // The delta sums an instance's attributions, so its rounding grows with their count:
        // n independent errors of up to the case's float32 spread add to about √n of it
        // (α1β0 LRP on `cnn_bn_relu` sums 432 attributions each uncertain by 3e-4).
        let perInstance = Float(golden.attributions.count / max(1, golden.targets.count))
        let roundingTolerance = perInstance.squareRoot() * (golden.roundingSpread ?? 0)
        for (actual, reference) in zip(deltas, expected) {
            // Captum reports LRP's delta as f(x) − Σ attributions, the others as Σ − Δf.
            let captum = golden.method == "lrp" ? -reference : reference
            #expect(
                abs(Float(actual) - captum) < Swift.max(2e-4 * max(1, abs(captum)), roundingTolerance),
                "convergence_delta \(actual) vs Captum's \(captum)")
        }
    }

    static let samplingCases = (try? GoldenCase.all(GoldenCase.samplingFiles)) ?? []

    @Test func everySamplingFileHasItsCases() {
        #expect(Self.samplingCases.count >= 16)
    }

    /// SmoothGrad and GradientSHAP draw differently from Captum (a seeded stream per instance
    /// against torch's and NumPy's generators), so the estimates are compared within their
    /// Monte-Carlo error: Candor draws 500 samples (Captum's fixture 4000, which a debug build
    /// would take minutes over), so the two estimates differ by about √(1 + 4000/500) of
    /// Captum's standard errors; 5 of those, plus a floor for elements near zero.
    @Test(arguments: samplingCases)
    func samplingMethodsConvergeToCaptumsExpectation(_ golden: GoldenCase) throws {
        let samples = 500.0
        var parameters = golden.parameters
        let key = parameters["nt_samples"] != nil ? "nt_samples" : "n_samples"
        let captumSamples = try #require(parameters[key]?.doubleValue)
        parameters[key] = .number(samples)
        let explanations = try Self.explain(
            GoldenCase(
                file: golden.file, model: golden.model, inputs: golden.inputs, method: golden.method, output: golden.output,
                targets: golden.targets, parameters: parameters, attributions: golden.attributions, convergenceDelta: nil,
                roundingSpread: nil,
                standardError: golden.standardError))
        let attributions = explanations.flatMap { $0.attribution.attributions[0].scalars }
        let errors = try #require(golden.standardError).scalars
        let scale = golden.attributions.scalars.map(abs).max() ?? 1
        let reference = golden.attributions.scalars
        let spread = Float(5 * (1 + captumSamples / samples).squareRoot())
        let floor: Float = 1e-3 * scale
        var outside = 0
        for index in attributions.indices where abs(attributions[index] - reference[index]) > spread * errors[index] + floor {
            outside += 1
        }
        #expect(outside <= attributions.count / 200, "\(outside) of \(attributions.count) elements outside the Monte-Carlo error")
    }
}
