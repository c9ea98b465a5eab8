import CandorExplain
import CandorModel
import CandorTensor
import CandorTestSupport
import Testing

/// The axioms every attribution method must keep — completeness, a dummy feature gets zero,
/// symmetric features get equal credit, w ⊙ (x − x′) on a linear model — on a linear model
/// y = x·W + b where the right answers are known in closed form.
@Suite struct AttributionPropertyTests {
    // Feature 2 is a dummy (zero weight); features 0 and 3 are symmetric for output 0.
    let weights: [[Float]] = [[1.5, -2], [0.5, 1], [0, 0], [1.5, 3]]
    let model: ONNXModel

    init() throws {
        model = try ONNXModelLoader.load(try GraphFactory.linearModel(weights: weights, bias: [0.25, -1]))
    }

    func explain(
        _ method: String, _ parameters: [String: JSONValue], inputs: [[Float]], target: Int,
        context: ExplanationContext = ExplanationContext()
    ) throws -> [InstanceExplanation] {
        let batch = try Tensor(shape: [inputs.count, 4], scalars: inputs.flatMap { $0 })
        let problem = ExplanationProblem(model: model, inputs: [batch], output: 0, targets: Array(repeating: target, count: inputs.count))
        let plan = try #require(MethodCatalog.standard.explainer(named: method)).prepare(parameters, for: problem)
        return try ExplanationRunner.run(plan, problem: problem, context: context)
    }

    /// (Captum's trapezoid weights sum to (n − 1)/n, so that rule is checked against the golden
    /// fixtures instead.)
    @Test(arguments: ["gausslegendre", "riemann_left", "riemann_right", "riemann_middle"])
    func integratedGradientsOfALinearModelAreWeightTimesDifference(_ scheme: String) throws {
        let x: [Float] = [2, -1, 7, 0.5]
        let baseline: [Float] = [1, 1, 1, 1]
        let result = try explain(
            "integrated_gradients",
            ["integration": .string(scheme), "n_steps": 9, "baselines": .array(baseline.map { .number(Double($0)) })],
            inputs: [x], target: 1)
        let expected = (0..<4).map { weights[$0][1] * (x[$0] - baseline[$0]) }
        #expect(isClose(result[0].attribution.attributions[0].scalars, expected, absolute: 1e-5))
    }

    @Test func integratedGradientsAreComplete() throws {
        let result = try explain("integrated_gradients", ["n_steps": 64], inputs: [[0.3, -2, 5, 1], [1, 1, 1, 1]], target: 0)
        for explanation in result {
            guard case .number(let delta)? = explanation.attribution.extras["convergence_delta"] else {
                Issue.record("missing convergence_delta")
                continue
            }
            #expect(abs(delta) < 1e-4)
        }
    }

    @Test(arguments: ["saliency", "input_x_gradient", "integrated_gradients", "feature_ablation", "occlusion", "exact_shapley"])
    func aDummyFeatureGetsZeroAndSymmetricFeaturesGetEqualCredit(_ method: String) throws {
        let parameters: [String: JSONValue] = method == "occlusion" ? ["sliding_window_shapes": [1]] : [:]
        let result = try explain(method, parameters, inputs: [[2, 0.5, 9, 2]], target: 0)
        let attributions = result[0].attribution.attributions[0].scalars
        #expect(attributions[2] == 0)
        #expect(abs(attributions[0] - attributions[3]) < 1e-6)
    }

    /// For a linear model, removing feature i changes the output by exactly wᵢ(xᵢ − x′ᵢ):
    /// ablation and one-element occlusion are exact there.
    @Test(arguments: ["feature_ablation", "occlusion", "exact_shapley"])
    func perturbationOfALinearModelIsWeightTimesDifference(_ method: String) throws {
        let x: [Float] = [2, -1, 7, 0.5]
        var withBaseline: [String: JSONValue] = ["baselines": [1, 1, 1, 1]]
        if method == "occlusion" { withBaseline["sliding_window_shapes"] = [1] }
        let result = try explain(method, withBaseline, inputs: [x], target: 1)
        let expected = (0..<4).map { weights[$0][1] * (x[$0] - 1) }
        #expect(isClose(result[0].attribution.attributions[0].scalars, expected, absolute: 1e-5))
    }

    /// A group's drop is shared by its members; for a linear model it is the sum of their terms.
    @Test func aFeatureMaskAblatesGroupsTogether() throws {
        let x: [Float] = [2, -1, 7, 0.5]
        let result = try explain("feature_ablation", ["feature_mask": [0, 0, 1, 1]], inputs: [x], target: 0)
        let first = weights[0][0] * x[0] + weights[1][0] * x[1]
        let second = weights[2][0] * x[2] + weights[3][0] * x[3]
        #expect(isClose(result[0].attribution.attributions[0].scalars, [first, first, second, second], absolute: 1e-5))
    }

    /// Each element's occlusion attribution averages the windows that cover it: with windows of
    /// two on a linear model, an inner element gets (its term + half of each neighbour's) …
    /// checked here against the definition computed by hand.
    @Test func occlusionAveragesTheWindowsCoveringEachElement() throws {
        let x: [Float] = [1, 2, 3, 4]
        let terms = (0..<4).map { weights[$0][0] * x[$0] }
        let result = try explain("occlusion", ["sliding_window_shapes": [2]], inputs: [x], target: 0)
        // Windows [0,1], [1,2], [2,3]; element 0 is in one, 1 and 2 in two, 3 in one.
        let windows = [terms[0] + terms[1], terms[1] + terms[2], terms[2] + terms[3]]
        let expected = [windows[0], (windows[0] + windows[1]) / 2, (windows[1] + windows[2]) / 2, windows[2]]
        #expect(isClose(result[0].attribution.attributions[0].scalars, expected, absolute: 1e-5))
    }

