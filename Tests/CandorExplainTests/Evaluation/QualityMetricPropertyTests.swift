import CandorExplain
import CandorModel
import CandorTensor
import CandorTestSupport
import Foundation
import Testing

/// What the metrics must say where the answer is known: on a linear model y = x·W + b, and on
/// attributions whose concentration is known.
@Suite struct QualityMetricPropertyTests {
    let weights: [[Float]] = [[1.5, -2], [0.5, 1], [0, 0], [1.5, 3]]
    let model: ONNXModel

    init() throws {
        model = try ONNXModelLoader.load(try GraphFactory.linearModel(weights: weights, bias: [0.25, -1]))
    }

    func quality(
        _ metric: String, _ parameters: [String: JSONValue] = [:], inputs: [[Float]], attributions: [[Float]], target: Int = 0
    ) throws -> [[String: JSONValue]] {
        let batch = try Tensor(shape: [inputs.count, 4], scalars: inputs.flatMap { $0 })
        let problem = ExplanationProblem(model: model, inputs: [batch], output: 0, targets: Array(repeating: target, count: inputs.count))
        let plan = try #require(MetricCatalog.standard.metric(named: metric)).prepare(parameters, for: problem)
        let perInstance = try attributions.map { [try Tensor(shape: [4], scalars: $0)] }
        return try EvaluationRunner.evaluate(
            attributions: perInstance, problem: problem, metrics: [NamedMetricPlan(name: metric, plan: plan)], context: ExplanationContext()
        ).map(\.quality)
    }

    func value(_ quality: [String: JSONValue], _ metric: String) -> Double? {
        quality[metric]?.objectValue?["value"]?.doubleValue
    }

    /// Deletion starts at f(x) and ends at f(baseline), insertion the other way round; on a
    /// linear model each step moves the output by the moved feature's w·(x − x′), largest first.
    @Test func deletionAndInsertionCurvesRunBetweenTheInputAndTheBaseline() throws {
        let x: [Float] = [2, -1, 7, 0.5]
        let exact = (0..<4).map { weights[$0][0] * x[$0] }  // w ⊙ (x − 0)
        let fx = exact.reduce(0.25, +)
        for metric in ["deletion", "insertion"] {
            let result = try quality(metric, ["n_steps": 4], inputs: [x], attributions: [exact])
            let curve = try #require(result[0][metric]?.objectValue?["curve"]).arrayNumbers
            #expect(curve.count == 5)
            let sign: Float = metric == "deletion" ? -1 : 1
            var expected = [metric == "deletion" ? fx : 0.25]
            for moved in exact.sorted(by: >) { expected.append(expected[expected.count - 1] + sign * moved) }
            #expect(isClose(curve.map(Float.init), expected, absolute: 1e-5))
        }
    }

