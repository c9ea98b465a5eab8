import CandorServer
import CandorTestSupport
import Foundation
import HTTPTypes
import HummingbirdTesting
import Testing

/// Text instances (`{"text": ...}`) on the demo text model `review_sentiment`: tokenized by its
/// tokenizer.json, predicted as onnxruntime predicts the ids, and explained token by token as
/// Captum explains the same model (scripts/fixtures/make_text_fixtures.py).
@Suite struct TextRouteTests {
    struct Golden: Sendable {
        let text: String
        let tokens: [String]
        let target: Int
        let logits: [Double]
        let convergenceDelta: Double
        /// Captum's attributions per token, by method.
        let attributions: [String: [Double]]
    }

    /// The methods compared with Captum (or the authors' code) per token with their defaults.
    static let methods = [
        "saliency", "input_x_gradient", "layer_integrated_gradients", "layer_gradient_x_activation", "attention_rollout",
        "attention_flow", "feature_ablation",
    ]

    /// Every method a text model lists, in the catalog's order.
    static let textMethods = [
        "saliency", "input_x_gradient", "layer_integrated_gradients", "layer_gradient_x_activation", "attention_rollout",
        "attention_flow", "feature_ablation", "occlusion", "kernel_shap", "partition_shap", "lime",
    ]

    static let goldens: [Golden] = {
        guard let root = try? Fixtures.json("text/review_sentiment.golden.json") as? [String: Any],
            let cases = root["cases"] as? [[String: Any]]
        else { return [] }
        return cases.map { entry in
            let lig = entry["layer_integrated_gradients"] as? [String: Any] ?? [:]
            var attributions: [String: [Double]] = [:]
            for method in methods + [
                "attention_rollout_max", "attention_rollout_min", "attention_flow_max", "occlusion", "occlusion_strided",
                "feature_ablation_words", "feature_ablation_masked", "feature_ablation_removed", "occlusion_masked",
                "occlusion_removed",
            ] {
                attributions[method] = (entry[method] as? [String: Any])?["attributions"] as? [Double]
            }
            return Golden(
                text: entry["text"] as? String ?? "", tokens: entry["tokens"] as? [String] ?? [], target: entry["target"] as? Int ?? -1,
                logits: entry["logits"] as? [Double] ?? [], convergenceDelta: lig["convergence_delta"] as? Double ?? .nan,
                attributions: attributions)
        }
    }()

    /// Every golden text in one request: the shorter ones are padded, which must change nothing.
    static var instances: String {
        let texts = goldens.map { ["text": $0.text] }
        return (try? JSONSerialization.data(withJSONObject: texts)).map { String(decoding: $0, as: UTF8.self) } ?? "[]"
    }

    @Test func theFixtureHoldsEveryText() {
        #expect(Self.goldens.count == 5)
    }

