import CandorExplain
import CandorModel
import CandorTensor
import CandorTestSupport
import Foundation
import Testing

/// What `ale` must give where the answer is known, and what it must refuse.
@Suite struct AccumulatedLocalEffectsPropertyTests {
    /// f(x) = x₀² + 3·sin(x₁), and x₂ ignored.
    static func components(_ x: [Float]) -> (Float, Float) { (x[0] * x[0], 3 * sin(x[1])) }

    /// 200 rows in which x₁ follows x₀ closely (the correlation partial dependence suffers from)
    /// and x₂ is a whole number 0…4.
    static func additiveProblem(onPredict: (@Sendable () -> Void)? = nil, outputs: Int = 1) throws -> AnalysisProblem {
        let model = FunctionModel(features: 3, outputs: outputs, onPredict: onPredict) { x in
            let (first, second) = components(x)
            return (0..<outputs).map { Float($0) + first + second }
        }
        let values = (0..<200).map { row -> [Float] in
            let x0 = Float(row) / 50 - 2
            return [x0, x0 + Float(sin(Double(row) * 12.9898)) * 0.1, Float(row % 5)]
        }
        return AnalysisProblem(
            model: model, rows: [try AnalysisTesting.rows(values)], target: outputs > 2 ? 1 : nil,
            dataset: DatasetSummary(featureNames: ["a", "b", "c"]))
    }

    @Test func effectsOfAnAdditiveModelAreItsComponentsUpToCentring() throws {
        let (result, _, _) = try AnalysisTesting.run("ale", [:], problem: try Self.additiveProblem())
        let items = AnalysisTesting.features(result)
        try #require(items.count == 3)
        for (feature, item) in items.enumerated() {
            let grid = AnalysisTesting.numbers(item["grid_values"])
            let effects = AnalysisTesting.numbers(item["ale_values"])
            let ale0 = try #require(item["ale0"]?.doubleValue)
            #expect(grid.count == effects.count && grid.count > 2)
            for (value, effect) in zip(grid, effects) {
                let component = { (z: Double) -> Double in
                    var x: [Float] = [0, 0, 0]
                    x[feature] = Float(z)
                    let (first, second) = Self.components(x)
                    return Double([first, second, 0][feature])
                }
                #expect(abs(effect + ale0 - (component(value) - component(grid[0]))) < 1e-4, "feature \(feature) at \(value)")
            }
            if feature == 2 {
                // A feature the model ignores has no effect anywhere.
                #expect(effects.allSatisfy { $0 == 0 } && ale0 == 0)
                #expect(grid == [0, 1, 2, 3, 4])
            }
        }
        // The centring: the row-weighted mean of the effects over the bins is zero.
        let constant = try #require(result.objectValue?["constant_value"]?.doubleValue)
        #expect(constant.isFinite)
    }

    @Test func aConstantFeatureIsAnalysedOnAnIntervalAroundItsValue() throws {
        let base = try Self.additiveProblem()
        let values = (0..<50).map { row -> [Float] in [Float(row) / 10, 2, -30] }
        let problem = AnalysisProblem(model: base.model, rows: [try AnalysisTesting.rows(values)])
        let (result, _, _) = try AnalysisTesting.run("ale", ["features": [1, 2]], problem: problem)
        let items = AnalysisTesting.features(result)
        // δ = max(q/10, 0.1): 0.2 around 2; 0.1 around −30 (q/10 is negative).
        let positive: [Double] = [2.0 - 0.2, 2.0 + 0.2]
        let negative: [Double] = [-30.0 - 0.1, -30.0 + 0.1]
        #expect(AnalysisTesting.numbers(items.first?["grid_values"]) == positive)
        #expect(AnalysisTesting.numbers(items.last?["grid_values"]) == negative)
        #expect(AnalysisTesting.numbers(items.first?["feature_deciles"]) == [Double](repeating: 2, count: 11))
    }

