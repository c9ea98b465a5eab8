import CandorModel
import CandorTensor
import CandorTestSupport
import Foundation
import Testing

@testable import CandorExplain

/// `surrogate` against scikit-learn 1.9.1's `DecisionTreeClassifier` / `DecisionTreeRegressor`
/// fitted on the same training rows of the same model answers
/// (`Tests/Fixtures/analyses/surrogate_goldens.json`, from
/// `scripts/fixtures/make_importance_fixtures.py`): Candor's held-out fidelity is no worse
/// than scikit-learn's by more than 0.01 (the acceptance criterion), the root split is
/// the same, and so is the whole tree where scikit-learn grows the same tree whatever its
/// random state (no tie between equally good splits). Then properties: a model that is a
/// depth-2 tree is recovered exactly; max_leaves and min_samples_leaf are honoured.
@Suite struct SurrogateTreeTests {
    /// One case of the golden file, its fields as Foundation parsed them (never mutated).
    struct GoldenCase: @unchecked Sendable, CustomTestStringConvertible {
        let name: String
        let fields: [String: Any]
        /// The case's rows (the golden keeps them once per model).
        let rows: Any
        var testDescription: String { name }
    }

    static let goldenCases: [GoldenCase] = {
        guard let root = try? Fixtures.json("analyses/surrogate_goldens.json") as? [String: Any] else { return [] }
        let cases = root["cases"] as? [[String: Any]] ?? []
        let rowsByName = Dictionary(cases.map { ($0["name"] as? String ?? "", $0["rows"] as Any) }, uniquingKeysWith: { first, _ in first })
        return cases.map { fields in
            let rows = (fields["rows"] as? String).flatMap { rowsByName[$0] } ?? fields["rows"] as Any
            return GoldenCase(name: fields["name"] as? String ?? "?", fields: fields, rows: rows)
        }
    }()

    static let analysis = GlobalSurrogate()

    /// The plan `surrogate` makes for a golden case's settings, holding out the golden's rows.
    static func plan(_ golden: GoldenCase, featureCount: Int, rows: Int) throws -> GlobalSurrogate.Plan {
        let settings = try #require(golden.fields["settings"] as? [String: Any])
        let testRows = golden.fields["test_rows"] as? [Int] ?? []
        return GlobalSurrogate.Plan(
            effectiveParameters: [:],
            settings: CARTTree.Settings(
                maxDepth: settings["max_depth"] as? Int ?? 3, maxLeaves: settings["max_leaf_nodes"] as? Int,
                minSamplesLeaf: settings["min_samples_leaf"] as? Int ?? 1),
            isClassification: golden.fields["kind"] as? String == "classification", target: 0, featureCount: featureCount,
            outputWidth: golden.fields["kind"] as? String == "classification" ? 2 : 1, testRows: testRows,
            progressTotal: 2 * rows - testRows.count)
    }

    /// The tree as the golden writes scikit-learn's: {feature, threshold, left, right} or {value}.
    static func shape(_ tree: CARTTree, _ node: Int = 0) -> [String: Any] {
        let current = tree.nodes[node]
        guard let feature = current.feature else {
            let value = tree.prediction(ofLeaf: node)
            if case .gini = tree.criterion { return ["value": Int(value)] }
            return ["value": value]
        }
        return ["feature": feature, "threshold": current.threshold, "left": shape(tree, current.left), "right": shape(tree, current.right)]
    }