    @Test func textPredictsAsOnnxruntimePredictsItsTokenIds() async throws {
        try await TestApplication().test { client in
            let response = try await client.post("/v1/models/review_sentiment/predict", json: #"{"inputs":\#(Self.instances)}"#)
            #expect(response.status == .ok, "\(response.text)")
            let logits = try #require((response.json["outputs"] as? [String: [[Double]]])?["logits"])
            for (row, golden) in zip(logits, Self.goldens) {
                #expect(zip(row, golden.logits).allSatisfy { abs($0 - $1) < 1e-4 }, "\(golden.text): \(row) vs \(golden.logits)")
            }
        }
    }

    @Test(arguments: methods)
    func eachTokensAttributionIsCaptums(_ method: String) async throws {
        try await TestApplication().test { client in
            let response = try await client.post(
                "/v1/models/review_sentiment/explain", json: #"{"method":"\#(method)","inputs":\#(Self.instances)}"#)
            #expect(response.status == .ok, "\(response.text)")
            let explanations = try #require(response.json["explanations"] as? [[String: Any]])
            #expect(explanations.count == Self.goldens.count)
            for (explanation, golden) in zip(explanations, Self.goldens) {
                let tokens = (explanation["tokens"] as? [[String: Any]] ?? []).compactMap { $0["token"] as? String }
                #expect(tokens == golden.tokens)
                #expect(explanation["target"] as? Int == golden.target)
                let attributions = explanation["attributions"] as? [Double] ?? []
                let expected = golden.attributions[method] ?? []
                #expect(attributions.count == expected.count && !expected.isEmpty)
                let scale = expected.map(abs).max() ?? 1
                for (actual, reference) in zip(attributions, expected) {
                    #expect(abs(actual - reference) <= 2e-3 * scale + 1e-5, "\(golden.text): \(attributions) vs \(expected)")
                }
                if method == "layer_integrated_gradients" {
                    let delta = try #require(explanation["convergence_delta"] as? Double)
                    #expect(abs(delta - golden.convergenceDelta) < 1e-3, "\(delta) vs \(golden.convergenceDelta)")
                }
            }
        }
    }

    /// Each head fusion rolls out as the authors' code does, and the [CLS] row of the rollout
    /// is a distribution over the tokens: padding takes none of it.
    @Test(arguments: ["max", "min"])
    func attentionRolloutFusesHeadsAsItsAuthorsDo(_ fusion: String) async throws {
        try await TestApplication().test { client in
            let response = try await client.post(
                "/v1/models/review_sentiment/explain",
                json: #"{"method":"attention_rollout","inputs":\#(Self.instances),"params":{"head_fusion":"\#(fusion)"}}"#)
            #expect(response.status == .ok, "\(response.text)")
            let explanations = try #require(response.json["explanations"] as? [[String: Any]])
            for (explanation, golden) in zip(explanations, Self.goldens) {
                let attributions = explanation["attributions"] as? [Double] ?? []
                let expected = golden.attributions["attention_rollout_\(fusion)"] ?? []
                #expect(attributions.count == expected.count && !expected.isEmpty)
                #expect(zip(attributions, expected).allSatisfy { abs($0 - $1) < 1e-4 }, "\(attributions) vs \(expected)")
                #expect(abs(attributions.reduce(0, +) - 1) < 1e-4)
            }
        }
    }

    /// Attention flow with heads fused by their maximum is the authors' maximum flow, and the
    /// flows are a distribution over the tokens.
    @Test func attentionFlowIsTheAuthorsMaximumFlow() async throws {
        try await TestApplication().test { client in
            let response = try await client.post(
                "/v1/models/review_sentiment/explain",
                json: #"{"method":"attention_flow","inputs":\#(Self.instances),"params":{"head_fusion":"max"}}"#)
            #expect(response.status == .ok, "\(response.text)")
            let explanations = try #require(response.json["explanations"] as? [[String: Any]])
            for (explanation, golden) in zip(explanations, Self.goldens) {
                let attributions = explanation["attributions"] as? [Double] ?? []
                let expected = golden.attributions["attention_flow_max"] ?? []
                #expect(attributions.count == expected.count && !expected.isEmpty)
                #expect(zip(attributions, expected).allSatisfy { abs($0 - $1) < 1e-4 }, "\(attributions) vs \(expected)")
                #expect(abs(attributions.reduce(0, +) - 1) < 1e-4)
            }
        }
    }

    /// Occlusion's windows slide over each text's own tokens as Captum's over the unpadded text:
    /// the last windows are cut off at the text's end, not run on into the batch's padding.
    /// Feature ablation over words ablates each word's tokens together, each text with its own
    /// groups, as Captum's with a feature_mask of tokenizers' word_ids; and a named token
    /// replaces each token in place of [PAD].
    @Test(arguments: [
        ("occlusion", "occlusion", #"{"sliding_window_shapes":[3],"strides":[1]}"#),
        ("occlusion_strided", "occlusion", #"{"sliding_window_shapes":[3],"strides":[2]}"#),
        ("feature_ablation_words", "feature_ablation", #"{"feature_mask":"words"}"#),
        ("feature_ablation_masked", "feature_ablation", #"{"baselines":"[MASK]"}"#),
        ("feature_ablation_removed", "feature_ablation", #"{"baselines":"removed"}"#),
        ("occlusion_masked", "occlusion", #"{"sliding_window_shapes":[3],"baselines":"[MASK]"}"#),
        ("occlusion_removed", "occlusion", #"{"sliding_window_shapes":[3],"baselines":"removed"}"#),
    ])
    func eachTextsOwnTokensAreReplacedAsCaptumReplacesThem(_ golden: String, _ method: String, _ parameters: String) async throws {
        try await TestApplication().test { client in
            let response = try await client.post(
                "/v1/models/review_sentiment/explain",
                json: #"{"method":"\#(method)","inputs":\#(Self.instances),"params":\#(parameters)}"#)
            #expect(response.status == .ok, "\(response.text)")
            // The form asked for is echoed, not the groups of one text.
            if golden == "feature_ablation_words" {
                #expect((response.json["params"] as? [String: Any])?["feature_mask"] as? String == "words")
            }
            if golden.hasSuffix("_removed") {
                #expect((response.json["params"] as? [String: Any])?["baselines"] as? String == "removed")
            }
            let explanations = try #require(response.json["explanations"] as? [[String: Any]])
            #expect(explanations.count == Self.goldens.count)
            for (explanation, reference) in zip(explanations, Self.goldens) {
                let tokens = (explanation["tokens"] as? [[String: Any]] ?? []).compactMap { $0["token"] as? String }
                #expect(tokens == reference.tokens)
                let attributions = explanation["attributions"] as? [Double] ?? []
                let expected = reference.attributions[golden] ?? []
                #expect(attributions.count == expected.count && !expected.isEmpty)
                let scale = expected.map(abs).max() ?? 1
                #expect(zip(attributions, expected).allSatisfy { abs($0 - $1) <= 2e-3 * scale + 1e-5 }, "\(attributions) vs \(expected)")
            }
        }
    }

    @Test func occlusionOnTextNeedsItsWindowAndNamesTheText() async throws {
        try await TestApplication().test { client in
            let response = try await client.post(
                "/v1/models/review_sentiment/explain",
                json:
                    #"{"method":"occlusion","inputs":[{"text":"a great phone and a good price"},{"text":"ok"}],"params":{"sliding_window_shapes":[6]}}"#
            )
            #expect(response.status == .badRequest, "\(response.text)")
            #expect((response.json["detail"] as? String)?.hasPrefix("text 1:") == true, "\(response.text)")
        }
    }

    /// `render` on text highlights the text as sent: each token's characters in a mark coloured
    /// by its attribution's sign (Captum's colours), markup in the text escaped, the pair apart.
    @Test func renderHighlightsTheTextAsAnEscapedFragment() async throws {
        try await TestApplication().test { client in
            let response = try await client.post(
                "/v1/models/review_sentiment/explain",
                json: #"{"method":"feature_ablation","inputs":[{"text":"<b>terrible</b> & slow","text_pair":"great"}],"render":{}}"#)
            #expect(response.status == .ok, "\(response.text)")
            #expect((response.json["render"] as? [String: Any])?["kind"] as? String == "html")
            let explanation = try #require((response.json["explanations"] as? [[String: Any]])?.first)
            let html = try #require(explanation["html"] as? String)
            #expect(html.hasPrefix(#"<div class="candor-text"><p>"#) && html.hasSuffix("</p></div>"))
            #expect(!html.contains("<b>") && html.contains("&lt;") && html.contains("&amp;"))
            #expect(html.contains(#"<p class="candor-text-pair"><mark"#))
            // Every token of the text and its pair is marked; the special tokens are not.
            let tokens = (explanation["tokens"] as? [[String: Any]] ?? []).filter { $0["special"] == nil }
            #expect(html.components(separatedBy: "<mark ").count - 1 == tokens.count)
            let attributions = explanation["attributions"] as? [Double] ?? []
            let largest = try #require(attributions.map(abs).max())
            #expect(html.contains(largest == attributions.max() ? "hsl(120, 75%, 50%)" : "hsl(0, 75%, 60%)"))
            #expect(explanation["image"] == nil)
        }
    }

    @Test(arguments: [
        (#"{"method":"saliency","inputs":[{"text":"great"}],"render":{"kind":"heat_map"}}"#, "kind html"),
        (#"{"method":"saliency","inputs":[{"text":"great"}],"render":{"colormap":"Greens"}}"#, "render.colormap"),
        (#"{"method":"saliency","inputs":{"input_ids":[[2,7,3]],"attention_mask":[[1,1,1]]},"render":{}}"#, "token ids"),
    ])
    func renderOnATextModelTakesTextAndNoPictureOptions(_ body: String, _ detail: String) async throws {
        try await TestApplication().test { client in
            let response = try await client.post("/v1/models/review_sentiment/explain", json: body)
            #expect(response.status == .badRequest, "\(response.text)")
            #expect(response.json["type"] as? String == "urn:candor:error:invalid-render")
            #expect((response.json["detail"] as? String)?.contains(detail) == true, "\(response.text)")
        }
    }

    /// `reduce: none` keeps each token's attributions per embedding dimension; their sums are
    /// the tokens' attributions Captum's tutorials report.
    @Test func reduceNoneKeepsEachTokensDimensions() async throws {
        try await TestApplication().test { client in
            let response = try await client.post(
                "/v1/models/review_sentiment/explain",
                json: #"{"method":"layer_integrated_gradients","inputs":\#(Self.instances),"reduce":"none"}"#)
            #expect(response.status == .ok, "\(response.text)")
            #expect((response.json["params"] as? [String: Any])?["reduce"] as? String == "none")
            let explanations = try #require(response.json["explanations"] as? [[String: Any]])
            for (explanation, golden) in zip(explanations, Self.goldens) {
                let perDimension = explanation["attributions"] as? [[Double]] ?? []
                let expected = golden.attributions["layer_integrated_gradients"] ?? []
                #expect(perDimension.count == expected.count && perDimension.allSatisfy { $0.count == 32 })
                let scale = expected.map(abs).max() ?? 1
                for (dimensions, reference) in zip(perDimension, expected) {
                    #expect(abs(dimensions.reduce(0, +) - reference) <= 2e-3 * scale + 1e-5)
                }
            }
        }
    }

    @Test func tokensCarryTheirPlaceInTheText() async throws {
        try await TestApplication().test { client in
            let response = try await client.post(
                "/v1/models/review_sentiment/explain",
                json: #"{"method":"layer_integrated_gradients","inputs":[{"text":"Très bien","text_pair":"but slow"}]}"#)
            #expect(response.status == .ok, "\(response.text)")
            let explanation = try #require((response.json["explanations"] as? [[String: Any]])?.first)
            let tokens = try #require(explanation["tokens"] as? [[String: Any]])
            let described = tokens.map { token in
                [
                    token["token"] as? String ?? "?", (token["start"] as? Int).map(String.init) ?? "-",
                    (token["end"] as? Int).map(String.init) ?? "-",
                    token["in"] as? String ?? "", (token["special"] as? Bool).map(String.init) ?? "",
                ].joined(separator: " ")
            }
            // "très" is lowercased but keeps its accent (the tokenizer strips none) and is
            // spelled by characters: its pieces keep their place in the original text.
            #expect(described.first == "[CLS] - -  true")
            #expect(described.contains("but 0 3 text_pair "))
            #expect(described.contains("slow 4 8 text_pair "))
            #expect(described.last == "[SEP] - -  true")
            #expect((explanation["attributions"] as? [Double])?.count == tokens.count)
        }
    }

    @Test func theModelDescriptionNamesItsTokenizerAndTextMethods() async throws {
        try await TestApplication().test { client in
            let response = try await client.get("/v1/models/review_sentiment")
            #expect(response.status == .ok)
            let text = try #require(response.json["text"] as? [String: Any])
            #expect(text["tokenizer"] as? String == "review_sentiment.tokenizer.json")
            #expect(text["embedding_layer"] as? String == "embedding")
            #expect(response.json["methods"] as? [String] == Self.textMethods)
        }
    }

    @Test(arguments: [
        (#"{"method":"exact_shapley","inputs":[{"text":"great"}]}"#, 400, "method-not-applicable"),
        (#"{"method":"feature_ablation","inputs":[{"text":"great"}],"params":{"feature_mask":"sentences"}}"#, 400, "invalid-parameter"),
        (#"{"method":"feature_ablation","inputs":[{"text":"great"}],"params":{"baselines":"[NOPE]"}}"#, 400, "invalid-parameter"),
        (#"{"method":"feature_ablation","inputs":[{"text":"great"}],"params":{"baselines":100000}}"#, 400, "invalid-parameter"),
        (
            #"{"method":"feature_ablation","inputs":[{"text":"great"}],"params":{"baselines":"removed","feature_mask":[0,0,1]}}"#, 400,
            "invalid-parameter"
        ),
        (#"{"method":"feature_ablation","inputs":[{"text":"great"}],"params":{"baselines":[1, 2, 3]}}"#, 400, "invalid-parameter"),
        (
            #"{"method":"occlusion","inputs":[{"text":"great"}],"params":{"sliding_window_shapes":[1],"baselines":2.5}}"#, 400,
            "invalid-parameter"
        ),
        (#"{"method":"lime","inputs":[{"text":"great"}],"params":{"feature_mask":[0]}}"#, 400, "invalid-parameter"),
        (#"{"method":"lime","inputs":[{"text":"great"}],"params":{"discretize":false}}"#, 400, "invalid-parameter"),
        (#"{"method":"lime","inputs":[{"text":"great"}],"params":{"n_samples":0}}"#, 400, "invalid-parameter"),
        (#"{"method":"lime","inputs":[{"text":"great"}],"reduce":"none"}"#, 400, "invalid-parameter"),
        (#"{"method":"lime","inputs":[{"text":"great"},{"text":" ?! "}]}"#, 400, "invalid-input"),
        (#"{"method":"lime","inputs":[{"text":"great"}],"params":{"n_samples":1000000}}"#, 413, "input-too-large"),
        (#"{"method":"saliency","inputs":[{"text":"great"}],"reduce":"mean"}"#, 400, "invalid-parameter"),
        (#"{"method":"saliency","inputs":{"input_ids":[[2,7,3]],"attention_mask":[[1,1,1]]},"reduce":"none"}"#, 400, "invalid-parameter"),
        (#"{"method":"layer_integrated_gradients","inputs":[{"text":"great"}],"evaluate":["deletion"]}"#, 400, "invalid-input"),
        (#"{"method":"layer_integrated_gradients","inputs":[{"text":"great"},[1,2]]}"#, 400, "invalid-input"),
        (#"{"method":"layer_integrated_gradients","inputs":[{"text":"great","lang":"en"}]}"#, 400, "invalid-input"),
        (#"{"method":"layer_integrated_gradients","inputs":[{"text":"great","text_pair":3}]}"#, 400, "invalid-input"),
        (#"{"method":"layer_integrated_gradients","inputs":[{"text":5}]}"#, 400, "invalid-input"),
        (#"{"method":"layer_integrated_gradients","inputs":[{"text":"great"}],"params":{"layer":"nope"}}"#, 400, "invalid-parameter"),
        (#"{"method":"layer_integrated_gradients","inputs":[{"text":"great"}],"params":{"layer":"softmax"}}"#, 400, "invalid-parameter"),
    ])
    func aTextRequestThatCannotBeAnsweredIsRefused(_ body: String, _ status: Int, _ code: String) async throws {
        try await TestApplication().test { client in
            let response = try await client.post("/v1/models/review_sentiment/explain", json: body)
            #expect(response.status.code == status, "\(response.text)")
            #expect(response.json["type"] as? String == "urn:candor:error:\(code)", "\(response.text)")
        }
    }

    /// One long text among short ones is refused before the batch is padded to it.
    @Test func aLongTextInABatchIs413BeforePadding() async throws {
        try await TestApplication { $0.limits.maxTextTokens = 8 }.test { client in
            let short = Array(repeating: #"{"text":""}"#, count: 200).joined(separator: ",")
            let long = String(repeating: "great ", count: 50_000)
            let response = try await client.post(
                "/v1/models/review_sentiment/explain",
                json: #"{"method":"saliency","inputs":[\#(short),{"text":"\#(long)"}]}"#)
            #expect(response.status == .contentTooLarge, "\(response.text)")
        }
    }

    @Test func aTextLongerThanTheLimitIs413() async throws {
        try await TestApplication { $0.limits.maxTextTokens = 8 }.test { client in
            let response = try await client.post(
                "/v1/models/review_sentiment/predict", json: #"{"inputs":[{"text":"the lamp is not very quiet but the price is great"}]}"#)
            #expect(response.status == .contentTooLarge, "\(response.text)")
            #expect((response.json["detail"] as? String)?.contains("limits.max_text_tokens") == true)
        }
    }

    @Test func textToAModelWithoutATokenizerIsRefused() async throws {
        try await TestApplication().test { client in
            let response = try await client.post("/v1/models/iris_mlp/predict", json: #"{"inputs":[{"text":"a flower"}]}"#)
            #expect(response.status == .badRequest)
            #expect((response.json["detail"] as? String)?.contains("names no tokenizer") == true)
        }
    }

    @Test func tokenIdsThatAreNotWholeNumbersAreRefused() async throws {
        try await TestApplication().test { client in
            let response = try await client.post(
                "/v1/models/review_sentiment/predict", json: #"{"inputs":{"input_ids":[[2,5.5,3]],"attention_mask":[[1,1,1]]}}"#)
            #expect(response.status == .badRequest, "\(response.text)")
            #expect((response.json["detail"] as? String)?.contains("whole numbers") == true, "\(response.text)")
        }
    }
}
