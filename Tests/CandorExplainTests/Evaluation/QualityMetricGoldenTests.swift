import CandorExplain
import CandorModel
import CandorTensor
import CandorTestSupport
import Foundation
import Testing

/// One metric case of `golden/evaluation.json` (`scripts/fixtures/make_evaluation_fixtures.py`):
/// deletion, insertion and completeness recomputed from their definitions with onnxruntime,
/// sparseness and complexity from Quantus.
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
                curves: (entry["curves"] as? [Any])?.map { jsonNumbers($0).map(Float.init) })
        }
    }
}

@Suite struct QualityMetricGoldenTests {
    static let cases = (try? MetricCase.all()) ?? []

    @Test func everyShippedMetricHasGoldenCases() {
        #expect(Set(Self.cases.map(\.metric)) == Set(MetricCatalog.standard.names))
    }

    @Test(arguments: cases)
    func metricsEqualTheirReference(_ golden: MetricCase) throws {
        let model = try Fixtures.model("models/\(golden.model).onnx")
        let output = try #require(model.outputs.firstIndex { $0.name == golden.output })
        let problem = ExplanationProblem(model: model, inputs: [golden.inputs], output: output, targets: golden.targets)
        let metric = try #require(MetricCatalog.standard.metric(named: golden.metric))
        let plan = NamedMetricPlan(name: golden.metric, plan: try metric.prepare(golden.parameters, for: problem))
        let evaluations = try EvaluationRunner.evaluate(
            attributions: golden.attributions.unstacked().map { [$0] }, problem: problem, metrics: [plan], context: ExplanationContext())
        #expect(evaluations.map(\.target) == golden.targets)
        for (evaluation, expected) in zip(evaluations, golden.values) {
            let value = try #require(evaluation.quality[golden.metric]?.objectValue?["value"]?.doubleValue)
            #expect(abs(value - expected) <= 1e-5 * max(1, abs(expected)), "\(value) vs \(expected)")
        }
        guard let curves = golden.curves else { return }
        for (evaluation, expected) in zip(evaluations, curves) {
            guard case .array(let points)? = evaluation.quality[golden.metric]?.objectValue?["curve"] else {
                Issue.record("\(golden.metric) returned no curve")
                continue
            }
            #expect(isClose(points.compactMap(\.doubleValue).map(Float.init), expected, absolute: 1e-5, relative: 1e-5))
        }
    }
}
