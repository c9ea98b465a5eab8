import CandorModel
import CandorTensor
import CandorTestSupport
import Foundation
import Testing

@testable import CandorExplain
@testable import CandorServer

/// Anchors on the demo models with their sidecars, against Alibi's `AnchorTabular`
/// (`scripts/fixtures/make_anchor_fixtures.py`) and against the method's definition: an
/// anchor's precision, re-estimated on fresh samples drawn independently of the search, must
/// reach the threshold, and its coverage is the share of reference rows it covers.
@Suite struct AnchorsGoldenTests {
    struct Case: Sendable, CustomTestStringConvertible {
        let model: String
        let output: String
        let instance: [Double]
        let predictedClass: Int
        let predicates: [String]
        /// Alibi's anchor when it returned the same one for every seed.
        let steadyAnchor: [String]?
        var testDescription: String { "\(model) \(instance.prefix(2))…" }
    }

    static let cases: [Case] = {
        guard let root = try? Fixtures.json("golden/anchors.json") as? [String: Any],
            let datasets = root["datasets"] as? [String: [String: Any]]
        else { return [] }
        return [("iris", "iris_mlp", "probabilities"), ("breast_cancer", "breast_cancer_mlp", "logits")].flatMap { entry in
            let (dataset, model, output) = entry
            return (datasets[dataset]?["instances"] as? [[String: Any]] ?? []).map { instance in
                let runs = instance["runs"] as? [[String: Any]] ?? []
                let anchors = Set(runs.compactMap { $0["anchor"] as? [String] })
                let succeeded = runs.allSatisfy { $0["success"] as? Bool == true }
                return Case(
                    model: model, output: output, instance: instance["x"] as? [Double] ?? [],
                    predictedClass: instance["predicted_class"] as? Int ?? 0, predicates: instance["predicates"] as? [String] ?? [],
                    steadyAnchor: anchors.count == 1 && succeeded ? anchors.first : nil)
            }
        }
    }()

    func load(_ name: String) throws -> LoadedModel {
        let folder = Fixtures.repository.appendingPathComponent("models")
        return try LoadedModel.load(
            name: name, onnx: try Data(contentsOf: folder.appendingPathComponent("\(name).onnx")), externalData: .directory(folder),
            sidecar: try Data(contentsOf: folder.appendingPathComponent("\(name).yaml")))
    }

    @Test func theFixtureHasCases() {
        #expect(Self.cases.count == 6)
    }

    @Test(arguments: cases)
    func anchorsAgreeWithAlibiAndKeepTheirPrecision(_ golden: Case) throws {
        let loaded = try load(golden.model)
        let output = try #require(loaded.model.outputs.firstIndex { $0.name == golden.output })
        let width = golden.instance.count
        let inputs = try Tensor(shape: [1, width], scalars: golden.instance.map(Float.init))
        let problem = ExplanationProblem(
            model: loaded.model, inputs: [inputs], output: output, targets: [golden.predictedClass], dataset: loaded.dataset)
        let plan = try #require(try Anchors().prepare([:], for: problem) as? Anchors.Plan)
        // The candidate predicates are Alibi's, worded the same.
        let predicates = Anchors.Plan.predicates(bins: plan.bins, instance: golden.instance)
        #expect(predicates.map(plan.name) == golden.predicates)

        let explanation = try #require(try ExplanationRunner.run(plan, problem: problem, context: ExplanationContext()).first)
        guard case .array(let items)? = explanation.attribution.extras["rules"],
            case .bool(let success)? = explanation.attribution.extras["success"],
            case .number(let coverage)? = explanation.attribution.extras["coverage"]
        else {
            Issue.record("anchors returned no rules")
            return
        }
        var bounds: [(feature: Int, lower: Double, upper: Double)] = []
        var rules: [String] = []
        let names = loaded.metadata.featureNames ?? []
        for case .object(let rule) in items {
            guard case .string(let text)? = rule["rule"], case .string(let name)? = rule["feature"],
                let feature = names.firstIndex(of: name)
            else { continue }
            rules.append(text)
            let lower: Double = if case .number(let value)? = rule["lower"] { value } else { -.infinity }
            let upper: Double = if case .number(let value)? = rule["upper"] { value } else { .infinity }
            bounds.append((feature, lower, upper))
        }
        if let steady = golden.steadyAnchor, golden.model == "iris_mlp" {
            #expect(Set(rules) == Set(steady), "Alibi's anchor \(steady), ours \(rules)")
        }
        guard success else { return }
        // Coverage: the share of reference rows the anchor covers.
        let reference = try #require(loaded.dataset.background?.first)
        let rows = reference.shape[0]
        func covers(_ row: Int) -> Bool {
            bounds.allSatisfy {
                let value = Double(reference.scalars[row * width + $0.feature])
                return value > $0.lower && value <= $0.upper
            }
        }
        let covered = (0..<rows).filter(covers)
        #expect(abs(coverage - Double(covered.count) / Double(rows)) < 1e-12)
        // Precision on 4000 fresh draws from D(·|A), with a generator the search never used.
        var random = SeededRandom(seed: 12_345)
        var samples = [Float]()
        for _ in 0..<4000 {
            let base = random.integer(below: rows)
            var row = Array(reference.scalars[(base * width)..<((base + 1) * width)])
            if let source = covered.isEmpty ? nil : covered[random.integer(below: covered.count)] {
                for bound in bounds { row[bound.feature] = reference.scalars[source * width + bound.feature] }
            }
            samples += row
        }
        let predicted = try loaded.model.predict([try Tensor(shape: [4000, width], scalars: samples)])[output]
        let perRow = predicted.count / 4000
        let kept = (0..<4000).filter { sample in
            let slice = predicted.scalars[(sample * perRow)..<((sample + 1) * perRow)]
            return (slice.indices.max { slice[$0] < slice[$1] } ?? -1) - sample * perRow == golden.predictedClass
        }.count
        #expect(Double(kept) / 4000 >= 0.9, "held-out precision \(Double(kept) / 4000) for \(rules)")
    }
}
