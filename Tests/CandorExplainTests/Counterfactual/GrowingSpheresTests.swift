import CandorModel
import CandorTensor
import CandorTestSupport
import Foundation
import Testing

@testable import CandorExplain

@Suite struct GrowingSpheresTests {
    typealias Checks = CounterfactualChecks

    /// The setting a request resolves to, for checking the answer against.
    func setting(_ parameters: [String: JSONValue], problem: ExplanationProblem) throws -> CounterfactualSetting {
        var reader = try ParameterReader(parameters, specs: GrowingSpheres().descriptor.parameters, method: "growing_spheres")
        return try CounterfactualSetting(&reader, problem: problem, method: "growing_spheres")
    }

    /// On the iris MLP every instance of the background gets counterfactuals of the class
    /// asked for, each within the constraints; an instance of that class already is its own
    /// (only) counterfactual.
    @Test(arguments: [0, 1, 2])
    func everyCounterfactualReachesTheDesiredClassOnTheIrisMLP(_ desired: Int) throws {
        let (model, dataset) = try Checks.demo("iris_mlp", featureNames: Checks.irisFeatures)
        let instances = dataset.background![0].rows(0..<6)
        let parameters: [String: JSONValue] = ["desired_class": .number(Double(desired)), "total_cfs": 2, "n_in_layer": 500]
        let explanations = try Checks.explain(GrowingSpheres(), model: model, dataset: dataset, instances: instances, parameters)
        let problem = ExplanationProblem(model: model, inputs: [instances], output: 0, targets: nil, dataset: dataset)
        let space = try setting(parameters, problem: problem).space
        for (row, explanation) in explanations.enumerated() {
            let instance = instances.rows(row..<(row + 1)).scalars.map(Double.init)
            let found = Checks.counterfactuals(explanation)
            #expect(found.count == (DesiredOutcome.prediction(explanation.output.scalars[...]) == desired ? 1 : 2))
            #expect(explanation.attribution.extras["validity"] == 1)
            try Checks.expectAdmissible(explanation, instance: instance, model: model, space: space) {
                DesiredOutcome.prediction($0) == desired
            }
        }
    }

    /// Feature selection leaves only the features the decision depends on: a linear
    /// classifier that reads feature 2 alone gets counterfactuals changing feature 2 alone,
    /// close to the nearest one there is (the boundary x₂ = 0, in MAD units).
    @Test func aModelReadingOneFeatureGetsCounterfactualsChangingOnlyIt() throws {
        let weights: [[Float]] = [[0, 0], [0, 0], [2, -2], [0, 0]]
        let model = try ONNXModelLoader.load(try GraphFactory.linearModel(weights: weights, bias: [0, 0]))
        let background = try Tensor(shape: [5, 4], scalars: (0..<20).map { Float($0 % 7) - 3 })
        let dataset = DatasetSummary(background: [background])
        let instance = try Tensor(shape: [1, 4], scalars: [0.5, -1, 1.5, 2])
        let explanation = try #require(try Checks.explain(GrowingSpheres(), model: model, dataset: dataset, instances: instance, [:]).first)
        let found = try #require(Checks.counterfactuals(explanation).first)
        #expect(found[0] == 0.5 && found[1] == -1 && found[3] == 2)
        #expect(found[2] < 0 && found[2] > -0.5, "x₂ = \(found[2]): the boundary is at 0")
    }

    /// A tree ensemble (no gradients, a piecewise-constant output) gets counterfactuals too:
    /// the XGBoost breast-cancer model, explained on its class probabilities (output 1).
    @Test func aTreeEnsemblesCounterfactualsFlipItsDecision() throws {
        let directory = Fixtures.url("counterfactuals")
        let model = try XGBoostModelLoader.load(try Data(contentsOf: directory.appendingPathComponent("xgb_breast_cancer.json")))
        let rows = try tensor(
            fromJSON: try JSONSerialization.jsonObject(
                with: Data(contentsOf: directory.appendingPathComponent("xgb_breast_cancer.background.json"))))
        let dataset = DatasetSummary(background: [rows])
        let instances = rows.rows(0..<3)
        let problem = ExplanationProblem(model: model, inputs: [instances], output: 1, targets: nil, dataset: dataset)
        let plan = try GrowingSpheres().prepare(["n_in_layer": 500], for: problem)
        var reader = try ParameterReader(["n_in_layer": 500], specs: GrowingSpheres().descriptor.parameters, method: "growing_spheres")
        let space = try CounterfactualSetting(&reader, problem: problem, method: "growing_spheres").space
        for (row, explanation) in try ExplanationRunner.run(plan, problem: problem, context: ExplanationContext()).enumerated() {
            let original = DesiredOutcome.prediction(explanation.output.scalars[...])
            #expect(!Checks.counterfactuals(explanation).isEmpty)
            try Checks.expectAdmissible(
                explanation, instance: instances.rows(row..<(row + 1)).scalars.map(Double.init), model: model, output: 1, space: space
            ) { DesiredOutcome.prediction($0) != original }
        }
    }

