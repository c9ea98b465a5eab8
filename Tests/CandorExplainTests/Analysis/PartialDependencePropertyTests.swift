import CandorExplain
import CandorModel
import CandorTensor
import CandorTestSupport
import Foundation
import Testing

/// What `partial_dependence` must give where the answer is known, and what it must refuse.
@Suite struct PartialDependencePropertyTests {
    /// y = 1.5·x₀ − 2·x₁ + 0.5·x₂ + 0.25 (one output), an ONNX graph.
    static let weights: [Float] = [1.5, -2, 0.5]

    static func linearProblem(rows: Int = 40) throws -> AnalysisProblem {
        let model = try ONNXModelLoader.load(try GraphFactory.linearModel(weights: weights.map { [$0] }, bias: [0.25]))
        let values = (0..<rows).map { row -> [Float] in
            let t = Float(row)
            return [t / 4 - 3, Float(sin(Double(row))) * 2, Float(row % 7)]
        }
        return AnalysisProblem(
            model: model, rows: [try AnalysisTesting.rows(values)],
            dataset: DatasetSummary(featureNames: ["a", "b", "c"]))
    }

    @Test func theDependenceOfALinearModelIsALineWithTheWeightAsSlope() throws {
        let problem = try Self.linearProblem()
        let (result, _, _) = try AnalysisTesting.run(
            "partial_dependence", ["features": ["a", 1, ["a", "b"]], "grid_resolution": 9], problem: problem)
        let items = AnalysisTesting.features(result)
        try #require(items.count == 3)
        for (item, feature) in zip(items.prefix(2), [0, 1]) {
            let grid = AnalysisTesting.numbers(item["grid_values"])
            let average = AnalysisTesting.numbers(item["average"])
            #expect(grid.count == 9 && average.count == 9)
            for point in 1..<grid.count {
                let slope = (average[point] - average[point - 1]) / (grid[point] - grid[point - 1])
                #expect(abs(slope - Double(Self.weights[feature])) < 1e-4, "feature \(feature) slope \(slope)")
            }
        }
        // The pair: PD(a, b) − PD(a₀, b₀) = w_a (a − a₀) + w_b (b − b₀), the first feature varying slowest.
        guard case .array(let grids)? = items[2]["grid_values"], grids.count == 2 else {
            Issue.record("a pair has two grids")
            return
        }
        let (gridA, gridB) = (AnalysisTesting.numbers(grids[0]), AnalysisTesting.numbers(grids[1]))
        let surface = AnalysisTesting.numbers(items[2]["average"])
        #expect(surface.count == gridA.count * gridB.count)
        for (i, a) in gridA.enumerated() {
            for (j, b) in gridB.enumerated() {
                let expected = Double(Self.weights[0]) * (a - gridA[0]) + Double(Self.weights[1]) * (b - gridB[0])
                #expect(abs(surface[i * gridB.count + j] - surface[0] - expected) < 1e-4)
            }
        }
    }

    @Test func theAverageOfTheIndividualCurvesIsThePartialDependence() throws {
        let problem = try Self.linearProblem()
        for centered in [false, true] {
            let (result, _, _) = try AnalysisTesting.run(
                "partial_dependence", ["features": [2, ["b", "c"]], "kind": "both", "grid_resolution": 5, "centered": .bool(centered)],
                problem: problem)
            for item in AnalysisTesting.features(result) {
                guard case .array(let curves)? = item["individual"] else {
                    Issue.record("kind both returns individual curves")
                    continue
                }
                #expect(curves.count == problem.rowCount)
                let average = AnalysisTesting.numbers(item["average"])
                var mean = [Double](repeating: 0, count: average.count)
                for curve in curves {
                    for (point, value) in AnalysisTesting.numbers(curve).enumerated() { mean[point] += value / Double(curves.count) }
                }
                #expect(zip(mean, average).allSatisfy { abs($0 - $1) < 1e-9 }, "centered \(centered)")
                if centered {
                    #expect(average.first == 0 && curves.allSatisfy { AnalysisTesting.numbers($0).first == 0 })
                }
            }
        }
    }

    @Test func aFeatureWithFewValuesOrDeclaredCategoricalUsesItsValues() throws {
        var problem = try Self.linearProblem()
        let (result, _, _) = try AnalysisTesting.run(
            "partial_dependence", ["features": ["c", "a"], "grid_resolution": 8], problem: problem)
        let items = AnalysisTesting.features(result)
        #expect(AnalysisTesting.numbers(items.first?["grid_values"]) == [0, 1, 2, 3, 4, 5, 6])
        #expect(AnalysisTesting.numbers(items.last?["grid_values"]).count == 8)
        problem = AnalysisProblem(
            model: problem.model, rows: problem.rows,
            dataset: DatasetSummary(featureNames: ["a", "b", "c"], domains: FeatureDomains(categories: [0: [0]])))
        let (categorical, _, _) = try AnalysisTesting.run(
            "partial_dependence", ["features": ["a"], "grid_resolution": 8], problem: problem)
        #expect(AnalysisTesting.numbers(AnalysisTesting.features(categorical).first?["grid_values"]).count == 40)
    }