    /// Ranking by the true contributions makes deletion fall fastest: its area is below that
    /// of the reverse order (LeRF), and insertion's above.
    @Test func faithfulAttributionsGiveLowDeletionAndHighInsertionUnderMoRF() throws {
        let x: [Float] = [2, -1, 7, 0.5]
        let exact = (0..<4).map { weights[$0][0] * x[$0] }
        let deletion = try #require(value(try quality("deletion", inputs: [x], attributions: [exact])[0], "deletion"))
        let deletionLeRF = try #require(
            value(try quality("deletion", ["order": "lerf"], inputs: [x], attributions: [exact])[0], "deletion"))
        let insertion = try #require(value(try quality("insertion", inputs: [x], attributions: [exact])[0], "insertion"))
        #expect(deletion < deletionLeRF)
        #expect(insertion > deletion)
    }

    /// w ⊙ (x − x′) is complete on a linear model; adding 1 to one attribution is off by 1.
    @Test func completenessIsZeroForExactAttributionsAndCountsTheExcess() throws {
        let x: [Float] = [2, -1, 7, 0.5]
        let exact = (0..<4).map { weights[$0][1] * (x[$0] - 1) }
        var excess = exact
        excess[2] += 1
        let result = try quality("completeness", ["baselines": 1], inputs: [x, x], attributions: [exact, excess], target: 1)
        #expect(abs(try #require(value(result[0], "completeness"))) < 1e-5)
        #expect(abs(try #require(value(result[1], "completeness")) - 1) < 1e-5)
    }

    /// Gini is 0 for equal magnitudes and (n − 1)/n for one non-zero feature (up to Quantus's
    /// 10⁻⁷ shift); entropy is log n and 0.
    @Test func sparsenessAndComplexityOfEvenAndOneHotAttributions() throws {
        let x: [Float] = [1, 1, 1, 1]
        let even: [Float] = [0.5, -0.5, 0.5, -0.5]
        let oneHot: [Float] = [0, 0, -3, 0]
        let sparseness = try quality("sparseness", inputs: [x, x], attributions: [even, oneHot])
        #expect(abs(try #require(value(sparseness[0], "sparseness"))) < 1e-6)
        #expect(abs(try #require(value(sparseness[1], "sparseness")) - 0.75) < 1e-6)
        let complexity = try quality("complexity", inputs: [x, x], attributions: [even, oneHot])
        #expect(abs(try #require(value(complexity[0], "complexity")) - log(4)) < 1e-9)
        #expect(abs(try #require(value(complexity[1], "complexity"))) < 1e-9)
    }

    /// On a linear model f(x) − f(x − I) = Iᵀw, so the gradient w has no infidelity at all,
    /// with or without the β scaling, and w ⊙ x (which is not a gradient) has some.
    @Test func theGradientOfALinearModelHasZeroInfidelity() throws {
        let x: [Float] = [2, -1, 7, 0.5]
        let gradient = (0..<4).map { weights[$0][1] }
        for normalize in [true, false] {
            let result = try quality(
                "infidelity", ["normalize": .bool(normalize), "n_perturb_samples": 200], inputs: [x, x],
                attributions: [gradient, zip(gradient, x).map(*)], target: 1)
            #expect(try #require(value(result[0], "infidelity")) < 1e-8)
            #expect(try #require(value(result[1], "infidelity")) > 1e-3)
        }
    }

    /// Exact attributions w ⊙ (x − x′) make Σ_S φ equal the drop f(x) − f(x with S at x′) for
    /// every subset: a correlation of 1; their negation, −1.
    @Test func exactAttributionsCorrelatePerfectlyWithTheOutputsDrop() throws {
        let x: [Float] = [2, -1, 7, 0.5]
        let exact = (0..<4).map { weights[$0][0] * x[$0] }
        let result = try quality(
            "faithfulness_correlation", ["subset_size": 2, "n_samples": 50], inputs: [x, x], attributions: [exact, exact.map { -$0 }])
        #expect(abs(try #require(value(result[0], "faithfulness_correlation")) - 1) < 1e-6)
        #expect(abs(try #require(value(result[1], "faithfulness_correlation")) + 1) < 1e-6)
    }

    /// The gradient of a linear model is the same everywhere: sensitivity 0, whatever the radius.
    @Test func saliencyOfALinearModelIsInsensitive() throws {
        let batch = try Tensor(shape: [1, 4], scalars: [2, -1, 7, 0.5])
        let problem = ExplanationProblem(model: model, inputs: [batch], output: 0, targets: [1])
        let saliency = try #require(MethodCatalog.standard.explainer(named: "saliency"))
        let parameters: [String: JSONValue] = ["abs": false]
        let metric = try #require(MetricCatalog.standard.metric(named: "sensitivity_max")).prepare(["perturb_radius": 0.5], for: problem)
        let explained = try ExplanationRunner.run(
            try saliency.prepare(parameters, for: problem), problem: problem, context: ExplanationContext(),
            metrics: [NamedMetricPlan(name: "sensitivity_max", plan: metric)],
            method: MethodCall(explainer: saliency, parameters: parameters))
        #expect(try #require(value(explained[0].quality, "sensitivity_max")) < 1e-6)
    }

    /// Attributions that do not fit the instances are refused before the model runs.
    @Test func misshapenAttributionsAreRefused() throws {
        let batch = try Tensor(shape: [1, 4], scalars: [1, 2, 3, 4])
        let problem = ExplanationProblem(model: model, inputs: [batch], output: 0, targets: nil)
        let plan = try #require(MetricCatalog.standard.metric(named: "sparseness")).prepare([:], for: problem)
        #expect(throws: ExplanationError.self) {
            try EvaluationRunner.evaluate(
                attributions: [[try Tensor(shape: [3], scalars: [1, 2, 3])]], problem: problem,
                metrics: [NamedMetricPlan(name: "sparseness", plan: plan)], context: ExplanationContext())
        }
    }
}

extension JSONValue {
    /// The numbers of an array value.
    fileprivate var arrayNumbers: [Double] {
        if case .array(let items) = self { return items.compactMap(\.doubleValue) }
        return []
    }
}