    @Test func aSeedReproducesTheAnswer() throws {
        let (model, dataset) = try Checks.demo("iris_mlp")
        let instances = dataset.background![0].rows(3..<5)
        func run(_ seed: Int) throws -> [[[Double]]] {
            try Checks.explain(
                GrowingSpheres(), model: model, dataset: dataset, instances: instances, ["seed": .number(Double(seed)), "n_in_layer": 200]
            )
            .map(Checks.counterfactuals)
        }
        #expect(try run(4) == (try run(4)))
    }

    /// A regressor's counterfactual lands in `desired_range`.
    @Test func aRegressorsCounterfactualLandsInTheDesiredRange() throws {
        let model = try ONNXModelLoader.load(try GraphFactory.linearModel(weights: [[1], [2], [-1]], bias: [0.5]))
        let background = try Tensor(shape: [4, 3], scalars: [0, 1, 2, 1, 0, 1, 2, 2, 0, 3, 1, 1])
        let instance = try Tensor(shape: [1, 3], scalars: [1, 1, 1])
        let explanation = try #require(
            try Checks.explain(
                GrowingSpheres(), model: model, dataset: DatasetSummary(background: [background]), instances: instance,
                ["desired_range": [5, 6], "permitted_range": .object(["0": [-10, 10], "1": [-10, 10], "2": [-10, 10]])]
            ).first)
        let found = try #require(Checks.counterfactuals(explanation).first)
        let value = found[0] + 2 * found[1] - found[2] + 0.5
        #expect((5...6).contains(value), "\(found) → \(value)")
        #expect(explanation.attribution.extras["desired"] == .object(["range": [5, 6]]))
    }

    /// Unknown names, impossible outcomes, nothing left to vary, no background, an image, and a
    /// search that would hold more candidates than the memory allows are each refused.
    @Test func requestsThatCannotBeAnsweredAreRefusedWithTheReason() throws {
        let (model, dataset) = try Checks.demo(
            "iris_mlp", featureNames: Checks.irisFeatures, classNames: ["setosa", "versicolor", "virginica"])
        let instances = dataset.background![0].rows(0..<1)
        func refusal(_ parameters: [String: JSONValue], dataset: DatasetSummary) -> ExplanationError? {
            let problem = ExplanationProblem(model: model, inputs: [instances], output: 0, targets: nil, dataset: dataset)
            do {
                _ = try GrowingSpheres().prepare(parameters, for: problem)
                return nil
            } catch { return error }
        }
        #expect(refusal(["desired_class": "virginica"], dataset: dataset) == nil)
        #expect(refusal(["desired_class": "rose"], dataset: dataset)?.message.contains("setosa, versicolor, virginica") == true)
        #expect(refusal(["desired_class": 3], dataset: dataset)?.message.contains("from 0 to 2") == true)
        #expect(refusal(["desired_range": [0, 1]], dataset: dataset)?.message.contains("desired_class instead") == true)
        #expect(refusal(["features_to_vary": ["petal size"]], dataset: dataset)?.message.contains("petal size") == true)
        #expect(refusal(["features_to_vary": [1], "immutable": [1]], dataset: dataset)?.message.contains("may change no feature") == true)
        #expect(refusal(["permitted_range": .object(["0": [2, 1]])], dataset: dataset)?.code == .invalidParameter)
        #expect(refusal([:], dataset: .none)?.code == .missingReferenceData)
        let wide = try ONNXModelLoader.load(try GraphFactory.linearModel(weights: Array(repeating: [1, -1], count: 100), bias: [0, 0]))
        let wideRows = try Tensor(shape: [2, 100], scalars: (0..<200).map { Float($0 % 3) })
        let wideProblem = ExplanationProblem(
            model: wide, inputs: [wideRows.rows(0..<1)], output: 0, targets: nil, dataset: DatasetSummary(background: [wideRows]))
        #expect(throws: ExplanationError.self) { try GrowingSpheres().prepare(["n_in_layer": 100_000], for: wideProblem) }
        #expect(throws: ExplanationError.self) { try Dice().prepare(["sample_size": 50_000], for: wideProblem) }
        let image = ExplanationProblem(
            model: model, inputs: [try Tensor(shape: [1, 1, 2, 2], scalars: [0, 0, 0, 0])], output: 0, targets: nil)
        #expect(throws: ExplanationError.self) { try GrowingSpheres().prepare([:], for: image) }
    }
}
