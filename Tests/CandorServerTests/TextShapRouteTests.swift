import CandorServer
import CandorTestSupport
import Foundation
import HTTPTypes
import HummingbirdTesting
import Testing

/// partition_shap and kernel_shap on text instances of the demo model, tokens masked by SHAP's
/// Text masker: SHAP's Partition explainer, and its KernelExplainer on the masked texts
/// (scripts/fixtures/make_shap_text_fixtures.py). The masker's texts and hierarchy are checked
/// in CandorTextTests (ShapTextMaskerTests) and the traversal's values on known games in
/// CandorExplainTests (OwenTraversalTests); here, whole explanations against SHAP's, with
/// max_evals reaching every token and cutting the traversal short, and every coalition.
@Suite struct TextShapRouteTests {
    struct Golden: Sendable {
        let text: String
        let maxEvals: Int
        let truncated: Bool
        /// Per token, per output.
        let values: [[Double]]
        let baseValues: [Double]
        let outputs: [Double]
    }

    static let goldens: [Golden] = {
        guard let root = try? Fixtures.json("text/partition_shap.golden.json") as? [String: Any],
            let cases = root["explanations"] as? [[String: Any]]
        else { return [] }
        return cases.map { entry in
            Golden(
                text: entry["text"] as? String ?? "", maxEvals: entry["max_evals"] as? Int ?? 0,
                truncated: entry["truncated"] as? Bool ?? false,
                values: entry["values"] as? [[Double]] ?? [], baseValues: jsonNumbers(entry["base_values"] as Any),
                outputs: jsonNumbers(entry["outputs"] as Any))
        }
    }()

    static let kernelGoldens: [(text: String, samples: Int, values: [[Double]], baseValues: [Double], outputs: [Double])] = {
        guard let root = try? Fixtures.json("text/partition_shap.golden.json") as? [String: Any],
            let cases = root["kernel"] as? [[String: Any]]
        else { return [] }
        return cases.map { entry in
            (
                entry["text"] as? String ?? "", entry["n_samples"] as? Int ?? 0, entry["values"] as? [[Double]] ?? [],
                jsonNumbers(entry["base_values"] as Any), jsonNumbers(entry["outputs"] as Any)
            )
        }
    }()

    @Test func theFixtureHoldsWholeAndCutShortTraversals() {
        #expect(Self.goldens.count == 8)
        #expect(Self.goldens.filter(\.truncated).count == 4)
        #expect(Self.kernelGoldens.count == 3)
    }

    /// With every coalition evaluated, kernel_shap's values are the tokens' exact Shapley
    /// values: SHAP's KernelExplainer's on the same masked texts.
    @Test func kernelSHAPOverEveryCoalitionIsSHAPsKernelExplainer() async throws {
        try await TestApplication().test { client in
            for golden in Self.kernelGoldens {
                let body = try JSONSerialization.data(withJSONObject: [
                    "method": "kernel_shap", "inputs": [["text": golden.text]], "params": ["n_samples": golden.samples],
                ])
                let response = try await client.post("/v1/models/review_sentiment/explain", json: String(decoding: body, as: UTF8.self))
                #expect(response.status == .ok, "\(response.text)")
                let explanation = try #require((response.json["explanations"] as? [[String: Any]])?.first)
                let target = try #require(golden.outputs.indices.max { golden.outputs[$0] < golden.outputs[$1] })
                let values = explanation["attributions"] as? [Double] ?? []
                let expected = golden.values.map { $0[target] }
                #expect(values.count == expected.count)
                for (value, reference) in zip(values, expected) {
                    #expect(abs(value - reference) < 2e-4, "\(golden.text): \(values) vs SHAP's \(expected)")
                }
                #expect(abs((explanation["base_value"] as? Double ?? .nan) - golden.baseValues[target]) < 1e-4)
                // Every coalition evaluated: no sampling error.
                #expect((explanation["attributions_stderr"] as? [Double])?.allSatisfy { $0 == 0 } == true)
                #expect((response.json["params"] as? [String: Any])?["mask_token"] as? String == "[MASK]")
            }
        }
    }

