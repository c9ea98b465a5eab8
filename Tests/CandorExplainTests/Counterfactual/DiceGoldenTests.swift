import CandorModel
import CandorTensor
import CandorTestSupport
import Foundation
import Testing

@testable import CandorExplain

/// `dice` (both searches) against dice-ml 0.12 on the same models, background, instances and settings
/// (`Tests/Fixtures/golden/counterfactuals.json`, from
/// `scripts/fixtures/make_counterfactual_fixtures.py`): wherever dice-ml finds
/// counterfactuals, Candor finds valid ones too, and the nearest of them (measured the same
/// way for both, Candor's MAD-scaled L1) is no farther than dice-ml's nearest. For several
/// counterfactuals from `dice`, whose objective trades proximity for diversity, DiCE's objective
/// (``DiverseSelection``) is no worse for Candor's set than for one of dice-ml's two (its
/// random method draws its set at random among valid samples and now and then lands a more
/// diverse one than Candor's greedy choice after refinement).
@Suite struct DiceGoldenTests {
    typealias Checks = CounterfactualChecks

    struct GoldenModel {
        let name: String
        let model: any PredictiveModel
        let dataset: DatasetSummary
        let fields: [String: Any]
        /// The explained output: the tree model's class probabilities are its output 1 (0 is the margin).
        let output: Int
    }

    static func models() throws -> [GoldenModel] {
        let golden = try #require(try Fixtures.json("golden/counterfactuals.json") as? [String: Any])
        return try (golden["models"] as? [[String: Any]] ?? []).map { fields in
            let file = Fixtures.repository.appendingPathComponent(fields["file"] as? String ?? "")
            let isTree = fields["output"] as? String == "probability"
            let model: any PredictiveModel =
                isTree ? try XGBoostModelLoader.load(try Data(contentsOf: file)) : try ONNXModelLoader.load(contentsOf: file)
            let names = fields["feature_names"] as? [String]
            let domains = try FeatureDomains(
                integerNames: fields["integer_features"] as? [String] ?? [],
                categoricalValues: (fields["categorical_features"] as? [String: [Double]]) ?? [:],
                immutableNames: fields["immutable_features"] as? [String] ?? [], featureNames: names)
            let background = try tensor(fromJSON: fields["background"] as Any)
            let dataset = DatasetSummary(
                featureNames: names, classNames: fields["class_names"] as? [String], domains: domains, background: [background])
            return GoldenModel(
                name: fields["name"] as? String ?? "", model: model, dataset: dataset, fields: fields, output: isTree ? 1 : 0)
        }
    }

    /// Candor's parameters for a case's dice-ml settings.
    static func parameters(_ settings: [String: Any], model: GoldenModel, search: String?) -> [String: JSONValue] {
        var parameters: [String: JSONValue] = ["total_cfs": .number(Double(settings["total_cfs"] as? Int ?? 1))]
        if let search { parameters["search"] = .string(search) }
        switch settings["desired_class"] {
        case let desired as Int: parameters["desired_class"] = .number(Double(desired))
        default: break
        }
        if let range = settings["desired_range"] as? [Double] { parameters["desired_range"] = .array(range.map { .number($0) }) }
        if let features = settings["features_to_vary"] as? [String] {
            parameters["features_to_vary"] = .array(features.map { .string($0) })
        }
        if let permitted = settings["permitted_range"] as? [String: [Double]] {
            parameters["permitted_range"] = .object(permitted.mapValues { .array($0.map { .number($0) }) })
        }
        return parameters
    }

    @Test(arguments: [("dice", "genetic"), ("dice", "random")] as [(String, String?)])
    func theSearchesFindValidCounterfactualsNoFartherThanDiceML(_ method: String, _ search: String?) throws {
        let explainer = try #require(MethodCatalog.standard.explainer(named: method))
        let models = try Self.models()
        for golden in models {
            let instances = golden.fields["instances"] as? [[String: Any]] ?? []
            for (index, goldenCase) in (golden.fields["cases"] as? [[String: Any]] ?? []).enumerated() {
                let settings = goldenCase["settings"] as? [String: Any] ?? [:]
                if settings["desired_class"] as? String == "opposite",
                    (golden.fields["class_names"] as? [String])?.count ?? 0 > 2
                {
                    continue  // dice-ml refuses "opposite" for three classes
                }
                let values = try #require(instances[goldenCase["instance"] as? Int ?? 0]["values"] as? [Double])
                let instance = try Tensor(shape: [1, values.count], scalars: values.map(Float.init))
                let parameters = Self.parameters(settings, model: golden, search: search)
                let problem = ExplanationProblem(
                    model: golden.model, inputs: [instance], output: golden.output, targets: nil, dataset: golden.dataset)
                let plan = try explainer.prepare(parameters, for: problem)
                let explanation = try #require(try ExplanationRunner.run(plan, problem: problem, context: ExplanationContext()).first)
                var reader = try ParameterReader(parameters, specs: explainer.descriptor.parameters, method: method)
                let setting = try CounterfactualSetting(&reader, problem: problem, method: method)
                let label = "\(golden.name) case \(index) (\(method), \(parameters))"
                let original = DesiredOutcome.prediction(try golden.model.predict([instance])[golden.output].scalars[...])
                try Checks.expectAdmissible(
                    explanation, instance: values.map { Double(Float($0)) }, model: golden.model, output: golden.output,
                    space: setting.space
                ) {
                    setting.outcome.isReached(by: $0, original: original)
                }
                let references = ["random", "genetic"].compactMap { method -> [[Double]]? in
                    guard let result = goldenCase[method] as? [String: Any], result["found"] as? Int ?? 0 > 0 else { return nil }
                    return (result["counterfactuals"] as? [[String: Any]] ?? []).compactMap { $0["values"] as? [Double] }
                }
                guard !references.isEmpty else { continue }
                let found = Checks.counterfactuals(explanation)
                #expect(!found.isEmpty && explanation.attribution.extras["validity"] == 1, "\(label)")
                let instanceValues = values.map { Double(Float($0)) }
                let distance = { (set: [[Double]]) in set.map { setting.space.distance(instanceValues, $0) } }
                let nearest = references.map { distance($0).min() ?? .infinity }.min() ?? .infinity
                #expect(
                    (distance(found).min() ?? .infinity) <= nearest * 1.0001,
                    "\(label): Candor \(distance(found)), dice-ml \(references.map(distance))")
                guard found.count > 1, method == "dice" else { continue }
                let selection = DiverseSelection(space: setting.space, instance: instanceValues, proximityWeight: 0.5, diversityWeight: 1)
                let objectives = references.map { selection.objective(of: $0) }
                #expect(
                    selection.objective(of: found) <= (objectives.max() ?? 0) + 1e-9,
                    "\(label): DiCE's objective, Candor \(selection.objective(of: found)), dice-ml \(objectives)")
            }
        }
    }
}
