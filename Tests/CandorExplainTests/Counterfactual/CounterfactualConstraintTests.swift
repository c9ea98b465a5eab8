import CandorModel
import CandorTensor
import CandorTestSupport
import Testing

@testable import CandorExplain

/// Every counterfactual method keeps every constraint of random requests on the credit demo
/// model, whose sidecar declares whole-numbered, categorical and immutable features: random
/// `features_to_vary`, an extra `immutable` feature, a random `permitted_range` and
/// `total_cfs`, for random applicants; every answer is re-predicted.
@Suite struct CounterfactualConstraintTests {
    typealias Checks = CounterfactualChecks

    static let creditFeatures = [
        "age", "income", "debt to income", "years employed", "open credit lines", "late payments", "home ownership", "sex",
    ]
    static let creditDomains = FeatureDomains(integer: [0, 3, 4, 5], categories: [6: [0, 1, 2], 7: [0, 1]], immutable: [0, 7])

    /// Each method's settings for a quick search.
    static let quick: [String: [String: JSONValue]] = [
        "growing_spheres": ["n_in_layer": 300, "max_layers": 300],
        "dice": ["population_size": 40, "max_iterations": 40],
        "wachter": ["max_iter": 150, "max_lam_steps": 6],
    ]

    @Test(arguments: ["growing_spheres", "dice", "wachter"], 0..<5)
    func randomRequestsNeverViolateTheirConstraints(_ method: String, _ seed: Int) throws {
        let explainer = try #require(MethodCatalog.standard.explainer(named: method))
        let (model, dataset) = try Checks.demo(
            "credit_mlp", featureNames: Self.creditFeatures, classNames: ["refused", "approved"], domains: Self.creditDomains)
        var random = SeededRandom(seed: UInt64(seed), stream: 91)
        let background = try #require(dataset.background?.first)
        let row = random.integer(below: background.shape[0])
        let instances = background.rows(row..<(row + 1))
        let names = Self.creditFeatures
        let toVary = (1...6).filter { _ in random.uniform() < 0.8 }
        var parameters = Self.quick[method] ?? [:]
        parameters["features_to_vary"] = .array(toVary.map { .string(names[$0]) })
        parameters["immutable"] = .array([.string(names[1 + random.integer(below: 6)])])
        let low = 20 + 30 * random.uniform()
        parameters["permitted_range"] = .object(["income": .array([.number(low), .number(low + 60)]), "5": [0, 2]])
        parameters["total_cfs"] = .number(Double(1 + random.integer(below: 3)))
        parameters["seed"] = .number(Double(seed))
        let problem = ExplanationProblem(model: model, inputs: [instances], output: 0, targets: nil, dataset: dataset)
        var reader = try ParameterReader(parameters, specs: explainer.descriptor.parameters, method: method)
        guard let setting = try? CounterfactualSetting(&reader, problem: problem, method: method) else { return }  // nothing to vary
        #expect(!setting.space.varying.contains(0) && !setting.space.varying.contains(7))
        let explanation = try #require(
            try Checks.explain(explainer, model: model, dataset: dataset, instances: instances, parameters).first)
        let original = DesiredOutcome.prediction(explanation.output.scalars[...])
        #expect(!Checks.counterfactuals(explanation).isEmpty, "every applicant has some admissible change that flips the decision")
        try Checks.expectAdmissible(explanation, instance: instances.scalars.map(Double.init), model: model, space: setting.space) {
            DesiredOutcome.prediction($0) != original
        }
    }
}