    @Test(arguments: [500, 40, 60, 100])
    func eachTokensValueIsSHAPs(maxEvals: Int) async throws {
        let goldens = Self.goldens.filter { $0.maxEvals == maxEvals }
        #expect(!goldens.isEmpty)
        let body = try JSONSerialization.data(withJSONObject: [
            "method": "partition_shap", "inputs": goldens.map { ["text": $0.text] }, "params": ["max_evals": maxEvals],
        ])
        try await TestApplication().test { client in
            let response = try await client.post("/v1/models/review_sentiment/explain", json: String(decoding: body, as: UTF8.self))
            #expect(response.status == .ok, "\(response.text)")
            let explanations = try #require(response.json["explanations"] as? [[String: Any]])
            #expect(explanations.count == goldens.count)
            for (explanation, golden) in zip(explanations, goldens) {
                let target = try #require(golden.outputs.indices.max { golden.outputs[$0] < golden.outputs[$1] })
                let values = explanation["attributions"] as? [Double] ?? []
                #expect((explanation["tokens"] as? [Any])?.count == golden.values.count)
                #expect(values.count == golden.values.count, "\(golden.text)")
                for (value, expected) in zip(values, golden.values.map { $0[target] }) {
                    #expect(
                        abs(value - expected) < 2e-4,
                        "\(golden.text) at \(maxEvals): \(values) vs SHAP's \(golden.values.map { $0[target] })")
                }
                let base = try #require(explanation["base_value"] as? Double)
                #expect(abs(base - golden.baseValues[target]) < 1e-4)
                // Efficiency: the values add up to f(text) − f(every token masked).
                #expect(abs(values.reduce(0, +) - (golden.outputs[target] - base)) < 2e-4)
            }
        }
    }

    @Test func theMaskerSettingsAreTheTokenizersUnlessGiven() async throws {
        try await TestApplication().test { client in
            let response = try await client.post(
                "/v1/models/review_sentiment/explain", json: #"{"method":"partition_shap","inputs":[{"text":"Not great at all"}]}"#)
            #expect(response.status == .ok, "\(response.text)")
            let params = try #require(response.json["params"] as? [String: Any])
            #expect(params["mask_token"] as? String == "[MASK]")
            #expect(params["collapse_mask_token"] as? Bool == false)
            #expect(params["max_evals"] as? Double == 500)
            #expect(params["batch_size"] as? Double == 5)
            let explanation = try #require((response.json["explanations"] as? [[String: Any]])?.first)
            // One merge fewer than tokens, the last holding them all.
            let tokens = try #require((explanation["tokens"] as? [Any])?.count)
            let clustering = try #require(explanation["clustering"] as? [[Double]])
            #expect(clustering.count == tokens - 1 && clustering.last?[3] == Double(tokens))

            let given = try await client.post(
                "/v1/models/review_sentiment/explain",
                json: #"{"method":"partition_shap","inputs":[{"text":"Not great at all"}],"params":{"mask_token":"[UNK]"}}"#)
            #expect(given.status == .ok, "\(given.text)")
            // A mask token of the request's own is collapsed, as SHAP's auto does.
            #expect((given.json["params"] as? [String: Any])?["collapse_mask_token"] as? Bool == true)
        }
    }

    @Test(arguments: [
        (#"{"method":"partition_shap","inputs":[{"text":"great","text_pair":"fine"}]}"#, "invalid-input"),
        // Longer than the tokenizer keeps (64 tokens): SHAP would mask the whole text.
        (#"{"method":"partition_shap","inputs":[{"text":"\#(String(repeating: "great ", count: 70))"}]}"#, "invalid-input"),
        (#"{"method":"kernel_shap","inputs":[{"text":"great"}],"params":{"background":"model"}}"#, "invalid-parameter"),
        (#"{"method":"kernel_shap","inputs":[{"text":"great"}],"params":{"feature_mask":[0]}}"#, "invalid-parameter"),
        (#"{"method":"partition_shap","inputs":[{"text":"great"}],"reduce":"none"}"#, "invalid-parameter"),
        (#"{"method":"partition_shap","inputs":[{"text":"great"}],"params":{"max_evals":1}}"#, "invalid-parameter"),
        (#"{"method":"partition_shap","inputs":[{"text":"great"}],"params":{"n_samples":10}}"#, "invalid-parameter"),
        (#"{"method":"partition_shap","inputs":[{"text":"great"}],"params":{"collapse_mask_token":"yes"}}"#, "invalid-parameter"),
        (
            #"{"method":"partition_shap","inputs":[{"text":"great"}],"params":{"mask_token":"\#(String(repeating: "m", count: 65))"}}"#,
            "invalid-parameter"
        ),
    ])
    func aBadRequestNamesTheProblem(body: String, code: String) async throws {
        try await TestApplication().test { client in
            let response = try await client.post("/v1/models/review_sentiment/explain", json: body)
            #expect(response.status == .badRequest, "\(response.text)")
            #expect(response.json["type"] as? String == "urn:candor:error:\(code)", "\(response.text)")
        }
    }

    @Test func numericInputsAreRefused() async throws {
        try await TestApplication().test { client in
            let response = try await client.post(
                "/v1/models/iris_mlp/explain", json: #"{"method":"partition_shap","inputs":[[5.1, 3.5, 1.4, 0.2]]}"#)
            #expect(response.json["type"] as? String == "urn:candor:error:method-not-applicable", "\(response.text)")
            let model = try await client.get("/v1/models/iris_mlp")
            #expect((model.json["methods"] as? [String])?.contains("partition_shap") == false)
            let masked = try await client.post(
                "/v1/models/iris_mlp/explain",
                json: #"{"method":"kernel_shap","inputs":[[5.1, 3.5, 1.4, 0.2]],"params":{"mask_token":"x"}}"#)
            #expect(masked.json["type"] as? String == "urn:candor:error:invalid-parameter", "\(masked.text)")
        }
    }
}
