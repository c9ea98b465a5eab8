import CandorExplain
import CandorModel
import CandorTensor
import CandorTestSupport
import Foundation
import Testing

/// LIME against the `lime` package (`scripts/fixtures/make_lime_fixtures.py`): the quartile
/// discretizer exactly, and whole explanations within lime's own run-to-run spread.
@Suite struct LimeTests {
    static func golden() throws -> [String: Any] {
        try #require(try Fixtures.json("golden/lime_tabular.json") as? [String: Any])
    }

    /// Bins computed from training rows are lime's: edges, per-bin means and deviations,
    /// bounds, frequencies and rule strings, including repeated quartiles and empty bins.
    @Test func binsFromTrainingRowsAreLimesDiscretizer() throws {
        let synthetic = try #require((try Self.golden()["discretizer"] as? [String: Any])?["synthetic"] as? [String: Any])
        let rows = try #require(synthetic["training_data"] as? [[Double]])
        let names = try #require(synthetic["feature_names"] as? [String])
        let expected = try #require(synthetic["features"] as? [[String: Any]])
        for (feature, lime) in expected.enumerated() {
            let bins = try #require(QuartileBins(values: rows.map { $0[feature] }))
            let mismatches = limeDiscretizerMismatches(bins, lime, name: names[feature])
            #expect(mismatches.isEmpty, "feature \(names[feature]): \(mismatches)")
        }
    }

    /// f(x) = 2·x₀ + 0·x₁ − 1·x₂ + 0.5, with training rows spread over every feature.
    static func linear() throws -> (model: ONNXModel, background: JSONValue) {
        let model = try ONNXModelLoader.load(try GraphFactory.linearModel(weights: [[2], [0], [-1]], bias: [0.5]))
        var random = SeededRandom(seed: 1)
        let rows: [JSONValue] = (0..<200).map { _ in .array((0..<3).map { _ in .number(random.standardNormal() * 2 + 1) }) }
        return (model, .array(rows))
    }

    func explain(_ parameters: [String: JSONValue], model: ONNXModel, instance: [Float]) throws -> InstanceAttribution {
        let problem = ExplanationProblem(
            model: model, inputs: [try Tensor(shape: [1, instance.count], scalars: instance)], output: 0, targets: [0])
        let plan = try Lime().prepare(parameters, for: problem)
        return try #require(try ExplanationRunner.run(plan, problem: problem, context: ExplanationContext()).first).attribution
    }

    func number(_ value: JSONValue?) -> Double? {
        if case .number(let number)? = value { return number }
        return nil
    }

