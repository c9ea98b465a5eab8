import CandorModel
import CandorTensor
import CandorTestSupport
import Foundation
import Testing

@testable import CandorExplain

/// `permutation_importance` against scikit-learn 1.9.1's `permutation_importance` on the same
/// ONNX models, rows and labels (`Tests/Fixtures/analyses/importance_goldens.json`, from
/// `scripts/fixtures/make_importance_fixtures.py`). Shuffles cannot be numpy's, so the check is
/// statistical: the baseline score is the same, and each feature's mean importance over
/// Candor's repeats lies within three standard deviations of scikit-learn's (its spread over
/// 20 random states of the same number of repeats). Then the properties that hold whatever the
/// shuffles: a feature the model ignores scores exactly 0; a seed reproduces.
@Suite struct PermutationImportanceTests {
    /// One case of the golden file, its fields as Foundation parsed them (never mutated).
    struct GoldenCase: @unchecked Sendable, CustomTestStringConvertible {
        let name: String
        let fields: [String: Any]
        var testDescription: String { name }
    }

    static let goldenCases: [GoldenCase] = {
        guard let root = try? Fixtures.json("analyses/importance_goldens.json") as? [String: Any] else { return [] }
        return (root["cases"] as? [[String: Any]] ?? []).map { GoldenCase(name: $0["name"] as? String ?? "?", fields: $0) }
    }()

    static let analysis = PermutationImportance()

    static func problem(_ golden: [String: Any]) throws -> AnalysisProblem {
        let model = try AnalysisRun.repositoryModel(golden["model"] as? String ?? "")
        let rows = try tensor(fromJSON: try AnalysisRun.repositoryJSON(golden["rows_file"] as? String ?? ""))
        let labels = (golden["labels"] as? [Any]).map(jsonNumbers)
        return AnalysisProblem(
            model: model, rows: [rows], labels: labels, output: golden["output"] as? Int ?? 0,
            dataset: DatasetSummary(featureNames: golden["feature_names"] as? [String]))
    }

