import CandorExplain
import CandorModel
import CandorTensor
import CandorTestSupport
import Foundation
import Testing

@testable import CandorServer

/// Whole LIME explanations of the demo models, with the statistics of their sidecars, against
/// the `lime` package's on the same model, instance and training data
/// (`scripts/fixtures/make_lime_fixtures.py`, 5000 samples).
@Suite struct LimeGoldenTests {
    struct Explained: Sendable, CustomTestStringConvertible {
        let name: String
        let model: String
        let output: String
        let features: Int
        let instance: [Double]
        let target: Int
        /// Each of lime's rules: its weight, the min and max lime gave it over several random
        /// states, and in how many of those runs lime chose it.
        let rules: [String: [Double]]
        var testDescription: String { "\(name) \(instance.prefix(2))…" }
    }

    static let cases: [Explained] = {
        guard let root = try? Fixtures.json("golden/lime_tabular.json") as? [String: Any],
            let cases = root["explanations"] as? [[String: Any]]
        else { return [] }
        return cases.flatMap { entry in
            (entry["instances"] as? [[String: Any]] ?? []).map { instance in
                var bands: [String: [String: Any]] = [:]
                for band in instance["stability"] as? [[String: Any]] ?? [] { bands[band["rule"] as? String ?? ""] = band }
                var rules: [String: [Double]] = [:]
                for rule in instance["rules"] as? [[Any]] ?? [] {
                    guard let text = rule.first as? String, let weight = rule.last as? Double else { continue }
                    let runs = (bands[text]?["runs"] as? Int).map(Double.init) ?? 1
                    rules[text] = [weight, bands[text]?["min"] as? Double ?? weight, bands[text]?["max"] as? Double ?? weight, runs]
                }
                return Explained(
                    name: entry["name"] as? String ?? "", model: entry["model"] as? String ?? "", output: entry["output"] as? String ?? "",
                    features: entry["num_features"] as? Int ?? 0, instance: instance["instance"] as? [Double] ?? [],
                    target: instance["target"] as? Int ?? 0, rules: rules)
            }
        }
    }()

    @Test func theFixtureHasCases() {
        #expect(Self.cases.count >= 10)
    }

    /// Our explanation has lime's leading rules (the same bins, worded the same) with the same
    /// signs, and weights within lime's own spread over random states, widened by that spread
    /// (our random stream differs from numpy's).
    @Test(arguments: cases)
    func explanationsAgreeWithLime(_ golden: Explained) throws {
        let folder = Fixtures.repository.appendingPathComponent("models")
        let name = URL(fileURLWithPath: golden.model).deletingPathExtension().lastPathComponent
        let loaded = try LoadedModel.load(
            name: name, onnx: try Data(contentsOf: folder.appendingPathComponent("\(name).onnx")), externalData: .directory(folder),
            sidecar: try Data(contentsOf: folder.appendingPathComponent("\(name).yaml")))
        let output = try #require(loaded.model.outputs.firstIndex { $0.name == golden.output })
        let inputs = try Tensor(shape: [1, golden.instance.count], scalars: golden.instance.map(Float.init))
        let problem = ExplanationProblem(
            model: loaded.model, inputs: [inputs], output: output, targets: [golden.target], dataset: loaded.dataset)
        let plan = try Lime().prepare(["num_features": .number(Double(golden.features))], for: problem)
        let explanation = try #require(try ExplanationRunner.run(plan, problem: problem, context: ExplanationContext()).first)
        guard case .array(let items)? = explanation.attribution.extras["rules"] else {
            Issue.record("no rules")
            return
        }
        let ours: [(String, Double)] = items.compactMap { item in
            guard case .object(let fields) = item, case .string(let rule)? = fields["rule"], case .number(let weight)? = fields["weight"]
            else {
                return nil
            }
            return (rule, weight)
        }
        #expect(ours.count == golden.features)
        let scale = golden.rules.values.map { abs($0[0]) }.max() ?? 1
        let theirs = golden.rules.sorted { abs($0.value[0]) > abs($1.value[0]) }
        // lime's steady rules — chosen in every run, clearly above its cut-off — are ours too.
        let cutoff = abs(theirs.last?.value[0] ?? 0)
        let runs = golden.rules.values.map { $0[3] }.max() ?? 1
        for (rule, band) in theirs where band[3] == runs && abs(band[0]) > cutoff + 0.1 * scale {
            #expect(ours.contains { $0.0 == rule }, "lime's rule '\(rule)' (\(band[0])) is missing from \(ours)")
        }
        for (rule, weight) in ours {
            guard let band = golden.rules[rule] else { continue }
            let width = band[2] - band[1] + 0.03 * scale
            #expect(
                band[1] - width <= weight && weight <= band[2] + width,
                "'\(rule)': \(weight) outside lime's [\(band[1]), \(band[2])] ± \(width)")
            #expect(weight.sign == band[0].sign || abs(band[0]) < 0.03 * scale, "'\(rule)' changes sign")
        }
    }
}