    /// Whether two trees in the golden's form are the same: features and leaf classes equal,
    /// thresholds and leaf values to 1e-9 relative.
    static func isSame(_ a: [String: Any], _ b: [String: Any]) -> Bool {
        func number(_ value: Any?) -> Double? {
            switch value {
            case let value as Int: Double(value)
            case let value as Double: value
            case let value as NSNumber: value.doubleValue
            default: nil
            }
        }
        func close(_ x: Any?, _ y: Any?) -> Bool {
            guard let x = number(x), let y = number(y) else { return false }
            return abs(x - y) <= 1e-9 * max(1, abs(y))
        }
        if a["feature"] == nil || b["feature"] == nil {
            return a["feature"] == nil && b["feature"] == nil && close(a["value"], b["value"])
        }
        return (a["feature"] as? Int) == (b["feature"] as? Int) && close(a["threshold"], b["threshold"])
            && isSame(a["left"] as? [String: Any] ?? [:], b["left"] as? [String: Any] ?? [:])
            && isSame(a["right"] as? [String: Any] ?? [:], b["right"] as? [String: Any] ?? [:])
    }

    @Test(arguments: goldenCases)
    func heldOutFidelityIsNoWorseThanScikitLearnsByMoreThanOnePercent(_ golden: GoldenCase) throws {
        let rows = try tensor(fromJSON: golden.rows)
        let model = try AnalysisRun.repositoryModel(golden.fields["model"] as? String ?? "")
        let problem = AnalysisProblem(model: model, rows: [rows], output: golden.fields["output"] as? Int ?? 0)
        let plan = try Self.plan(golden, featureCount: rows.shape[1], rows: rows.shape[0])
        let expected = try #require(golden.fields["fidelity"] as? Double)

        // The tree alone, on onnxruntime's answers (the golden's targets): scikit-learn's tree.
        let targets = jsonNumbers(golden.fields["targets"] as Any)
        let context = AnalysisContext(explanation: ExplanationContext(), progress: AnalysisProgress(total: 0, unit: "rows"))
        let fit = try plan.fitted(problem, answers: targets, classes: 2, context: context)
        let tree = Self.shape(fit.tree)
        let sklearnTree = try #require(golden.fields["tree"] as? [String: Any])
        #expect(fit.fidelity >= expected - 0.01, "\(golden.name): fidelity \(fit.fidelity), scikit-learn \(expected)")
        #expect(tree["feature"] as? Int == sklearnTree["feature"] as? Int, "\(golden.name): root feature")
        #expect(
            abs((tree["threshold"] as? Double ?? 0) - (sklearnTree["threshold"] as? Double ?? 1)) < 1e-9, "\(golden.name): root threshold")
        if golden.fields["is_unique"] as? Bool == true {
            #expect(Self.isSame(tree, sklearnTree), "\(golden.name): \(tree) vs \(sklearnTree)")
            #expect(fit.tree.depth == golden.fields["depth"] as? Int && fit.tree.leafCount == golden.fields["leaves"] as? Int)
            #expect(
                abs(fit.fidelity - expected) < 1e-9
                    && abs(fit.trainingFidelity - (golden.fields["training_fidelity"] as? Double ?? 0)) < 1e-9)
        }

        // The whole analysis on Candor's own evaluation of the model, same split.
        let (result, progress) = try AnalysisRun.run(plan, on: problem)
        let fidelity = try #require(result.number("fidelity"))
        #expect(fidelity >= expected - 0.01, "\(golden.name): analysis fidelity \(fidelity), scikit-learn \(expected)")
        #expect(result["kind"] == .string(golden.fields["kind"] as? String ?? ""))
        #expect(progress.done == progress.total && progress.total == plan.progressTotal)
    }

    /// Four classes, a tree of depth 2 over a grid of values (so held-out rows fall exactly
    /// where training rows do): x0 ≤ 0.5 ? (x1 ≤ 0.3 ? 0 : 1) : (x2 ≤ 0.7 ? 2 : 3); x3 is noise.
    static let depthTwoTree = RowFunctionModel(featureCount: 4, outputCount: 4) { row in
        let leaf = row[0] <= 0.5 ? (row[1] <= 0.3 ? 0 : 1) : (row[2] <= 0.7 ? 2 : 3)
        return (0..<4).map { $0 == leaf ? 1 : 0 }
    }

    static let grid: [Float] = (0...10).map { Float($0) / 10 }

    @Test func aModelThatIsADepthTwoTreeIsRecoveredWithFidelityOne() throws {
        let rows = try AnalysisRun.rows(300, features: 4, values: Self.grid)
        let problem = AnalysisProblem(
            model: Self.depthTwoTree, rows: [rows],
            dataset: DatasetSummary(featureNames: ["a", "b", "c", "d"], classNames: ["w", "x", "y", "z"]))
        let (result, progress) = try AnalysisRun.run(Self.analysis, ["max_depth": 2], on: problem)
        #expect(result.number("fidelity") == 1 && result.number("training_fidelity") == 1)
        #expect(result.number("depth") == 2 && result.number("leaves") == 4 && result["kind"] == "classification")
        let tree = result["tree"]?.objectValue ?? [:]
        #expect(tree["feature"] == "a" && (tree.number("threshold") ?? 0) > 0.5 && (tree.number("threshold") ?? 1) < 0.6)
        let rules = result.array("rules").compactMap(\.objectValue)
        #expect(rules.map { $0["prediction"] } == ["w", "x", "y", "z"])
        #expect(Self.leaves(tree).map { $0["value"] } == ["w", "x", "y", "z"])
        #expect(rules.first?["conditions"] == ["a <= 0.55", "b <= 0.35"])
        #expect(rules.last?["conditions"] == ["a > 0.55", "c > 0.75"])
        #expect(rules.compactMap { $0.number("samples") }.reduce(0, +) == result.number("training_rows"))
        #expect(abs(rules.compactMap { $0.number("coverage") }.reduce(0, +) - 1) < 1e-12)
        #expect(rules.allSatisfy { $0.array("class_distribution").count == 4 })
        #expect(progress.done == progress.total && progress.total == 300 + 225)
    }

    @Test func aRegressionTreeModelIsRecoveredWithFidelityOne() throws {
        let model = RowFunctionModel(featureCount: 3, outputCount: 1) { row in
            [row[1] <= 0.4 ? (row[2] <= 0.2 ? -3 : 1.5) : (row[0] <= 0.8 ? 4 : 10)]
        }
        let rows = try AnalysisRun.rows(200, features: 3, values: Self.grid, seed: 3)
        let (result, _) = try AnalysisRun.run(Self.analysis, ["max_depth": 2, "seed": 5], on: AnalysisProblem(model: model, rows: [rows]))
        #expect(result["kind"] == "regression" && result.number("fidelity") == 1 && result.number("leaves") == 4)
        #expect(result.array("rules").compactMap { $0.objectValue?.number("prediction") }.sorted() == [-3, 1.5, 4, 10])
    }

    /// The diabetes model's values over its golden rows: a regression tree splits until its
    /// limits stop it, so the limits are what shape it.
    static func diabetesProblem() throws -> AnalysisProblem {
        let golden = try #require(goldenCases.first { $0.name.hasPrefix("diabetes") })
        let model = try AnalysisRun.repositoryModel(golden.fields["model"] as? String ?? "")
        return AnalysisProblem(model: model, rows: [try tensor(fromJSON: golden.rows)])
    }

    static func leaves(_ node: [String: JSONValue]) -> [[String: JSONValue]] {
        guard let left = node["left"]?.objectValue, let right = node["right"]?.objectValue else { return [node] }
        return leaves(left) + leaves(right)
    }

    @Test(arguments: [2, 5, 17])
    func maxLeavesIsHonoured(_ maxLeaves: Int) throws {
        let (result, _) = try AnalysisRun.run(
            Self.analysis, ["max_leaves": .number(Double(maxLeaves)), "max_depth": 12], on: try Self.diabetesProblem())
        #expect(result.number("leaves") == Double(maxLeaves))
        #expect(Self.leaves(result["tree"]?.objectValue ?? [:]).count == maxLeaves && result.array("rules").count == maxLeaves)
    }

    @Test(arguments: [1, 7, 20])
    func minSamplesLeafIsHonoured(_ minimum: Int) throws {
        let (result, _) = try AnalysisRun.run(
            Self.analysis, ["min_samples_leaf": .number(Double(minimum)), "max_depth": 8], on: try Self.diabetesProblem())
        let samples = result.array("rules").compactMap { $0.objectValue?.number("samples") }
        #expect(!samples.isEmpty && samples.allSatisfy { $0 >= Double(minimum) }, "\(samples)")
        if minimum > 1 { #expect(samples.contains { $0 < Double(2 * minimum) }, "some leaf is at the limit: \(samples)") }
    }

    @Test func theSameSeedGivesTheSameTree() throws {
        let problem = try Self.diabetesProblem()
        let first = try AnalysisRun.run(Self.analysis, ["seed": 3], on: problem).result
        #expect(first == (try AnalysisRun.run(Self.analysis, ["seed": 3], on: problem).result))
        #expect(first != (try AnalysisRun.run(Self.analysis, ["seed": 4], on: problem).result))
    }

    @Test func theCatalogListsPermutationImportanceThenSurrogate() throws {
        let names = AnalysisCatalog.standard.names
        let importance = try #require(names.firstIndex(of: "permutation_importance"))
        let surrogate = try #require(names.firstIndex(of: "surrogate"))
        #expect(importance < surrogate)
        #expect(AnalysisCatalog.standard.analysis(named: "surrogate") is GlobalSurrogate)
    }

    @Test func aCancelledRunStopsWithCancelled() throws {
        let rows = try AnalysisRun.rows(50, features: 4, values: Self.grid)
        let flag = CancellationFlag()
        flag.cancel()
        let error = AnalysisRun.error {
            _ = try AnalysisRun.run(Self.analysis, [:], on: AnalysisProblem(model: Self.depthTwoTree, rows: [rows]), cancellation: flag)
        }
        #expect(error?.code == .cancelled)
    }

    @Test(
        arguments: [
            (["max_depth": 13], "'max_depth'"),
            (["max_depth": 0], "'max_depth'"),
            (["max_leaves": 257], "'max_leaves'"),
            (["max_leaves": 1], "'max_leaves'"),
            (["min_samples_leaf": 0], "'min_samples_leaf'"),
            (["test_fraction": 0.95], "'test_fraction'"),
            (["kind": "ranking"], "'kind'"),
            (["depth": 3], "unknown parameter 'depth'"),
        ] as [([String: JSONValue], String)])
    func badParametersAreInvalidParameterErrorsNamingTheProblem(_ parameters: [String: JSONValue], _ named: String) throws {
        let rows = try AnalysisRun.rows(50, features: 4, values: Self.grid)
        let problem = AnalysisProblem(model: Self.depthTwoTree, rows: [rows])
        let error = AnalysisRun.error { _ = try Self.analysis.prepare(parameters, for: problem) }
        #expect(error?.code == .invalidParameter && error?.message.contains(named) == true, "\(String(describing: error))")
    }

    @Test func aClassificationTreeNeedsClassesAndTheSplitNeedsRows() throws {
        let regressor = RowFunctionModel(featureCount: 2, outputCount: 1) { [$0[0]] }
        let rows = try AnalysisRun.rows(10, features: 2, values: Self.grid)
        let error = AnalysisRun.error {
            _ = try Self.analysis.prepare(["kind": "classification"], for: AnalysisProblem(model: regressor, rows: [rows]))
        }
        #expect(error?.code == .invalidParameter && error?.message.contains("one value per row") == true)
        let two = try AnalysisRun.rows(2, features: 2, values: Self.grid)
        let tooFew = AnalysisRun.error { _ = try Self.analysis.prepare([:], for: AnalysisProblem(model: regressor, rows: [two])) }
        #expect(tooFew?.code == .invalidInput && tooFew?.message.contains("training rows") == true)
    }
}
