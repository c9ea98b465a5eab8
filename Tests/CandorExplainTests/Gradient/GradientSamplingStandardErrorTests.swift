import CandorExplain
import CandorModel
import CandorTensor
import CandorTestSupport
import Testing

/// `attributions_stderr` of the noisy gradient methods, on a linear model y = w·x + b where
/// their expectations are known in closed form: over 100 seeds the nominal 95% intervals must
/// cover them between 90% and 99% of the time.
@Suite struct GradientSamplingStandardErrorTests {
    let weights: [Float] = [1.5, -2, 0.5, 3, -1, 0.25]
    let x: [Float] = [0.7, -0.3, 1.2, 0, 2, -1.5]
    let model: ONNXModel

    init() throws {
        model = try ONNXModelLoader.load(try GraphFactory.linearModel(weights: weights.map { [$0] }, bias: [0.25]))
    }

    func smoothGrad(_ kind: String, samples: Int, sigma: Float) throws -> StandardErrorCalibration {
        StandardErrorCalibration(
            SmoothGrad(), model: model, inputs: [try Tensor(shape: [1, 6], scalars: x)], targets: [0],
            parameters: [
                "base_method": "input_x_gradient", "nt_type": .string(kind), "nt_samples": .number(Double(samples)),
                "stdevs": .number(Double(sigma)),
            ])
    }

    /// input × gradient of a linear model on x + N(0, σ²) is a = w(x + ε): E[a] = wx,
    /// E[a²] = w²(x² + σ²) and Var a = w²σ².
    @Test(arguments: [("smoothgrad", 100), ("smoothgrad_sq", 100), ("vargrad", 200)])
    func smoothGradIntervalsCoverTheClosedFormStatistic(_ kind: String, samples: Int) throws {
        let sigma: Float = 0.5
        let exact = zip(weights, x).map { w, x in
            switch kind {
            case "smoothgrad": w * x
            case "smoothgrad_sq": w * w * (x * x + sigma * sigma)
            default: w * w * sigma * sigma
            }
        }
        let coverage = try smoothGrad(kind, samples: samples, sigma: sigma).coverage(of: exact)
        #expect(StandardErrorCalibration.acceptedCoverage.contains(coverage), "\(kind): coverage \(coverage)")
    }

    @Test(arguments: ["smoothgrad", "smoothgrad_sq", "vargrad"])
    func smoothGradStandardErrorHalvesWhenTheSamplesQuadruple(_ kind: String) throws {
        let ratio = try smoothGrad(kind, samples: 50, sigma: 0.5).shrinkageWhenSamplesQuadruple("nt_samples", from: 50)
        #expect(StandardErrorCalibration.halves(ratio), "\(kind): stderr ratio \(ratio)")
    }

    @Test func oneNoisyCopyHasNoStandardError() throws {
        #expect(try smoothGrad("smoothgrad", samples: 1, sigma: 0.5).run(seed: 0).standardError == nil)
    }

    func gradientShap(samples: Int) throws -> StandardErrorCalibration {
        StandardErrorCalibration(
            GradientShap(), model: model, inputs: [try Tensor(shape: [1, 6], scalars: x)], targets: [0],
            parameters: [
                "baselines": .array(baselines.map { .array($0.map { .number(Double($0)) }) }), "n_samples": .number(Double(samples)),
                "stdevs": 0.3,
            ])
    }

    let baselines: [[Float]] = [[0, 0, 0, 0, 0, 0], [1, -1, 0.5, 2, 0, 1], [-0.5, 0.5, 2, -1, 1, 0]]

    /// On a linear model every sample is w ⊙ (x + ε − b) whatever α, so the expectation is
    /// w ⊙ (x − mean baseline).
    @Test func gradientShapIntervalsCoverTheExpectedGradients() throws {
        let exact = weights.indices.map { j in weights[j] * (x[j] - baselines.map { $0[j] }.reduce(0, +) / Float(baselines.count)) }
        let coverage = try gradientShap(samples: 50).coverage(of: exact)
        #expect(StandardErrorCalibration.acceptedCoverage.contains(coverage), "coverage \(coverage)")
    }

    @Test func gradientShapStandardErrorHalvesWhenTheSamplesQuadruple() throws {
        let ratio = try gradientShap(samples: 50).shrinkageWhenSamplesQuadruple("n_samples", from: 50)
        #expect(StandardErrorCalibration.halves(ratio), "stderr ratio \(ratio)")
    }
}
