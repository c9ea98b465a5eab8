import CandorExplain
import CandorModel
import CandorTensor
import CandorTestSupport
import Foundation
import Testing

@Suite struct KernelShapTests {
    let model: ONNXModel
    let inputs: Tensor
    /// Three reference rows for the six-feature fixture network.
    let background: JSONValue = [[0, 0, 0, 0, 0, 0], [1, -1, 0.5, 2, -0.5, 1], [-1, 0.5, 1, 0, 2, -2]]

    init() throws {
        model = try Fixtures.model("models/mlp_torchscript.onnx")
        inputs = try Tensor(shape: [2, 6], scalars: [0.3, -1, 2, 0.5, 1, -0.7, 1, 1, -2, 0, 0.25, 3])
    }

    func explain(_ method: any Explainer, _ parameters: [String: JSONValue]) throws -> [InstanceExplanation] {
        let problem = ExplanationProblem(model: model, inputs: [inputs], output: 0, targets: [2, 0])
        let plan = try method.prepare(parameters, for: problem)
        return try ExplanationRunner.run(plan, problem: problem, context: ExplanationContext())
    }

    func attributions(_ method: any Explainer, _ parameters: [String: JSONValue]) throws -> [Float] {
        try explain(method, parameters).flatMap { $0.attribution.attributions[0].scalars }
    }

    /// exact_shapley with a background plays the same game as kernel_shap.
    @Test func exactShapleyWithABackgroundIsTheMeanOverItsRows() throws {
        let direct = try attributions(ExactShapley(), ["background": background])
        #expect(isClose(direct, try exactWithBackground(), absolute: 1e-5))
    }

    /// The exact Shapley values of the background-averaged game: v(S) is the mean over the rows
    /// of the single-baseline game, so its Shapley values are the mean of exact_shapley's.
    func exactWithBackground() throws -> [Float] {
        guard case .array(let rows) = background else { return [] }
        var total = [Float](repeating: 0, count: 12)
        for row in rows {
            let values = try attributions(ExactShapley(), ["baselines": row])
            total = zip(total, values).map { $0 + $1 / Float(rows.count) }
        }
        return total
    }

    /// With a budget covering all 2⁶ − 2 coalitions, the regression recovers the exact values.
    @Test func enumeratingEveryCoalitionGivesExactShapleyValues() throws {
        let kernel = try attributions(KernelShap(), ["background": background])
        let exact = try exactWithBackground()
        #expect(isClose(kernel, exact, absolute: 1e-5), "kernel \(kernel)\nexact \(exact)")
    }

    /// A single baseline row is the game exact_shapley plays.
    @Test func aSingleBaselineMatchesExactShapley() throws {
        let kernel = try attributions(KernelShap(), ["baselines": 0.5])
        let exact = try attributions(ExactShapley(), ["baselines": 0.5])
        #expect(isClose(kernel, exact, absolute: 1e-5))
    }

    /// Efficiency holds exactly whatever the sample count: Σφ = f(x) − E[f(background)].
    @Test(arguments: [3, 10, 40])
    func everyEstimateIsEfficient(samples: Int) throws {
        for explanation in try explain(KernelShap(), ["background": background, "n_samples": .number(Double(samples))]) {
            guard case .number(let base)? = explanation.attribution.extras["base_value"] else {
                Issue.record("no base_value")
                return
            }
            let total = explanation.attribution.attributions[0].scalars.reduce(0, +)
            let change = Double(explanation.output.scalars[explanation.target]) - base
            #expect(abs(Double(total) - change) < 1e-4, "Σφ = \(total), f(x) − E[f] = \(change)")
        }
    }

    /// Below full enumeration the estimate converges: the error shrinks as samples grow.
    @Test func theEstimateConvergesToExactShapleyValues() throws {
        let exact = try exactWithBackground()
        func error(_ samples: Int) throws -> Float {
            maxAbsoluteDifference(
                try attributions(KernelShap(), ["background": background, "n_samples": .number(Double(samples)), "seed": 5]), exact)
        }
        let coarse = try error(8)
        let fine = try error(56)
        #expect(fine < coarse, "error with 8 samples \(coarse), with 56 samples \(fine)")
        #expect(try error(62) < 1e-5)
    }

    @Test func aFixedSeedReproducesAndAnotherSeedDiffers() throws {
        let first = try attributions(KernelShap(), ["background": background, "n_samples": 20, "seed": 3])
        #expect(first == (try attributions(KernelShap(), ["background": background, "n_samples": 20, "seed": 3])))
        #expect(first != (try attributions(KernelShap(), ["background": background, "n_samples": 20, "seed": 4])))
    }

    /// A feature on which the instance equals every background row cannot change the output:
    /// it gets exactly 0 (SHAP leaves it out of the regression), and the others share the rest.
    @Test func aFeatureEqualToTheBackgroundGetsZero() throws {
        let rows: JSONValue = [[0, -1, 0, 0, 0, 0], [1, -1, 0.5, 2, -0.5, 1]]  // feature 1 equals instance 0's
        let explanations = try explain(KernelShap(), ["background": rows])
        #expect(explanations[0].attribution.attributions[0].scalars[1] == 0)
        #expect(explanations[1].attribution.attributions[0].scalars[1] != 0)
    }

