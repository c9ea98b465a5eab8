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

    var testDescription: String { "\(file): \(method) on \(output) \(parameters)" }

    static let models = ["mlp_torchscript", "mlp_dynamo", "mlp_handbuilt"]
    /// Gradient methods (`make_gradient_fixtures.py`) and perturbation methods
    /// (`make_perturbation_fixtures.py`) on each model.
    static let files = models + models.map { "perturbation_\($0)" }

    static func all() throws -> [GoldenCase] {
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
                    convergenceDelta: (entry["convergence_delta"] as? [NSNumber])?.map(\.floatValue))
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

    @Test(arguments: GoldenCase.models)
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

    @Test(arguments: cases)
    func attributionsEqualCaptum(_ golden: GoldenCase) throws {
        let model = try Fixtures.model(golden.model)
        let output = try #require(model.outputs.firstIndex { $0.name == golden.output })
        let explainer = try #require(MethodCatalog.standard.explainer(named: golden.method))
        let problem = ExplanationProblem(model: model, inputs: [golden.inputs], output: output, targets: golden.targets)
        let plan = try explainer.prepare(golden.parameters, for: problem)
        let explanations = try ExplanationRunner.run(plan, problem: problem, context: ExplanationContext())
        #expect(explanations.map(\.target) == golden.targets)
        let attributions = explanations.flatMap { $0.attribution.attributions[0].scalars }
        #expect(
            isClose(attributions, golden.attributions.scalars),
            "largest difference \(maxAbsoluteDifference(attributions, golden.attributions.scalars))")
        if let delta = golden.convergenceDelta {
            for (explanation, expected) in zip(explanations, delta) {
                guard case .number(let actual)? = explanation.attribution.extras["convergence_delta"] else {
                    Issue.record("no convergence_delta")
                    continue
                }
                #expect(abs(Float(actual) - expected) < 2e-4, "convergence_delta \(actual) vs Captum's \(expected)")
            }
        }
    }
}
