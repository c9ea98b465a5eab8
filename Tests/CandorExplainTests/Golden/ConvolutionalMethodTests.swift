import CandorExplain
import CandorModel
import CandorTensor
import CandorTestSupport
import Foundation
import Testing

/// Properties of the backpropagation-family and layer methods on a small convolutional
/// network built in memory (Captum's numbers on exported CNNs are in the CNN goldens).
@Suite struct ConvolutionalMethodTests {
    static func image(_ seed: UInt64) throws -> Tensor {
        var random = SeededRandom(seed: seed)
        return try Tensor(shape: [1, 1, 6, 6], scalars: (0..<36).map { _ in Float(random.uniform()) })
    }

    static func run(_ method: any Explainer, _ parameters: [String: JSONValue], model: ONNXModel, target: Int = 1) throws
        -> [InstanceExplanation]
    {
        let inputs = try Tensor.concatenatingRows([try image(1), try image(2)])
        let problem = ExplanationProblem(model: model, inputs: [inputs], output: 0, targets: [target, target])
        return try ExplanationRunner.run(try method.prepare(parameters, for: problem), problem: problem, context: ExplanationContext())
    }

    /// Without biases, LRP's ε and z⁺ rules hand the output's whole value down to the input.
    @Test(arguments: ["epsilon", "z_plus"])
    func relevanceIsConservedWithoutBiases(_ rule: String) throws {
        let model = try ONNXModelLoader.load(try GraphFactory.smallConvolutionalNetwork(bias: false))
        for explanation in try Self.run(LayerwiseRelevance(), ["rule": .string(rule)], model: model) {
            let delta = try #require(explanation.attribution.extras["convergence_delta"]?.doubleValue)
            let output = Double(explanation.output.scalars[explanation.target])
            #expect(abs(delta) <= 1e-4 * max(1, abs(output)), "\(rule): delta \(delta) of \(output)")
        }
    }

    @Test func lrpRefusesANodeWithoutARule() throws {
        let model = try Fixtures.model("models/mlp_torchscript.onnx")
        let problem = ExplanationProblem(model: model, inputs: [try Tensor(repeating: 0.1, shape: [1, 6])], output: 0, targets: [0])
        #expect(throws: ExplanationError.self) { _ = try LayerwiseRelevance().prepare([:], for: problem) }
    }

    /// Grad-CAM defaults to the last Conv output; at the input's own size bilinear upsampling
    /// changes nothing, and a ReLU'd map is the positive part of the plain one.
    @Test func gradCamMapsTheLastConvolution() throws {
        let model = try ONNXModelLoader.load(try GraphFactory.smallConvolutionalNetwork())
        #expect(model.lastConvolutionOutput == "conv")
        let plain = try Self.run(GradCam(), ["upsample": "none"], model: model)
        let upsampled = try Self.run(GradCam(), [:], model: model)
        let rectified = try Self.run(GradCam(), ["relu_attributions": true, "upsample": "nearest"], model: model)
        for row in 0..<2 {
            let map = plain[row].attribution.attributions[0]
            #expect(map.shape == [1, 6, 6])
            #expect(isClose(upsampled[row].attribution.attributions[0].scalars, map.scalars, absolute: 1e-6))
            #expect(isClose(rectified[row].attribution.attributions[0].scalars, map.scalars.map { max($0, 0) }, absolute: 1e-6))
        }
        let guided = try Self.run(GuidedGradCam(), [:], model: model)
        let backprop = try Self.run(GuidedBackprop(), [:], model: model)
        for row in 0..<2 {
            let expected = zip(backprop[row].attribution.attributions[0].scalars, rectified[row].attribution.attributions[0].scalars).map(*)
            #expect(isClose(guided[row].attribution.attributions[0].scalars, expected, absolute: 1e-6))
        }
    }

