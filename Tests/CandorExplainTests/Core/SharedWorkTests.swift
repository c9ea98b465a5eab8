import CandorModel
import CandorTensor
import CandorTestSupport
import Foundation
import Synchronization
import Testing

@testable import CandorExplain

/// An explanation computed with an idle worker lent to it equals the one computed alone: the
/// shared chunks of rows (``FilledPasses``), of gradient passes (``TargetGradients``), of
/// instance pairs (DeepLIFT) and of instances (TreeSHAP) are independent, and their results
/// are put back in order.
@Suite struct SharedWorkTests {
    /// The attributions, and how many threads were lent.
    func attributions(_ method: any Explainer, _ parameters: [String: JSONValue], _ problem: ExplanationProblem, lent: Bool) throws
        -> (values: [Float], lent: Int)
    {
        let workers = LentThreads(available: 1)
        // A small budget, so that the work comes in many chunks.
        let context = ExplanationContext(maxBatchElements: 200_000, idleWorkers: lent ? workers : nil)
        let explanations = try ExplanationRunner.run(try method.prepare(parameters, for: problem), problem: problem, context: context)
        return (explanations.flatMap { $0.attribution.attributions.flatMap(\.scalars) }, workers.started.load(ordering: .relaxed))
    }

    func repositoryModel(_ path: String) throws -> ONNXModel {
        try ONNXModelLoader.load(contentsOf: Fixtures.repository.appendingPathComponent(path))
    }

    /// Integrated gradients (gradient passes shared) and DeepLIFT (instance pairs shared).
    @Test(arguments: [("integrated_gradients", ["n_steps": 20] as [String: JSONValue]), ("deeplift", ["baselines": 0])])
    func gradientMethodsOnTheCNNAreTheSameWithALentWorker(method: String, parameters: [String: JSONValue]) throws {
        let model = try repositoryModel("models/shapes_cnn.onnx")
        let images = try Tensor(shape: [3, 3, 32, 32], scalars: (0..<(3 * 3072)).map { Float(($0 * 7919) % 1000) / 1000 })
        let problem = ExplanationProblem(model: model, inputs: [images], output: 0, targets: [0, 1, 2])
        let explainer = try #require(MethodCatalog.standard.explainer(named: method))
        let alone = try attributions(explainer, parameters, problem, lent: false)
        let shared = try attributions(explainer, parameters, problem, lent: true)
        #expect(isClose(alone.values, shared.values, absolute: 1e-6, relative: 1e-5))
        #expect(shared.lent >= 1)
    }

    @Test func kernelShapIsTheSameWithALentWorker() throws {
        let model = try repositoryModel("models/breast_cancer_mlp.onnx")
        let instance = try Tensor(shape: [1, 30], scalars: (0..<30).map { Float($0 % 7) - 2 })
        let problem = ExplanationProblem(model: model, inputs: [instance], output: 0, targets: [1])
        let parameters: [String: JSONValue] = ["n_samples": 600, "baselines": 0]
        let alone = try attributions(KernelShap(), parameters, problem, lent: false)
        let shared = try attributions(KernelShap(), parameters, problem, lent: true)
        #expect(isClose(alone.values, shared.values, absolute: 1e-6, relative: 1e-5))
        #expect(shared.lent >= 1)
    }

    @Test func treeShapOnABatchIsTheSameWithALentWorker() throws {
        let ensemble = try TreeShapTests.load("Tests/Fixtures/trees/xgb_binary.json")
        let width = ensemble.featureCount
        let instances = try Tensor(shape: [9, width], scalars: (0..<(9 * width)).map { Float(($0 * 37) % 11) / 5 - 1 })
        let problem = ExplanationProblem(
            model: ensemble, inputs: [instances], output: ensemble.marginOutput, targets: .init(repeating: 0, count: 9))
        let alone = try attributions(TreeShap(), [:], problem, lent: false)
        let shared = try attributions(TreeShap(), [:], problem, lent: true)
        #expect(alone.values == shared.values)
        #expect(shared.lent == 1)
    }
}