    @Test func theAdaptiveGridGivesEveryBinMoreThanMinBinPointsRows() throws {
        let problem = try Self.additiveProblem()
        for minimum in [0, 4, 19, 60] {
            let (result, _, _) = try AnalysisTesting.run(
                "ale", ["features": ["a"], "min_bin_points": .number(Double(minimum))], problem: problem)
            let grid = AnalysisTesting.numbers(AnalysisTesting.features(result).first?["grid_values"])
            let column = (0..<200).map { Double(Float($0) / 50 - 2) }
            var counts = [Int](repeating: 0, count: grid.count)
            for value in column { counts[max(grid.firstIndex { $0 >= value } ?? grid.count - 1, 1)] += 1 }
            #expect(grid.count >= 2 && counts.dropFirst().allSatisfy { $0 > minimum }, "min_bin_points \(minimum): \(counts)")
        }
    }

    @Test func progressReachesItsTotal() throws {
        let (_, plan, progress) = try AnalysisTesting.run(
            "ale", ["features": ["a", "c"]], problem: try Self.additiveProblem(), context: ExplanationContext(maxBatchElements: 64))
        #expect(plan.progressTotal == 200 * (1 + 2 * 2) && plan.progressUnit == "rows")
        #expect(progress.done == plan.progressTotal)
    }

    @Test func cancellationStopsTheRun() throws {
        let cancelled = CancellationFlag()
        cancelled.cancel()
        let before = AnalysisTesting.error(
            "ale", [:], problem: try Self.additiveProblem(), context: ExplanationContext(cancellation: cancelled))
        #expect(before?.code == .cancelled)
        let flag = CancellationFlag()
        let during = AnalysisTesting.error(
            "ale", [:], problem: try Self.additiveProblem(onPredict: { flag.cancel() }),
            context: ExplanationContext(cancellation: flag, maxBatchElements: 64))
        #expect(during?.code == .cancelled)
    }

    @Test func theTargetIsTheRequestedClass() throws {
        // Three outputs k + f(x): the effects do not depend on k, the mean prediction does.
        let (result, _, _) = try AnalysisTesting.run("ale", ["features": ["a"]], problem: try Self.additiveProblem(outputs: 3))
        let (single, _, _) = try AnalysisTesting.run("ale", ["features": ["a"]], problem: try Self.additiveProblem())
        let constant = try #require(result.objectValue?["constant_value"]?.doubleValue)
        let singleConstant = try #require(single.objectValue?["constant_value"]?.doubleValue)
        #expect(abs(constant - singleConstant - 1) < 1e-5)
        let base = try Self.additiveProblem(outputs: 3)
        let untargeted = AnalysisProblem(model: base.model, rows: base.rows)
        #expect(AnalysisTesting.error("ale", [:], problem: untargeted)?.code == .invalidTarget)
    }

    @Test func anEmptyDatasetIsRefused() throws {
        let base = try Self.additiveProblem()
        let empty = AnalysisProblem(model: base.model, rows: [try Tensor(shape: [0, 3], scalars: [])])
        for name in ["ale", "partial_dependence"] {
            let error = AnalysisTesting.error(name, ["features": [0]], problem: empty)
            #expect(
                error?.code == .invalidInput && error?.message.contains("at least one row") == true, "\(name): \(String(describing: error))"
            )
        }
    }

    @Test(
        arguments: [
            (["features": ["d"]], "names no feature of this model: 'd'"),
            (["min_bin_points": 200], "'min_bin_points' of ale must be below the dataset's 200 rows"),
            (["min_bin_points": -1], "'min_bin_points' of ale must be at least 0"),
            (["features": []], "names no feature"),
            (["grid_points": 5], "unknown parameter 'grid_points'"),
        ] as [([String: JSONValue], String)])
    func badParametersAreRefusedNamingTheProblem(_ parameters: [String: JSONValue], _ message: String) throws {
        let error = AnalysisTesting.error("ale", parameters, problem: try Self.additiveProblem())
        #expect(error?.code == .invalidParameter)
        #expect(error?.message.contains(message) == true, "\(String(describing: error))")
    }
}
