import CandorTensor
import CandorTestSupport
import Foundation
import Testing

@testable import CandorExplain

/// LIME on text (`LimeTextExplainer`): on lime's own neighbourhoods of two demo reviews (its keep
/// matrix and the target logits of its sample texts, scripts/fixtures/make_text_fixtures.py),
/// Candor's kernel, distances and regression give lime's weights, intercept, score and local
/// prediction; Candor's own neighbourhoods are drawn as lime draws them.
@Suite struct LimeTextTests {
    static var neighbourhoods: [[String: Any]] {
        let root = (try? Fixtures.json("text/review_sentiment.golden.json")) as? [String: Any] ?? [:]
        return (root["cases"] as? [[String: Any]] ?? []).compactMap { $0["lime_neighbourhood"] as? [String: Any] }
    }

    static let plan = LimeTextPlan(
        effectiveParameters: [:], words: [], samples: 300, kernelWidth: LimeTextPlan.defaultKernelWidth, features: 10,
        selection: .auto, seed: 0)

    @Test func theFixtureHoldsTwoNeighbourhoods() {
        #expect(Self.neighbourhoods.count == 2)
    }

    @Test func onLimesNeighbourhoodTheSurrogateIsLimes() throws {
        for lime in Self.neighbourhoods {
            let kept = try #require(lime["kept"] as? [[Int]])
            let words = try #require(lime["words"] as? [String]).count
            let labels = jsonNumbers(lime["labels"] as Any)
            let attribution = try Self.plan.explain(kept: kept.flatMap { $0.map(Double.init) }, words: words, labels: labels)
            let weights = attribution.attributions[0].scalars.map(Double.init)
            let expected = jsonNumbers(lime["weights"] as Any)
            #expect(weights.count == expected.count)
            for (actual, reference) in zip(weights, expected) {
                #expect(abs(actual - reference) < 1e-5, "\(weights) vs \(expected)")
            }
            for key in ["intercept", "score", "local_prediction"] {
                let actual = try #require(attribution.extras[key].flatMap { if case .number(let value) = $0 { value } else { nil } })
                let reference = try #require(lime[key] as? Double)
                #expect(abs(actual - reference) < 1e-6, "\(key): \(actual) vs \(reference)")
            }
        }
    }

    /// The first sample is the text; every other removes between one word and all of them,
    /// each count about equally often, each word about equally often.
    @Test func samplesRemoveFromOneWordToAllAsLimeDraws() {
        var random = SeededRandom(seed: 7)
        let (words, samples) = (6, 6001)
        let kept = LimeTextPlan.neighbourhood(words: words, samples: samples, random: &random)
        #expect(kept[0..<words].allSatisfy { $0 == 1 })
        var removedCounts = [Int](repeating: 0, count: words + 1)
        var removedWords = [Int](repeating: 0, count: words)
        for sample in 1..<samples {
            let row = kept[(sample * words)..<((sample + 1) * words)]
            removedCounts[row.filter { $0 == 0 }.count] += 1
            for (word, value) in row.enumerated() where value == 0 { removedWords[word] += 1 }
        }
        #expect(removedCounts[0] == 0)
        // 1,000 expected per count (σ ≈ 29), 3,500 per word (σ ≈ 40).
        #expect(removedCounts[1...].allSatisfy { abs($0 - 1000) < 150 }, "\(removedCounts)")
        #expect(removedWords.allSatisfy { abs($0 - 3500) < 250 }, "\(removedWords)")
    }
}
