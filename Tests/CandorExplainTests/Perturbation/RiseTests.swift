import CandorModel
import CandorTensor
import CandorTestSupport
import Testing

@testable import CandorExplain

@Suite struct RiseTests {
    func saliency(_ model: ONNXModel, _ instance: Tensor, _ parameters: [String: JSONValue]) throws -> [Float] {
        let problem = ExplanationProblem(model: model, inputs: [instance], output: 0, targets: [0])
        let plan = try Rise().prepare(parameters, for: problem)
        return try #require(try ExplanationRunner.run(plan, problem: problem, context: ExplanationContext()).first).attribution
            .attributions[0]
            .scalars
    }

    /// Masks are soft (values in [0, 1]) and keep a fraction p of the input on average.
    @Test(arguments: [0.2, 0.5, 0.9])
    func masksKeepAFractionPOnAverage(_ keep: Double) {
        let geometry = Rise.MaskGeometry(spatial: [12, 10], cells: [3, 4])
        let masks = (0..<2000).map { geometry.mask($0, keep: keep, seed: 1) }
        #expect(masks.allSatisfy { $0.allSatisfy { (0...1).contains($0) } })
        let mean = masks.flatMap { $0 }.reduce(0) { $0 + Double($1) } / Double(2000 * 120)
        #expect(abs(mean - keep) < 0.02)
    }

    /// A model whose output does not depend on its input gets its constant everywhere:
    /// E[c · M] / p = c, approached as masks grow.
    @Test func aConstantModelGetsItsConstantEverywhere() throws {
        let model = try ONNXModelLoader.load(try GraphFactory.linearModel(weights: Array(repeating: [0], count: 16), bias: [3]))
        let instance = try Tensor(repeating: 1, shape: [1, 16])
        func error(_ masks: Int) throws -> Float {
            try saliency(model, instance, ["n_masks": .number(Double(masks)), "cell_size": 4]).map { abs($0 - 3) }.max() ?? .infinity
        }
        let coarse = try error(20)
        let fine = try error(4000)
        #expect(fine < coarse)
        #expect(fine < 0.1)
    }

    /// When only one element carries signal, the saliency peaks there.
    @Test func theSaliencyPeaksWhereTheSignalIs() throws {
        let model = try ONNXModelLoader.load(try GraphFactory.linearModel(weights: Array(repeating: [1], count: 16), bias: [0]))
        var values = [Float](repeating: 0, count: 16)
        values[11] = 5
        let result = try saliency(model, try Tensor(shape: [1, 16], scalars: values), ["n_masks": 3000, "cell_size": 2])
        #expect(result.indices.max { result[$0] < result[$1] } == 11, "\(result)")
    }

    @Test func aFixedSeedReproducesAndAnotherSeedDiffers() throws {
        let model = try Fixtures.model("models/mlp_torchscript.onnx")
        let instance = try Tensor(shape: [1, 6], scalars: [0.3, -1, 2, 0.5, 1, -0.7])
        let first = try saliency(model, instance, ["n_masks": 50, "seed": 2])
        #expect(first == (try saliency(model, instance, ["n_masks": 50, "seed": 2])))
        #expect(first != (try saliency(model, instance, ["n_masks": 50, "seed": 3])))
    }

    /// RISE on a linear model over eight elements in cells of two.
    func calibration(masks: Int) throws -> StandardErrorCalibration {
        let weights: [Float] = [1.5, -2, 0.5, 3, -1, 0.25, 2, -0.5]
        let model = try ONNXModelLoader.load(try GraphFactory.linearModel(weights: weights.map { [$0] }, bias: [0.5]))
        let instance = try Tensor(shape: [1, 8], scalars: [0.7, -0.3, 1.2, 0, 2, -1.5, 1, 0.4])
        return StandardErrorCalibration(
            Rise(), model: model, inputs: [instance], targets: [0], parameters: ["n_masks": .number(Double(masks)), "cell_size": [2]])
    }

    /// The saliency's expectation depends on the masks' correlations, so the reference is RISE
    /// itself with 200,000 masks, whose own standard error is a thirty-second of 200 masks'.
    @Test func intervalsCoverAManyMaskReference() throws {
        let reference = try calibration(masks: 200_000).run(seed: 1_000_003).estimate
        let coverage = try calibration(masks: 200).coverage(of: reference)
        #expect(StandardErrorCalibration.acceptedCoverage.contains(coverage), "coverage \(coverage)")
    }

    @Test func theStandardErrorHalvesWhenTheMasksQuadruple() throws {
        let ratio = try calibration(masks: 100).shrinkageWhenSamplesQuadruple("n_masks", from: 100)
        #expect(StandardErrorCalibration.halves(ratio), "stderr ratio \(ratio)")
    }

    @Test func oneMaskHasNoStandardError() throws {
        #expect(try calibration(masks: 1).run(seed: 0).standardError == nil)
    }

    @Test func aCellLargerThanTheInstanceIsRefused() throws {
        let model = try Fixtures.model("models/mlp_torchscript.onnx")
        let problem = ExplanationProblem(model: model, inputs: [try Tensor(repeating: 1, shape: [1, 6])], output: 0, targets: nil)
        #expect {
            _ = try Rise().prepare(["cell_size": 7], for: problem)
        } throws: { error in
            (error as? ExplanationError)?.message.contains("cell_size") == true
        }
    }
}