    /// Layer integrated gradients add up to f(x) − f(x′) like integrated gradients do.
    @Test func layerIntegratedGradientsAreComplete() throws {
        let model = try ONNXModelLoader.load(try GraphFactory.smallConvolutionalNetwork())
        for layer in ["conv", "relu", "flat"] {
            for explanation in try Self.run(LayerIntegratedGradients(), ["layer": .string(layer), "n_steps": 64], model: model) {
                #expect(explanation.attribution.attributions[0].shape.first == (layer == "flat" ? 18 : 2))
                let delta = try #require(explanation.attribution.extras["convergence_delta"]?.doubleValue)
                #expect(abs(delta) < 2e-3, "\(layer): delta \(delta)")
            }
        }
    }

    /// The gradient of a neuron of the first layer is the convolution kernel around it.
    @Test func neuronGradientOfAConvolutionOutputIsItsKernel() throws {
        let model = try ONNXModelLoader.load(try GraphFactory.smallConvolutionalNetwork())
        let explanations = try Self.run(NeuronGradient(), ["layer": "conv", "neuron_selector": [1, 2, 3]], model: model)
        let gradient = explanations[0].attribution.attributions[0]
        // Kernel 1 sits on rows 1…3, columns 2…4; everything else is 0.
        let nonzero = gradient.scalars.indices.filter { gradient.scalars[$0] != 0 }
        #expect(Set(nonzero).isSubset(of: Set([1, 2, 3].flatMap { row in [2, 3, 4].map { row * 6 + $0 } })))
        #expect(nonzero.count == 9)
        #expect(isClose(explanations[1].attribution.attributions[0].scalars, gradient.scalars, absolute: 0))
    }

    /// Without noise SmoothGrad is its base method, and VarGrad is zero; with noise, a seed
    /// fixes the answer.
    @Test func smoothGradWithoutNoiseIsItsBaseMethod() throws {
        let model = try ONNXModelLoader.load(try GraphFactory.smallConvolutionalNetwork())
        let base = try Self.run(Saliency(), ["abs": false], model: model)
        let smooth = try Self.run(SmoothGrad(), ["stdevs": 0, "abs": false, "nt_samples": 3], model: model)
        let variance = try Self.run(SmoothGrad(), ["stdevs": 0, "nt_type": "vargrad", "nt_samples": 3], model: model)
        for row in 0..<2 {
            #expect(isClose(smooth[row].attribution.attributions[0].scalars, base[row].attribution.attributions[0].scalars, absolute: 1e-6))
            #expect(variance[row].attribution.attributions[0].scalars.allSatisfy { abs($0) < 1e-6 })
        }
        let first = try Self.run(SmoothGrad(), ["stdevs": 0.3, "seed": 4], model: model)
        let again = try Self.run(SmoothGrad(), ["stdevs": 0.3, "seed": 4], model: model)
        let other = try Self.run(SmoothGrad(), ["stdevs": 0.3, "seed": 5], model: model)
        #expect(first[0].attribution.attributions[0] == again[0].attribution.attributions[0])
        #expect(first[0].attribution.attributions[0] != other[0].attribution.attributions[0])
    }

    /// With one baseline and no noise, GradientSHAP estimates integrated gradients (α uniform
    /// on the path), so many samples converge to them.
    @Test func gradientShapConvergesToIntegratedGradients() throws {
        let model = try ONNXModelLoader.load(try GraphFactory.smallConvolutionalNetwork())
        let baseline: JSONValue = .array([.array([.array((0..<6).map { _ in .array((0..<6).map { _ in .number(0.2) }) })])])
        let shap = try Self.run(GradientShap(), ["baselines": baseline, "n_samples": 4000], model: model)
        let integrated = try Self.run(IntegratedGradients(), ["baselines": 0.2, "n_steps": 200], model: model)
        for row in 0..<2 {
            let expected = integrated[row].attribution.attributions[0].scalars
            let scale = expected.map(abs).max() ?? 1
            #expect(isClose(shap[row].attribution.attributions[0].scalars, expected, absolute: 0.05 * scale, relative: 0))
        }
    }
}
