import CandorServer
import CandorTestSupport
import Foundation
import HTTPTypes
import HummingbirdTesting
import Testing

/// lime on text instances of the demo model: one weight per distinct word, as lime's
/// `LimeTextExplainer` (scripts/fixtures/make_text_fixtures.py). The regression on lime's own
/// neighbourhoods is checked in CandorExplainTests (LimeTextTests) and the sample texts in
/// CandorTextTests (IndexedWordsTests); here, what the model makes of lime's sample texts, and
/// whole explanations against the spread of lime's runs over five random states.
@Suite struct TextLimeRouteTests {
    static var cases: [[String: Any]] {
        let root = (try? Fixtures.json("text/review_sentiment.golden.json")) as? [String: Any] ?? [:]
        return root["cases"] as? [[String: Any]] ?? []
    }

    /// lime's classifier is given texts with words removed; the service predicts the same
    /// logits for them as onnxruntime (the labels lime regresses on).
    @Test func limesSampleTextsPredictAsLimesClassifierDid() async throws {
        let lime = try #require(Self.cases.first?["lime_neighbourhood"] as? [String: Any])
        let texts = try #require(lime["texts"] as? [String]).prefix(100)
        let labels = jsonNumbers(lime["labels"] as Any)
        let target = try #require(Self.cases.first?["target"] as? Int)
        let body = try JSONSerialization.data(withJSONObject: ["inputs": texts.map { ["text": $0] }])
        try await TestApplication().test { client in
            let response = try await client.post("/v1/models/review_sentiment/predict", json: String(decoding: body, as: UTF8.self))
            #expect(response.status == .ok, "\(response.text)")
            let logits = try #require((response.json["outputs"] as? [String: [[Double]]])?["logits"])
            #expect(logits.count == texts.count)
            for (row, label) in zip(logits, labels) { #expect(abs(row[target] - label) < 1e-4, "\(row) vs \(label)") }
        }
    }

    @Test func limeOnTextWeighsEachWordWithinLimesSpread() async throws {
        let compared = Self.cases.filter { $0["lime_runs"] != nil }
        #expect(compared.count == 3)
        let texts = compared.map { ["text": $0["text"] as? String ?? ""] }
        let limeRuns = compared.map { $0["lime_runs"] as? [[Double]] ?? [] }
        let body = try JSONSerialization.data(withJSONObject: ["method": "lime", "inputs": texts, "params": ["n_samples": 1000]])
        try await TestApplication().test { client in
            let response = try await client.post("/v1/models/review_sentiment/explain", json: String(decoding: body, as: UTF8.self))
            #expect(response.status == .ok, "\(response.text)")
            let explanations = try #require(response.json["explanations"] as? [[String: Any]])
            #expect(explanations.count == limeRuns.count)
            for (explanation, runs) in zip(explanations, limeRuns) {
                let words = (explanation["words"] as? [[String: Any]] ?? []).compactMap { $0["word"] as? String }
                let weights = explanation["attributions"] as? [Double] ?? []
                #expect(weights.count == words.count && words.count == runs.first?.count)
                for (word, weight) in zip(words.indices, weights) {
                    let values = runs.map { $0[word] }
                    let (low, high) = (values.min() ?? 0, values.max() ?? 0)
                    let spread = max(high - low, 0.05 * (runs.flatMap { $0 }.map(abs).max() ?? 1))
                    #expect(weight >= low - spread && weight <= high + spread, "\(words[word]): \(weight) vs lime's \(values)")
                }
                #expect(explanation["intercept"] is Double && explanation["score"] is Double)
            }
        }
    }

    @Test func eachWordCarriesWhereItOccurs() async throws {
        try await TestApplication().test { client in
            let response = try await client.post(
                "/v1/models/review_sentiment/explain",
                json: #"{"method":"lime","inputs":[{"text":"Not great, not terrible."}],"params":{"n_samples":200}}"#)
            #expect(response.status == .ok, "\(response.text)")
            let explanation = try #require((response.json["explanations"] as? [[String: Any]])?.first)
            let words = try #require(explanation["words"] as? [[String: Any]])
            #expect(words.compactMap { $0["word"] as? String } == ["Not", "great", "not", "terrible"])
            #expect(words.first?["offsets"] as? [[Int]] == [[0, 3]])
            #expect((explanation["attributions"] as? [Double])?.count == 4)
            #expect(explanation["tokens"] == nil)
            let params = try #require(response.json["params"] as? [String: Any])
            #expect(params["kernel_width"] as? Double == 25)
        }
    }
}