    @Test func progressReachesItsTotalOfRowsTimesGridPoints() throws {
        let problem = try Self.linearProblem()
        // A small per-pass budget, so the rows × grid points are evaluated in many slices.
        let (_, plan, progress) = try AnalysisTesting.run(
            "partial_dependence", ["features": ["a", ["b", "c"]], "grid_resolution": 6], problem: problem,
            context: ExplanationContext(maxBatchElements: 64))
        #expect(plan.progressUnit == "rows")
        #expect(plan.progressTotal == 40 * (6 + 6 * 6))
        #expect(progress.done == plan.progressTotal)
    }

    @Test func cancellationStopsTheRun() throws {
        let problem = try Self.linearProblem()
        let cancelled = CancellationFlag()
        cancelled.cancel()
        let before = AnalysisTesting.error(
            "partial_dependence", ["features": ["a"]], problem: problem, context: ExplanationContext(cancellation: cancelled))
        #expect(before?.code == .cancelled)
        // Cancelled by the model's first pass: the next slice does not start.
        let flag = CancellationFlag()
        let model = FunctionModel(features: 3, onPredict: { flag.cancel() }) { [$0[0] + $0[1]] }
        let during = AnalysisProblem(model: model, rows: problem.rows)
        let error = AnalysisTesting.error(
            "partial_dependence", ["features": [0, 1]], problem: during,
            context: ExplanationContext(cancellation: flag, maxBatchElements: 64))
        #expect(error?.code == .cancelled)
    }

    @Test(
        arguments: [
            (["features": ["d"]], "names no feature of this model: 'd'"),
            (["features": [["a", "b", "c"]]], "pairs exactly two features"),
            (["features": [["a", "a"]]], "pairs two different features"),
            (["features": ["a"], "grid_resolution": 1], "'grid_resolution' of partial_dependence must be at least 2"),
            (["features": ["a"], "percentiles": [0.5, 0.5]], "0 ≤ low < high ≤ 1"),
            (["features": ["a"], "percentiles": [0.1, 1.5]], "0 ≤ low < high ≤ 1"),
            (["features": ["a"], "kind": "mean"], "'kind' of partial_dependence must be one of average, individual, both"),
            (["features": []], "between 1 and 32 items"),
            (["grid_resolution": 10], "'features' of partial_dependence is required"),
        ] as [([String: JSONValue], String)])
    func badParametersAreRefusedNamingTheProblem(_ parameters: [String: JSONValue], _ message: String) throws {
        let error = AnalysisTesting.error("partial_dependence", parameters, problem: try Self.linearProblem())
        #expect(error?.code == .invalidParameter)
        #expect(error?.message.contains(message) == true, "\(String(describing: error))")
    }

    @Test func percentilesTooCloseToSpanAGridAreRefused() throws {
        // 99 of 100 rows at 0: the 5% and 95% quantiles coincide.
        let values = (0..<100).map { row -> [Float] in [row < 99 ? 0 : 5, 1, 1] }
        let base = try Self.linearProblem()
        let problem = AnalysisProblem(
            model: base.model, rows: [try AnalysisTesting.rows(values)], dataset: DatasetSummary(featureNames: ["a", "b", "c"]))
        let error = AnalysisTesting.error("partial_dependence", ["features": ["a"], "grid_resolution": 2], problem: problem)
        #expect(error?.code == .invalidParameter)
        #expect(error?.message.contains("feature 'a' has its 0.05 and 0.95 quantiles too close") == true, "\(String(describing: error))")
    }

    @Test func individualCurvesBeyondTheBoundAreRefusedBeforeRunning() throws {
        let rows = (0..<2_000).map { row -> [Float] in [Float(row), Float(row % 1000), Float(row % 997)] }
        let base = try Self.linearProblem()
        let problem = AnalysisProblem(model: base.model, rows: [try AnalysisTesting.rows(rows)])
        let parameters: [String: JSONValue] = ["features": [[0, 1]], "grid_resolution": 30, "kind": "individual"]
        let analysis = try #require(AnalysisCatalog.standard.analysis(named: "partial_dependence"))
        #expect(throws: ExplanationError.self) { try analysis.prepare(parameters, for: problem) }
        let error = AnalysisTesting.error("partial_dependence", parameters, problem: problem)
        #expect(error?.message.contains("2000 rows × 900 grid points = 1800000 ICE values, more than 1000000") == true)
        // The average alone streams through its evaluations: accepted.
        #expect((try? analysis.prepare(["features": [[0, 1]], "grid_resolution": 30], for: problem)) != nil)
    }

    @Test func onlyTabularModelsAreAnalysed() throws {
        let base = try Self.linearProblem()
        let problem = AnalysisProblem(model: base.model, rows: [try Tensor(shape: [2, 3, 1], scalars: [Float](repeating: 0, count: 6))])
        #expect(AnalysisTesting.error("partial_dependence", ["features": [0]], problem: problem)?.code == .methodNotApplicable)
    }
}