    /// Dummy: a feature the model ignores gets zero.
    @Test func aFeatureTheModelIgnoresGetsZero() throws {
        let linear = try ONNXModelLoader.load(try GraphFactory.linearModel(weights: [[2], [0], [-1]], bias: [0.5]))
        let problem = ExplanationProblem(
            model: linear, inputs: [try Tensor(shape: [1, 3], scalars: [1, 5, 2])], output: 0, targets: nil)
        let plan = try KernelShap().prepare(["background": [[0, 0, 0], [1, 1, 1]]], for: problem)
        let values = try ExplanationRunner.run(plan, problem: problem, context: ExplanationContext())[0].attribution.attributions[0]
        // A linear model's SHAP values are w ⊙ (x − E[background]).
        #expect(isClose(values.scalars, [2 * (1 - 0.5), 0, -1 * (2 - 0.5)], absolute: 1e-5))
    }

    /// The regression's size is bounded: a million coalitions × 1,024 groups is refused
    /// before anything is allocated, as is the same for LIME.
    @Test func regressionsBeyondTheirBoundAreRefused() throws {
        let wide = try ONNXModelLoader.load(try GraphFactory.linearModel(weights: Array(repeating: [1], count: 1100), bias: [0]))
        let problem = ExplanationProblem(model: wide, inputs: [try Tensor(repeating: 1, shape: [1, 1100])], output: 0, targets: nil)
        let mask: JSONValue = .array((0..<1100).map { .number(Double($0 % 1024)) })
        #expect {
            _ = try KernelShap().prepare(["feature_mask": mask, "baselines": 0, "n_samples": 1_000_000], for: problem)
        } throws: { error in
            (error as? ExplanationError)?.message.contains("lower n_samples or group features") == true
        }
        #expect {
            _ = try Lime().prepare(["feature_mask": mask, "n_samples": 1_000_000], for: problem)
        } throws: { error in
            (error as? ExplanationError)?.message.contains("lower n_samples or group features") == true
        }
    }

    @Test func withoutReferenceDataTheErrorSaysWhatToSend() throws {
        let problem = ExplanationProblem(model: model, inputs: [inputs], output: 0, targets: nil)
        #expect {
            _ = try KernelShap().prepare([:], for: problem)
        } throws: { error in
            guard let error = error as? ExplanationError else { return false }
            return error.code == .missingReferenceData && error.message.contains("'background'") && error.message.contains("'baselines'")
        }
    }

    static let badParameters: [([String: JSONValue], String)] = [
        (["background": [[0, 0, 0, 0, 0, 0]], "baselines": 0], "not both"),
        (["background": [0, 0, 0, 0, 0, 0]], "array of instances"),
        (["background": [[0, 0, 0]]], "array of instances"),
        (["baselines": [[0, 0, 0, 0, 0, 0], [1, 1, 1, 1, 1, 1]]], "several reference rows go in 'background'"),
        (["background": 0, "n_samples": 0], "n_samples"),
    ]

    @Test(arguments: badParameters)
    func badReferenceDataIsRefusedNamingTheProblem(_ parameters: [String: JSONValue], message: String) throws {
        let problem = ExplanationProblem(model: model, inputs: [inputs], output: 0, targets: nil)
        #expect {
            _ = try KernelShap().prepare(parameters, for: problem)
        } throws: { error in
            (error as? ExplanationError)?.message.contains(message) == true
        }
    }
}

/// SHAP's `KernelExplainer` (l1_reg=False) on the same models, instances and backgrounds,
/// from `scripts/fixtures/make_kernel_shap_fixtures.py`.
@Suite struct KernelShapGoldenTests {
    struct Case: Sendable, CustomTestStringConvertible {
        let name: String
        let model: String
        let output: String
        let targets: [Int]
        let inputs: [[Double]]
        let background: [[Double]]
        let featureMask: [Int]?
        let deterministic: Bool
        let baseValues: [Double]
        let attributions: [[Double]]
        let lower: [[Double]]?
        let upper: [[Double]]?
        var testDescription: String { name }
    }

    static let cases: [Case] = {
        guard let root = try? Fixtures.json("golden/kernel_shap.json") as? [String: Any], let cases = root["cases"] as? [[String: Any]]
        else { return [] }
        return cases.map { item in
            Case(
                name: item["name"] as? String ?? "", model: item["model"] as? String ?? "", output: item["output"] as? String ?? "",
                targets: item["targets"] as? [Int] ?? [], inputs: item["inputs"] as? [[Double]] ?? [],
                background: item["background"] as? [[Double]] ?? [], featureMask: item["feature_mask"] as? [Int],
                deterministic: item["deterministic"] as? Bool ?? true, baseValues: item["base_values"] as? [Double] ?? [],
                attributions: item["attributions"] as? [[Double]] ?? [], lower: item["attributions_min"] as? [[Double]],
                upper: item["attributions_max"] as? [[Double]])
        }
    }()

