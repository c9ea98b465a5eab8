import CandorModel
import CandorTensor
import CandorTestSupport
import Foundation
import Testing

@testable import CandorExplain

/// What the counterfactual tests share: demo models with their background, running a
/// method, and checking every counterfactual against a fresh prediction and the request's
/// constraints.
enum CounterfactualChecks {
    /// A demo model from `models/` with its background rows and feature and class names.
    static func demo(_ name: String, featureNames: [String]? = nil, classNames: [String]? = nil, domains: FeatureDomains = .none) throws
        -> (model: ONNXModel, dataset: DatasetSummary)
    {
        let model = try ONNXModelLoader.load(contentsOf: Fixtures.repository.appendingPathComponent("models/\(name).onnx"))
        let rows = try tensor(
            fromJSON: try JSONSerialization.jsonObject(
                with: Data(contentsOf: Fixtures.repository.appendingPathComponent("models/\(name).background.json"))))
        let dataset = DatasetSummary(
            featureNames: featureNames, classNames: classNames, domains: domains, background: [rows],
            backgroundSource: "\(name).background.json")
        return (model, dataset)
    }

    static let irisFeatures = ["sepal length (cm)", "sepal width (cm)", "petal length (cm)", "petal width (cm)"]

    static func explain(
        _ explainer: any Explainer, model: any PredictiveModel, dataset: DatasetSummary, instances: Tensor,
        _ parameters: [String: JSONValue]
    ) throws -> [InstanceExplanation] {
        let problem = ExplanationProblem(model: model, inputs: [instances], output: 0, targets: nil, dataset: dataset)
        return try ExplanationRunner.run(try explainer.prepare(parameters, for: problem), problem: problem, context: ExplanationContext())
    }

    /// The counterfactuals of one explanation, as arrays of values.
    static func counterfactuals(_ explanation: InstanceExplanation) -> [[Double]] {
        guard case .array(let items)? = explanation.attribution.extras["counterfactuals"] else { return [] }
        return items.compactMap { item in
            guard case .array(let values)? = item.objectValue?["instance"] else { return nil }
            return values.compactMap(\.doubleValue)
        }
    }

    /// Checks what must hold of every counterfactual whatever the method: a fresh prediction
    /// reaches the outcome (`reaches`), only the features that may vary change, each stays in
    /// its range or at the instance's value, whole-numbered features are whole, categorical
    /// ones take a listed code, the reported distance is the recomputed one, and the
    /// attributions are the first counterfactual's change.
    static func expectAdmissible(
        _ explanation: InstanceExplanation, instance: [Double], model: any PredictiveModel, space: FeatureSpace,
        reaches: (ArraySlice<Float>) -> Bool, sourceLocation: SourceLocation = #_sourceLocation
    ) throws {
        let found = counterfactuals(explanation)
        for counterfactual in found {
            let output = try model.predict([try Tensor(shape: [1, counterfactual.count], scalars: counterfactual.map(Float.init))])[0]
            #expect(reaches(output.scalars[...]), "\(counterfactual) → \(output.scalars)", sourceLocation: sourceLocation)
            for feature in 0..<space.count where Float(counterfactual[feature]) != Float(instance[feature]) {
                #expect(space.varying.contains(feature), "feature \(feature) may not vary", sourceLocation: sourceLocation)
                #expect(
                    space.ranges[feature].contains(counterfactual[feature]), "feature \(feature) = \(counterfactual[feature])",
                    sourceLocation: sourceLocation)
                if space.domains.integer.contains(feature) {
                    #expect(counterfactual[feature] == counterfactual[feature].rounded(), sourceLocation: sourceLocation)
                }
                if let codes = space.domains.categories[feature] {
                    #expect(codes.contains(counterfactual[feature]), sourceLocation: sourceLocation)
                }
            }
        }
        if let first = found.first {
            let change = zip(first, instance).map { Float($0 - $1) }
            #expect(isClose(explanation.attribution.attributions[0].scalars, change, absolute: 1e-5), sourceLocation: sourceLocation)
        }
    }
}