    /// Without discretizing, the surrogate of a linear model is the model in standardised
    /// units: coefficient j is w_j · σ_j, and the fit is perfect.
    @Test func aLinearModelIsRecoveredOnStandardisedFeatures() throws {
        let (model, background) = try Self.linear()
        guard case .array(let rows) = background else { return }
        let columns = (0..<3).map { feature in
            rows.compactMap { row -> Double? in
                guard case .array(let values) = row else { return nil }
                return number(values[feature])
            }
        }
        let stds = columns.map { column in
            let mean = column.reduce(0, +) / Double(column.count)
            return (column.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(column.count)).squareRoot()
        }
        let explanation = try explain(
            ["discretize": false, "background": background, "num_features": 3], model: model, instance: [1, 2, 3])
        let expected = zip([2.0, 0, -1], stds).map { Float($0 * $1) }
        #expect(
            isClose(explanation.attributions[0].scalars, expected, absolute: 2e-3, relative: 2e-3),
            "\(explanation.attributions[0].scalars) vs \(expected)")
        #expect((number(explanation.extras["score"]) ?? 0) > 0.9999)
    }

    /// Over groups hidden at a zero baseline, a linear model is linear in the keep-vector:
    /// group g's coefficient is Σ_{j∈g} w_j x_j.
    @Test func groupsOfALinearModelGetTheirContribution() throws {
        let (model, _) = try Self.linear()
        let explanation = try explain(["feature_mask": [0, 1, 0], "baselines": 0, "num_features": 2], model: model, instance: [1, 2, 3])
        // Group 0 = features 0 and 2: 2·1 − 1·3 = −1; group 1 = feature 1: 0.
        #expect(
            isClose(explanation.attributions[0].scalars, [-1, 0, -1], absolute: 2e-3, relative: 2e-3),
            "\(explanation.attributions[0].scalars)")
    }

    /// Dummy: a feature the model ignores is not among the chosen features.
    @Test func aFeatureTheModelIgnoresIsLeftOut() throws {
        let (model, background) = try Self.linear()
        // x₀ in its top bin raises f (w₀ > 0); x₂ in its bottom bin raises it too (w₂ < 0).
        let explanation = try explain(["background": background, "num_features": 2], model: model, instance: [6, 2, -4])
        #expect(explanation.attributions[0].scalars[1] == 0)
        #expect(explanation.attributions[0].scalars[0] > 0 && explanation.attributions[0].scalars[2] > 0)
        guard case .array(let rules)? = explanation.extras["rules"] else {
            Issue.record("no rules")
            return
        }
        #expect(rules.count == 2)
    }

    @Test func aFixedSeedReproducesAndAnotherSeedDiffers() throws {
        let (model, background) = try Self.linear()
        func values(_ seed: Int) throws -> [Float] {
            try explain(["background": background, "n_samples": 300, "seed": .number(Double(seed))], model: model, instance: [1, 2, 3])
                .attributions[0].scalars
        }
        #expect(try values(3) == values(3))
        #expect(try values(3) != values(4))
    }

    @Test func withoutStatisticsTheErrorSaysWhatToSend() throws {
        let (model, _) = try Self.linear()
        #expect {
            _ = try explain([:], model: model, instance: [1, 2, 3])
        } throws: { error in
            guard let error = error as? ExplanationError else { return false }
            return error.code == .missingReferenceData && error.message.contains("'background'")
        }
    }

    /// Over the superpixels lime used (`lime_image.json`, from scikit-image's slic), our leading
    /// superpixels and their signs are lime's, and every weight lies in lime's spread over
    /// five random states, widened by that spread.
    @Test(arguments: [0, 1])
    func superpixelExplanationsAgreeWithLime(_ index: Int) throws {
        let root = try #require(try Fixtures.json("golden/lime_image.json") as? [String: Any])
        let image = try #require((root["images"] as? [[String: Any]])?[index])
        let golden = try #require((root["explanation"] as? [[String: Any]])?.first { $0["image"] as? String == image["name"] as? String })
        let pixels = try #require(image["pixels"] as? [[[Double]]])
        let segments = try #require(image["segments"] as? [[Int]])
        let (height, width) = (pixels.count, pixels[0].count)
        // HWC → CHW, the model's layout; the mask repeats the segments on every channel.
        let chw = (0..<3).flatMap { c in (0..<height).flatMap { y in (0..<width).map { x in Float(pixels[y][x][c]) } } }
        let mask: JSONValue = .array(
            (0..<3).map { _ in .array(segments.map { .array($0.map { .number(Double($0)) }) }) })
        let model = try ONNXModelLoader.load(contentsOf: Fixtures.repository.appendingPathComponent("models/shapes_mlp.onnx"))
        let output = try #require(model.outputs.firstIndex { $0.name == "probabilities" })
        let target = try #require(golden["target"] as? Int)
        let problem = ExplanationProblem(
            model: model, inputs: [try Tensor(shape: [1, 3, height, width], scalars: chw)], output: output, targets: [target])
        let plan = try Lime().prepare(["feature_mask": mask, "n_samples": 3000, "num_features": 1024], for: problem)
        let attribution = try #require(try ExplanationRunner.run(plan, problem: problem, context: ExplanationContext()).first).attribution
        let values = attribution.attributions[0].scalars
        let plane = height * width
        let count = (segments.flatMap { $0 }.max() ?? 0) + 1
        var weights = [Double](repeating: 0, count: count)
        for (position, segment) in segments.flatMap({ $0 }).enumerated() { weights[segment] = Double(values[position]) }
        _ = plane
        let top = try #require(golden["top_features"] as? [Int])
        let signs = try #require(golden["signs"] as? [Int])
        let ours = weights.indices.sorted { abs(weights[$0]) > abs(weights[$1]) }
        #expect(Array(ours.prefix(top.count)) == top, "our leading superpixels \(ours.prefix(5)) vs lime's \(top)")
        for (feature, sign) in zip(top, signs) { #expect((weights[feature] > 0 ? 1 : -1) == sign) }
        let lower = try #require(golden["weights_min"] as? [Double])
        let upper = try #require(golden["weights_max"] as? [Double])
        let scale = upper.map(abs).max() ?? 1
        for feature in 0..<count {
            let width = upper[feature] - lower[feature] + 0.05 * scale
            #expect(
                lower[feature] - width <= weights[feature] && weights[feature] <= upper[feature] + width,
                "superpixel \(feature): \(weights[feature]) outside lime's [\(lower[feature]), \(upper[feature])]")
        }
    }
}
