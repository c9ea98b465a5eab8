import CandorModel
import CandorTensor
import CandorTestSupport
import Foundation
import Testing

@testable import CandorExplain

@Suite struct WachterTests {
    typealias Checks = CounterfactualChecks

    /// On a linear classifier (logits [w·x, 0]) the nearest input of class 1 in MAD-scaled L1
    /// changes only the feature with the largest |wⱼ|·MADⱼ, by exactly what reaches w·x = 0;
    /// accepting any point of that class (`target_proba` 0.5, `tol` 0.5), the descent and
    /// the sparsity step end within 2% of that distance, nearly all of it on that feature.
    @Test func aLinearClassifiersNearestCounterfactualIsReached() throws {
        let weights: [[Float]] = [[1, 0], [-2, 0], [0.5, 0]]
        let model = try ONNXModelLoader.load(try GraphFactory.linearModel(weights: weights, bias: [0, 0]))
        // MADs 1, 0.5 and 4: |w|·MAD = 1, 1 and 2, so feature 2 is the cheapest to move.
        let background = try Tensor(shape: [4, 3], scalars: [0, 0, -4, 1, 0.5, 0, 2, 1, 4, 3, 1.5, 8])
        let instance = try Tensor(shape: [1, 3], scalars: [1, -1, 2])  // w·x = 1 + 2 + 1 = 4: class 0's logit 4 > 0
        let dataset = DatasetSummary(background: [background])
        let parameters: [String: JSONValue] = [
            "desired_class": 1, "target_proba": 0.5, "tol": 0.5,
            "permitted_range": .object(["0": [-20, 20], "1": [-20, 20], "2": [-20, 20]]),
        ]
        let explanation = try #require(try Checks.explain(Wachter(), model: model, dataset: dataset, instances: instance, parameters).first)
        let found = try #require(Checks.counterfactuals(explanation).first)
        let scale = FeatureSpace.medianAbsoluteDeviations(background.scalars, count: 3)
        #expect(scale == [1, 0.5, 4])
        // Feature 2 moves w·x by 2 per MAD: x₂ = 2 − 8 = −6 reaches w·x = 0 at distance 2.
        let distance = zip(zip(found, [1, -1, 2]), scale).reduce(0) { $0 + abs($1.0.0 - $1.0.1) / $1.1 }
        #expect(distance <= 2 * 1.02, "\(found)")
        #expect(abs(found[0] - 1) < 0.03 && found[1] == -1 && abs(found[2] - (-6)) < 0.04, "\(found)")
        #expect(explanation.attribution.extras["validity"] == 1)
    }

    /// The iris MLP's counterfactuals reach the class asked for with a probability within
    /// `tol` of `target_proba`, and keep every constraint.
    @Test(arguments: [1, 2])
    func irisCounterfactualsReachTheTargetProbability(_ desired: Int) throws {
        let domains = FeatureDomains(immutable: [0])
        let (model, dataset) = try Checks.demo("iris_mlp", featureNames: Checks.irisFeatures, domains: domains)
        let instances = dataset.background![0].rows(0..<3)
        let parameters: [String: JSONValue] = [
            "desired_class": .number(Double(desired)), "features_to_vary": ["petal length (cm)", "petal width (cm)", "sepal width (cm)"],
            "total_cfs": 2, "max_iter": 300,
        ]
        let explanations = try Checks.explain(Wachter(), model: model, dataset: dataset, instances: instances, parameters)
        let problem = ExplanationProblem(model: model, inputs: [instances], output: 0, targets: nil, dataset: dataset)
        var reader = try ParameterReader(parameters, specs: Wachter().descriptor.parameters, method: "wachter")
        let space = try CounterfactualSetting(&reader, problem: problem, method: "wachter").space
        for (row, explanation) in explanations.enumerated() {
            let found = Checks.counterfactuals(explanation)
            #expect(!found.isEmpty)
            try Checks.expectAdmissible(
                explanation, instance: instances.rows(row..<(row + 1)).scalars.map(Double.init), model: model, space: space
            ) { output in
                // At least target_proba − tol, unless the instance is of that class already (its own answer).
                let alreadyThere = DesiredOutcome.prediction(explanation.output.scalars[...]) == desired
                return DesiredOutcome.prediction(output) == desired
                    && (alreadyThere || ClassProbabilities(output).values[desired] >= 0.95 - 1e-6)
            }
        }
    }

    @Test func modelsWithoutGradientsAreRefused() throws {
        let model = try XGBoostModelLoader.load(try Data(contentsOf: Fixtures.url("trees/xgb_binary.json")))
        let problem = ExplanationProblem(
            model: model, inputs: [try Tensor(shape: [1, model.featureCount], scalars: Array(repeating: 0, count: model.featureCount))],
            output: 1, targets: nil)
        #expect(throws: ExplanationError.self) { try Wachter().prepare([:], for: problem) }
    }
}