    @Test(arguments: goldenCases)
    func meanImportanceIsWithinThreeStandardDeviationsOfScikitLearns(_ golden: GoldenCase) throws {
        let fields = golden.fields
        let problem = try Self.problem(fields)
        let units = fields["units"] as? [[String: Any]] ?? []
        let isGrouped = units.contains { ($0["features"] as? [Int] ?? []).count > 1 }
        var parameters: [String: JSONValue] = ["scoring": .string(fields["scoring"] as? String ?? "")]
        if isGrouped {
            parameters["groups"] = .array(units.map { .array(($0["features"] as? [Int] ?? []).map { .number(Double($0)) }) })
        }
        let (result, progress) = try AnalysisRun.run(Self.analysis, parameters, on: problem)
        let scoring = fields["scoring"] as? String
        #expect(result["labels"] == .string(fields["label_source"] as? String ?? ""))
        let baseline = try #require(fields["baseline_score"] as? Double)
        let candorBaseline = try #require(result.number("baseline_score"))
        if scoring == "accuracy" {
            #expect(candorBaseline == baseline, "\(golden.name): baseline \(candorBaseline), scikit-learn \(baseline)")
        } else {
            // The same formula on float32 outputs of two runtimes, which differ in their last bits.
            #expect(abs(candorBaseline - baseline) <= 1e-6 + 1e-5 * abs(baseline), "\(golden.name): \(candorBaseline) vs \(baseline)")
        }
        let entries = result.array("features")
        try #require(entries.count == units.count)
        let rows = Double(problem.rowCount)
        // Accuracy moves in steps of one row in one repeat; a feature that scikit-learn's 100
        // shuffles never saw flip a row (std 0) may still flip one in Candor's five.
        let resolution = scoring == "accuracy" ? 1 / (rows * 5) : 0
        for (entry, unit) in zip(entries, units) {
            let entry = entry.objectValue ?? [:]
            let mean = try #require(entry.number("importances_mean"))
            let expected = try #require(unit["mean"] as? Double)
            let spread = try #require(unit["std"] as? Double)
            #expect(
                abs(mean - expected) <= 3 * spread + resolution + 1e-9,
                "\(golden.name) \(unit["features"] ?? ""): \(mean) vs \(expected) ± \(spread)")
            #expect(entry.array("importances").count == 5)
        }
        #expect(progress.done == progress.total && progress.total == problem.rowCount * (1 + units.count * 5))
    }

    /// x0 and x1 matter, x2 is never read: every shuffle of x2 leaves every answer as it was.
    static func partlyIgnoringModel() -> RowFunctionModel {
        RowFunctionModel(featureCount: 3, outputCount: 2) { row in
            let score = 2 * row[0] - row[1]
            return [-score, score]
        }
    }

    @Test(arguments: ["accuracy", "r2", "neg_mean_squared_error"])
    func aFeatureTheModelIgnoresHasImportanceExactlyZero(_ scoring: String) throws {
        let rows = try AnalysisRun.rows(60, features: 3, values: [-1, -0.5, 0, 0.25, 1, 2])
        let problem = AnalysisProblem(model: Self.partlyIgnoringModel(), rows: [rows])
        let (result, _) = try AnalysisRun.run(Self.analysis, ["scoring": .string(scoring), "n_repeats": 8], on: problem)
        let entries = result.array("features").compactMap(\.objectValue)
        try #require(entries.count == 3)
        #expect(entries[2].array("importances") == Array(repeating: .number(0), count: 8))
        #expect(entries[2].number("importances_mean") == 0 && entries[2].number("importances_std") == 0)
        #expect(entries[0].number("importances_mean") ?? 0 > 0, "x0 matters: \(entries[0])")
        // Against the model's own answers the baseline is perfect: accuracy and R² 1, MSE 0.
        #expect(result["labels"] == "model" && result.number("baseline_score") == (scoring == "neg_mean_squared_error" ? 0 : 1))
    }

    @Test func theSameSeedGivesTheSameImportancesAndAnotherSeedOthers() throws {
        let rows = try AnalysisRun.rows(40, features: 3, values: [-1, 0, 0.5, 1, 3])
        let problem = AnalysisProblem(model: Self.partlyIgnoringModel(), rows: [rows], labels: (0..<40).map { Double($0 % 2) })
        let first = try AnalysisRun.run(Self.analysis, ["seed": 7], on: problem).result
        let again = try AnalysisRun.run(Self.analysis, ["seed": 7], on: problem).result
        let other = try AnalysisRun.run(Self.analysis, ["seed": 8], on: problem).result
        #expect(first == again)
        #expect(first["features"] != other["features"])
        #expect(first["labels"] == "dataset")
        // A feature's shuffles come from its own stream: alike asked for alone or among all.
        let alone = try AnalysisRun.run(Self.analysis, ["seed": 7, "features": [1]], on: problem).result
        #expect(alone.array("features").first == first.array("features")[1])
        // Reported in the order asked for.
        let reversed = try AnalysisRun.run(Self.analysis, ["seed": 7, "features": [2, 1, 0]], on: problem).result
        #expect(reversed.array("features") == first.array("features").reversed())
    }

    @Test func aGroupIsShuffledTogetherAndReportedByItsMembers() throws {
        let rows = try AnalysisRun.rows(50, features: 3, values: [-1, 0, 0.5, 1, 3])
        let problem = AnalysisProblem(
            model: Self.partlyIgnoringModel(), rows: [rows], dataset: DatasetSummary(featureNames: ["a", "b", "c"]))
        let (result, progress) = try AnalysisRun.run(Self.analysis, ["groups": [["a", "b"], ["c"]], "scoring": "r2"], on: problem)
        let entries = result.array("features").compactMap(\.objectValue)
        #expect(entries.map { $0["group"] ?? $0["feature"] } == [["a", "b"], "c"])
        #expect(entries[1].number("importances_mean") == 0)
        #expect(progress.done == 50 * (1 + 2 * 5) && progress.total == progress.done)
    }

    @Test func aCancelledRunStopsWithCancelled() throws {
        let rows = try AnalysisRun.rows(20, features: 3, values: [0, 1])
        let problem = AnalysisProblem(model: Self.partlyIgnoringModel(), rows: [rows])
        let flag = CancellationFlag()
        flag.cancel()
        let error = AnalysisRun.error { _ = try AnalysisRun.run(Self.analysis, [:], on: problem, cancellation: flag) }
        #expect(error?.code == .cancelled)
    }

    @Test func negLogLossRefusesAnOutputOfLogits() throws {
        let rows = try AnalysisRun.rows(20, features: 3, values: [-2, 0, 1, 3])
        let problem = AnalysisProblem(model: Self.partlyIgnoringModel(), rows: [rows])
        let error = AnalysisRun.error { _ = try AnalysisRun.run(Self.analysis, ["scoring": "neg_log_loss"], on: problem) }
        #expect(error?.code == .invalidParameter && error?.message.contains("probabilities") == true, "\(String(describing: error))")
    }

    @Test(
        arguments: [
            (["n_repeats": 0], "'n_repeats'"),
            (["scoring": "f1"], "'scoring'"),
            (["features": ["nope"]], "'features'"),
            (["features": []], "'features'"),
            (["features": "all", "groups": [[0]]], "not both"),
            (["groups": [[0, 1], [1, 2]]], "more than one group"),
            (["groups": [[]]], "'groups'"),
            (["color": 1], "unknown parameter 'color'"),
        ] as [([String: JSONValue], String)])
    func badParametersAreInvalidParameterErrorsNamingTheProblem(_ parameters: [String: JSONValue], _ named: String) throws {
        let rows = try AnalysisRun.rows(20, features: 3, values: [0, 1])
        let problem = AnalysisProblem(model: Self.partlyIgnoringModel(), rows: [rows])
        let error = AnalysisRun.error { _ = try Self.analysis.prepare(parameters, for: problem) }
        #expect(error?.code == .invalidParameter && error?.message.contains(named) == true, "\(String(describing: error))")
    }

    @Test func labelsAndScoresThatDoNotFitAreRefused() throws {
        let rows = try AnalysisRun.rows(20, features: 3, values: [0, 1])
        let classifier = Self.partlyIgnoringModel()
        let regressor = RowFunctionModel(featureCount: 3, outputCount: 1) { [$0[0]] }
        let wrongCount = AnalysisProblem(model: classifier, rows: [rows], labels: [0, 1])
        #expect(AnalysisRun.error { _ = try Self.analysis.prepare([:], for: wrongCount) }?.code == .invalidInput)
        let notAClass = AnalysisProblem(model: classifier, rows: [rows], labels: Array(repeating: 2, count: 20))
        #expect(AnalysisRun.error { _ = try Self.analysis.prepare([:], for: notAClass) }?.message.contains("class index") == true)
        let regression = AnalysisProblem(model: regressor, rows: [rows])
        let accuracy = AnalysisRun.error { _ = try Self.analysis.prepare(["scoring": "accuracy"], for: regression) }
        #expect(accuracy?.code == .invalidParameter && accuracy?.message.contains("one value per row") == true)
        #expect(try Self.analysis.prepare([:], for: regression).effectiveParameters["scoring"] == "r2")
        let tooMany = AnalysisProblem(model: classifier, rows: [try AnalysisRun.rows(400_000, features: 3, values: [0, 1])])
        let large = AnalysisRun.error { _ = try Self.analysis.prepare(["n_repeats": 10], for: tooMany) }
        #expect(large?.code == .invalidInput && large?.message.contains("10000000") == true, "\(String(describing: large))")
    }
}