    @Test func chunkingPerturbationsDoesNotChangeTheResult() throws {
        let inputs: [[Float]] = [[0.3, -2, 5, 1], [1, 2, 3, 4]]
        let whole = try explain("feature_ablation", [:], inputs: inputs, target: 1)
        let chunked = try explain("feature_ablation", ["perturbations_per_eval": 1], inputs: inputs, target: 1)
        for (a, b) in zip(whole, chunked) {
            #expect(a.attribution.attributions[0].scalars == b.attribution.attributions[0].scalars)
        }
    }

    @Test func saliencyIsTheAbsoluteGradientUnlessAbsIsFalse() throws {
        let absolute = try explain("saliency", [:], inputs: [[1, 1, 1, 1]], target: 1)
        let signed = try explain("saliency", ["abs": false], inputs: [[1, 1, 1, 1]], target: 1)
        #expect(absolute[0].attribution.attributions[0].scalars == [2, 1, 0, 3])
        #expect(signed[0].attribution.attributions[0].scalars == [-2, 1, 0, 3])
    }

    @Test func defaultTargetsAreEachInstancesArgmax() throws {
        let batch = try Tensor(shape: [2, 4], scalars: [1, 0, 0, 0, 0, 1, 0, 1])
        let problem = ExplanationProblem(model: model, inputs: [batch], output: 0, targets: nil)
        let plan = try Saliency().prepare([:], for: problem)
        let result = try ExplanationRunner.run(plan, problem: problem, context: ExplanationContext())
        #expect(result.map(\.target) == [0, 1])
    }

    @Test func chunkingByInternalBatchSizeDoesNotChangeTheResult() throws {
        let inputs: [[Float]] = [[0.3, -2, 5, 1], [1, 2, 3, 4], [-1, 0, 1, 0]]
        let whole = try explain("integrated_gradients", ["n_steps": 20], inputs: inputs, target: 1)
        let chunked = try explain("integrated_gradients", ["n_steps": 20, "internal_batch_size": 7], inputs: inputs, target: 1)
        // A memory budget of a few rows per pass chunks the same way.
        let budgeted = try explain(
            "integrated_gradients", ["n_steps": 20], inputs: inputs, target: 1,
            context: ExplanationContext(maxBatchElements: 3 * model.elementsPerInstance))
        for (a, b) in zip(whole, chunked) {
            #expect(isClose(a.attribution.attributions[0].scalars, b.attribution.attributions[0].scalars, absolute: 1e-6))
        }
        for (a, b) in zip(whole, budgeted) {
            #expect(isClose(a.attribution.attributions[0].scalars, b.attribution.attributions[0].scalars, absolute: 1e-6))
        }
    }
}

/// Feature permutation on the linear model: instance i's attribution for feature j is
/// wⱼ (xᵢⱼ − x_π(i)ⱼ) for the group's permutation π, which is never the identity.
@Suite struct FeaturePermutationTests {
    let weights: [Float] = [2, -1, 0, 3]

    func explain(_ rows: [[Float]], _ parameters: [String: JSONValue]) throws -> [[Float]] {
        let model = try ONNXModelLoader.load(try GraphFactory.linearModel(weights: weights.map { [$0] }, bias: [0.5]))
        let batch = try Tensor(shape: [rows.count, 4], scalars: rows.flatMap { $0 })
        let problem = ExplanationProblem(model: model, inputs: [batch], output: 0, targets: nil)
        let plan = try FeaturePermutation().prepare(parameters, for: problem)
        return try ExplanationRunner.run(plan, problem: problem, context: ExplanationContext()).map {
            $0.attribution.attributions[0].scalars
        }
    }

    @Test func eachAttributionIsTheWeightTimesTheDifferenceToAnotherInstance() throws {
        let rows: [[Float]] = [[1, 2, 3, 4], [0, -1, 5, 2], [3, 3, 3, 3], [-2, 0, 1, 1]]
        let attributions = try explain(rows, ["seed": 5])
        for feature in 0..<4 {
            let column = rows.map { $0[feature] }
            // Over the batch the shuffled column has the same sum: the attributions cancel.
            #expect(abs(attributions.map { $0[feature] }.reduce(0, +)) < 1e-4)
            for (row, attribution) in attributions.enumerated() {
                let candidates = column.map { weights[feature] * (column[row] - $0) }
                #expect(candidates.contains { abs($0 - attribution[feature]) < 1e-5 })
            }
        }
        #expect(attributions.allSatisfy { $0[2] == 0 })  // the dummy feature
        #expect(try explain(rows, ["seed": 5]) == attributions)
    }

    @Test func aSingleInstanceIsRefused() throws {
        #expect(throws: ExplanationError.self) { _ = try explain([[1, 2, 3, 4]], [:]) }
    }

    /// One permutation per group gives each instance a single draw: no spread to estimate a
    /// standard error from, so none is claimed.
    @Test func aSingleDrawPerGroupClaimsNoStandardError() throws {
        let model = try ONNXModelLoader.load(try GraphFactory.linearModel(weights: weights.map { [$0] }, bias: [0.5]))
        let calibration = StandardErrorCalibration(
            FeaturePermutation(), model: model, inputs: [try Tensor(shape: [2, 4], scalars: [1, 2, 3, 4, 0, -1, 5, 2])],
            targets: [0, 0], parameters: [:])
        #expect(try calibration.run(seed: 3).standardError == nil)
    }
}
