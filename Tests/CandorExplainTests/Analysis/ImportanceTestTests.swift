import CandorModel
import CandorTensor
import Foundation
import Testing

@testable import CandorExplain

/// `importance_test`: permutation p-values per feature and Benjamini–Hochberg selection.
@Suite struct ImportanceTestTests {
    /// The adjusted p-values R's `p.adjust(p, "BH")` gives, worked by hand: the running
    /// minimum from the largest p down of m·p₍ⱼ₎/j, capped at 1.
    @Test func theBenjaminiHochbergAdjustmentIsRsPAdjust() {
        func expectClose(_ adjusted: [Double], _ expected: [Double]) {
            #expect(adjusted.count == expected.count && zip(adjusted, expected).allSatisfy { abs($0 - $1) < 1e-12 }, "\(adjusted)")
        }
        expectClose(BenjaminiHochberg.adjusted([0.01, 0.04, 0.03, 0.005, 0.5]), [0.025, 0.05, 0.05, 0.025, 0.5])
        expectClose(BenjaminiHochberg.adjusted([0.2, 0.9, 0.2, 1.0]), [0.4, 1, 0.4, 1])
        #expect(BenjaminiHochberg.rejected([0.01, 0.04, 0.03, 0.005, 0.5], q: 0.0501) == [true, true, true, true, false])
        #expect(BenjaminiHochberg.rejected([0.01, 0.04, 0.03, 0.005, 0.5], q: 0.04) == [true, false, false, true, false])
        #expect(BenjaminiHochberg.adjusted([]) == [])
    }

    /// Rows of `features` standard normal features and a label 2·x₀ + x₁ − x₂ + noise/2.
    static func draw(rows: Int, features: Int, seed: UInt64) throws -> (Tensor, [Double]) {
        var random = SeededRandom(seed: seed)
        var values: [Float] = []
        var labels: [Double] = []
        for _ in 0..<rows {
            let row = (0..<features).map { _ in random.standardNormal() }
            values += row.map(Float.init)
            labels.append(2 * row[0] + row[1] - row[2] + 0.5 * random.standardNormal())
        }
        return (try Tensor(shape: [rows, features], scalars: values), labels)
    }

    /// A linear model as a fitted one would be: the three true weights, small spurious ones
    /// on five features the label does not depend on, and two features it ignores.
    static let weights: [Float] = [2, 1, -1, 0.05, -0.04, 0.03, -0.02, 0.05, 0, 0]

    static func model() -> RowFunctionModel {
        RowFunctionModel(featureCount: weights.count, outputCount: 1) { row in [zip(row, weights).reduce(0) { $0 + $1.0 * $1.1 }] }
    }

    /// Over repeated draws, the features the label does not depend on are selected at a
    /// false discovery rate no higher than q, and the three it does are found.
    @Test func theFalseDiscoveryRateIsControlledOverRepeatedDraws() throws {
        let q = 0.1
        var proportions: [Double] = []
        var power: [Double] = []
        for draw in 0..<20 {
            let (rows, labels) = try Self.draw(rows: 100, features: Self.weights.count, seed: UInt64(100 + draw))
            let problem = AnalysisProblem(model: Self.model(), rows: [rows], labels: labels)
            let (result, progress) = try AnalysisRun.run(
                ImportanceTest(), ["n_permutations": 99, "q": .number(q), "seed": .number(Double(draw))], on: problem)
            #expect(progress.done == progress.total)
            guard case .array(let selected)? = result["selected"], case .array(let pValues)? = result["p_values"] else {
                Issue.record("no selection")
                return
            }
            let names = Set(selected.compactMap { value -> String? in if case .string(let name) = value { name } else { nil } })
            let falseOnes = names.subtracting(["0", "1", "2"]).count
            proportions.append(Double(falseOnes) / Double(Swift.max(names.count, 1)))
            power.append(Double(names.intersection(["0", "1", "2"]).count) / 3)
            // The features the model ignores: every shuffle scores the same, so p = 1.
            #expect(pValues.suffix(2).compactMap(\.doubleValue) == [1, 1])
        }
        let falseDiscoveryRate = proportions.reduce(0, +) / Double(proportions.count)
        let meanPower = power.reduce(0, +) / Double(power.count)
        #expect(falseDiscoveryRate <= q, "false discovery rate \(falseDiscoveryRate) over \(proportions.count) draws")
        #expect(meanPower >= 0.95, "power \(meanPower)")
    }

    /// A feature every shuffle hurts gets the smallest p-value K permutations allow, 1/(K+1).
    @Test func aDecisiveFeatureGetsTheSmallestPossiblePValue() throws {
        let (rows, labels) = try Self.draw(rows: 100, features: Self.weights.count, seed: 7)
        let problem = AnalysisProblem(model: Self.model(), rows: [rows], labels: labels)
        let (result, _) = try AnalysisRun.run(ImportanceTest(), ["n_permutations": 19, "features": [0, 9]], on: problem)
        #expect(result["p_values"] == .array([.number(1.0 / 20), .number(1)]))
        #expect(result["selected"] == .array(["0"]))
        #expect(result["labels"] == "dataset")
        #expect(result["scoring"] == "r2")
    }

    @Test func badParametersAreNamedAndCancellationStopsTheRun() throws {
        let (rows, labels) = try Self.draw(rows: 50, features: Self.weights.count, seed: 3)
        let problem = AnalysisProblem(model: Self.model(), rows: [rows], labels: labels)
        #expect(AnalysisRun.error { _ = try ImportanceTest().prepare(["q": 0], for: problem) }?.message.contains("'q'") == true)
        let tooMany = AnalysisRun.error { _ = try ImportanceTest().prepare(["n_permutations": 100_000], for: problem) }
        #expect(tooMany?.message.contains("n_permutations") == true)
        let cancellation = CancellationFlag()
        cancellation.cancel()
        #expect(
            AnalysisRun.error { _ = try AnalysisRun.run(ImportanceTest(), [:], on: problem, cancellation: cancellation) }?.code
                == .cancelled)
    }
}