    @Test func theFixtureHasCases() {
        #expect(Self.cases.count >= 10)
    }

    @Test(arguments: cases)
    func matchesShapKernelExplainer(_ golden: Case) throws {
        let model = try ONNXModelLoader.load(contentsOf: Fixtures.repository.appendingPathComponent(golden.model))
        let output = try #require(model.outputs.firstIndex { $0.name == golden.output })
        let inputs = try Tensor(
            shape: [golden.inputs.count, golden.inputs[0].count], scalars: golden.inputs.flatMap { $0.map(Float.init) })
        let problem = ExplanationProblem(model: model, inputs: [inputs], output: output, targets: golden.targets)
        var parameters: [String: JSONValue] = [
            "background": .array(golden.background.map { .array($0.map { .number($0) }) })
        ]
        if let mask = golden.featureMask { parameters["feature_mask"] = .array(mask.map { .number(Double($0)) }) }
        let plan = try KernelShap().prepare(parameters, for: problem)
        let explanations = try ExplanationRunner.run(plan, problem: problem, context: ExplanationContext())
        for (row, explanation) in explanations.enumerated() {
            guard case .number(let base)? = explanation.attribution.extras["base_value"] else {
                Issue.record("no base_value")
                return
            }
            #expect(abs(base - golden.baseValues[row]) <= 1e-5 + 1e-4 * abs(golden.baseValues[row]))
            let values = explanation.attribution.attributions[0].scalars
            let expected = golden.attributions[row].map(Float.init)
            if golden.deterministic {
                #expect(isClose(values, expected, absolute: 2e-5), "row \(row): \(values) vs SHAP \(expected)")
            } else if let lower = golden.lower?[row], let upper = golden.upper?[row] {
                // Different random streams: each value must fall in SHAP's own spread over
                // seeds, widened by that spread (and a small floor).
                let scale = expected.map(abs).max() ?? 1
                for index in values.indices {
                    let width = Float(upper[index] - lower[index]) + 0.02 * scale
                    #expect(
                        Float(lower[index]) - width <= values[index] && values[index] <= Float(upper[index]) + width,
                        "feature \(index): \(values[index]) outside SHAP's [\(lower[index]), \(upper[index])] ± \(width)")
                }
            }
        }
    }
}

/// On the breast-cancer demo model with 13 feature groups — 8,192 coalitions, enumerated by
/// exact_shapley as the brute-force reference — both sampling estimators converge: the error
/// shrinks as samples grow, and KernelSHAP with every coalition is exact.
@Suite struct ThirteenGroupConvergenceTests {
    let model: ONNXModel
    let inputs: Tensor
    let mask: JSONValue = .array((0..<30).map { .number(Double($0 % 13)) })
    let background: JSONValue

    init() throws {
        model = try ONNXModelLoader.load(contentsOf: Fixtures.repository.appendingPathComponent("models/breast_cancer_mlp.onnx"))
        let rows = try #require(
            try JSONSerialization.jsonObject(
                with: Data(contentsOf: Fixtures.repository.appendingPathComponent("models/breast_cancer_mlp.background.json")))
                as? [[Double]])
        inputs = try Tensor(shape: [1, 30], scalars: rows[7].map(Float.init))
        background = .array(rows.prefix(4).map { .array($0.map { .number($0) }) })
    }

    func attributions(_ method: any Explainer, _ parameters: [String: JSONValue]) throws -> [Float] {
        let problem = ExplanationProblem(model: model, inputs: [inputs], output: 0, targets: [0])
        let plan = try method.prepare(parameters.merging(["feature_mask": mask]) { $1 }, for: problem)
        return try #require(try ExplanationRunner.run(plan, problem: problem, context: ExplanationContext()).first).attribution
            .attributions[0]
            .scalars
    }

    @Test func kernelShapConvergesToTheEnumeratedValues() throws {
        let exact = try attributions(ExactShapley(), ["background": background])
        func error(_ samples: Int) throws -> Float {
            maxAbsoluteDifference(try attributions(KernelShap(), ["background": background, "n_samples": .number(Double(samples))]), exact)
        }
        let coarse = try error(60)
        let fine = try error(3000)
        let scale = exact.map(abs).max() ?? 1
        #expect(fine < coarse, "error with 60 coalitions \(coarse), with 3000 \(fine)")
        #expect(try error(8190) < 1e-4 * max(scale, 1))
    }

    @Test func shapleySamplingConvergesToTheEnumeratedValues() throws {
        let exact = try attributions(ExactShapley(), ["baselines": 0])
        func error(_ samples: Int) throws -> Float {
            maxAbsoluteDifference(
                try attributions(ShapleyValueSampling(), ["baselines": 0, "n_samples": .number(Double(samples)), "seed": 3]), exact)
        }
        let coarse = try error(4)
        let fine = try error(600)
        #expect(fine < coarse / 3, "error with 4 orderings \(coarse), with 600 \(fine)")
    }
}
