import CandorExplain
import CandorModel
import CandorTensor
import CandorTestSupport
import Foundation

/// The demo breast-cancer MLP on two fixed instances, its 30 features in `groups` contiguous
/// groups, explained against a zero baseline: a Shapley game small enough to enumerate.
struct GroupedBreastCancer {
    let problem: ExplanationProblem
    let mask: JSONValue

    init(groups: Int) throws {
        let model = try ONNXModelLoader.load(contentsOf: Fixtures.repository.appendingPathComponent("models/breast_cancer_mlp.onnx"))
        let instances = try Tensor(shape: [2, 30], scalars: (0..<60).map { Float($0 % 7) - 2 + Float($0 / 30) })
        problem = ExplanationProblem(model: model, inputs: [instances], output: 0, targets: [1, 0])
        mask = .array((0..<30).map { .number(Double($0 * groups / 30)) })
    }

    func explain(_ method: any Explainer, _ parameters: [String: JSONValue]) throws -> [InstanceAttribution] {
        var parameters = parameters
        parameters["feature_mask"] = mask
        parameters["baselines"] = 0
        return try ExplanationRunner.run(try method.prepare(parameters, for: problem), problem: problem, context: ExplanationContext())
            .map(\.attribution)
    }
}
