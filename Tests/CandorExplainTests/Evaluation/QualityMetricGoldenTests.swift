import CandorExplain
import CandorModel
import CandorTensor
import CandorTestSupport
import Foundation
import Testing

/// One metric case of `golden/evaluation.json` (`scripts/fixtures/make_evaluation_fixtures.py`):
/// deletion, insertion and completeness recomputed from their definitions with onnxruntime,
/// sparseness and complexity from Quantus; for the sampled metrics (Captum's infidelity and
/// sensitivity_max, Quantus's faithfulness correlation) the reference's mean and standard
/// deviation over 30 seeds.
struct MetricCase: CustomTestStringConvertible, Sendable {
    let subject: String
    let model: String
    let output: String
    let inputs: Tensor
    let targets: [Int]
    let attributions: Tensor
    let metric: String
    let parameters: [String: JSONValue]
    let values: [Double]
    let curves: [[Float]]?
    /// Sampled metrics: the reference's seed-to-seed standard deviation per instance.
    let spread: [Double]?
    /// The method whose attributions the metric re-explains with (`sensitivity_max`).
    let method: String?

    var testDescription: String { "\(subject): \(metric) \(parameters.filter { $0.key != "feature_mask" })" }

    static func all() throws -> [MetricCase] {
        let golden = try #require(try Fixtures.json("golden/evaluation.json") as? [String: Any])
        let subjects = try #require(golden["subjects"] as? [String: [String: Any]])
        let cases = try #require(golden["cases"] as? [[String: Any]])
        return try cases.map { entry in
            let name = entry["subject"] as? String ?? ""
            let subject = try #require(subjects[name])
            let parameterData = try JSONSerialization.data(withJSONObject: entry["params"] ?? [:])
            return MetricCase(
                subject: name, model: subject["model"] as? String ?? "", output: subject["output"] as? String ?? "",
                inputs: try tensor(fromJSON: subject["inputs"] as Any), targets: subject["targets"] as? [Int] ?? [],
                attributions: try tensor(fromJSON: subject["attributions"] as Any), metric: entry["metric"] as? String ?? "",
                parameters: try JSONDecoder().decode([String: JSONValue].self, from: parameterData),
                values: jsonNumbers(entry["values"] as Any),
                curves: (entry["curves"] as? [Any])?.map { jsonNumbers($0).map(Float.init) },
                spread: entry["spread"].map(jsonNumbers), method: entry["method"] as? String)
        }
    }
}

@Suite struct QualityMetricGoldenTests {
    static let cases = (try? MetricCase.all()) ?? []

    /// `randomization` has a golden of its own (golden/randomization.json, RandomizationTests).
    @Test func everyShippedMetricHasGoldenCases() {
        let ownGolden: Set<String> = RandomizationTests.cases.isEmpty ? [] : ["randomization"]
        #expect(Set(Self.cases.map(\.metric)).union(ownGolden) == Set(MetricCatalog.standard.names))
    }

    @Test(arguments: cases)
    func metricsEqualTheirReference(_ golden: MetricCase) throws {
        let model = try Fixtures.model("models/\(golden.model).onnx")
        let output = try #require(model.outputs.firstIndex { $0.name == golden.output })
        let problem = ExplanationProblem(model: model, inputs: [golden.inputs], output: output, targets: golden.targets)
        let metric = try #require(MetricCatalog.standard.metric(named: golden.metric))
        let plan = NamedMetricPlan(name: golden.metric, plan: try metric.prepare(golden.parameters, for: problem))
        let qualities: [[String: JSONValue]]
        if let method = golden.method {
            // The method's own attributions are judged, as the reference judged its own.
            let explainer = try #require(MethodCatalog.standard.explainer(named: method))
            let explanation = try explainer.prepare([:], for: problem)
            qualities = try ExplanationRunner.run(
                explanation, problem: problem, context: ExplanationContext(), metrics: [plan],
                method: MethodCall(explainer: explainer, parameters: [:])
            ).map(\.quality)
        } else {
            let evaluations = try EvaluationRunner.evaluate(
                attributions: golden.attributions.unstacked().map { [$0] }, problem: problem, metrics: [plan], context: ExplanationContext()
            )
            #expect(evaluations.map(\.target) == golden.targets)
            qualities = evaluations.map(\.quality)
        }
        for (row, (quality, expected)) in zip(qualities, golden.values).enumerated() {
            let value = try #require(quality[golden.metric]?.objectValue?["value"]?.doubleValue)
            // Exact metrics to float32 rounding; sampled ones within 4 of the reference's
            // seed-to-seed standard deviations (our draws differ from torch's and NumPy's).
            let tolerance = golden.spread.map { 4 * $0[row] + 1e-3 * abs(expected) + 1e-9 } ?? 1e-5 * max(1, abs(expected))
            #expect(abs(value - expected) <= tolerance, "instance \(row): \(value) vs \(expected) (tolerance \(tolerance))")
        }
        guard let curves = golden.curves else { return }
        for (quality, expected) in zip(qualities, curves) {
            guard case .array(let points)? = quality[golden.metric]?.objectValue?["curve"] else {
                Issue.record("\(golden.metric) returned no curve")
                continue
            }
            #expect(isClose(points.compactMap(\.doubleValue).map(Float.init), expected, absolute: 1e-5, relative: 1e-5))
        }
    }
}
