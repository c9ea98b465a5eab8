import CandorServer
import Foundation
import HTTPTypes
import HummingbirdTesting
import Testing

/// KServe's V1 verbs answer with `predict`'s numbers and the model's default explanation.
@Suite struct KServeRouteTests {
    let flowers = "[[5.1,3.5,1.4,0.2],[6.7,3.0,5.2,2.3]]"

    @Test func predictAnswersTheFirstOutputPerInstance() async throws {
        try await TestApplication().test { client in
            let expected = try await client.post("/v1/models/iris_mlp/predict", json: #"{"inputs":\#(flowers)}"#)
            let response = try await client.post("/v1/models/iris_mlp:predict", json: #"{"instances":\#(flowers)}"#)
            #expect(response.status == .ok, "\(response.text)")
            #expect(response.json["predictions"] as? [[Double]] == (expected.json["outputs"] as? [String: Any])?["logits"] as? [[Double]])
        }
    }

    /// Without a default in the sidecar, a differentiable model is explained by integrated
    /// gradients with its defaults; the sidecar's `default_method` and `default_params` win.
    /// Text instances are explained token by token, as their own route explains them.
    @Test func textIsExplainedWithLayerIntegratedGradients() async throws {
        try await TestApplication().test { client in
            let text = #"[{"text":"The headphones are great but the battery is terrible"}]"#
            let kserve = try await client.post("/v1/models/review_sentiment:explain", json: #"{"instances":\#(text)}"#)
            let own = try await client.post(
                "/v1/models/review_sentiment/explain", json: #"{"method":"layer_integrated_gradients","inputs":\#(text)}"#)
            #expect(kserve.status == .ok, "\(kserve.text)")
            #expect(kserve.json["method"] as? String == "layer_integrated_gradients")
            #expect(kserve.json["explanations"] as? NSArray == own.json["explanations"] as? NSArray)
        }
    }

    @Test func explainUsesTheModelsDefaultMethod() async throws {
        try await TestApplication().test { client in
            let expected = try await client.post(
                "/v1/models/iris_mlp/explain", json: #"{"method":"integrated_gradients","inputs":\#(flowers)}"#)
            let response = try await client.post("/v1/models/iris_mlp:explain", json: #"{"instances":\#(flowers)}"#)
            #expect(response.status == .ok, "\(response.text)")
            #expect(response.json["method"] as? String == "integrated_gradients")
            #expect(response.json["explanations"] as? NSArray == expected.json["explanations"] as? NSArray)
        }
        let application = try TestApplication()
        let sidecar = application.modelsDirectory.appendingPathComponent("iris_mlp.yaml")
        let text = try String(contentsOf: sidecar, encoding: .utf8) + "\ndefault_method: saliency\ndefault_params: {abs: false}\n"
        try text.write(to: sidecar, atomically: true, encoding: .utf8)
        try await application.test { client in
            let expected = try await client.post(
                "/v1/models/iris_mlp/explain", json: #"{"method":"saliency","inputs":\#(flowers),"params":{"abs":false}}"#)
            let response = try await client.post("/v1/models/iris_mlp:explain", json: #"{"instances":\#(flowers)}"#)
            #expect(response.status == .ok, "\(response.text)")
            #expect(response.json["params"] as? NSDictionary == ["abs": false] as NSDictionary)
            #expect(response.json["explanations"] as? NSArray == expected.json["explanations"] as? NSArray)
        }
    }

    @Test func mistakesAreProblems() async throws {
        try await TestApplication().test { client in
            for (uri, body, status) in [
                ("/v1/models/iris_mlp:predict", #"{"inputs":[[1,2,3,4]]}"#, 400), ("/v1/models/iris_mlp:predict", #"{}"#, 400),
                ("/v1/models/nope:predict", #"{"instances":[[1,2,3,4]]}"#, 404),
                ("/v1/models/iris_mlp:explain", #"{"instances":[[1,2,3]]}"#, 400),
            ] {
                let response = try await client.post(uri, json: body)
                #expect(response.status.code == status, "\(uri) \(body): \(response.text)")
                #expect(response.isProblem)
            }
            #expect(try await client.get("/v1/models/iris_mlp:predict").status == .methodNotAllowed)
            // The model route itself is untouched by the verbs beside it.
            #expect(try await client.get("/v1/models/iris_mlp").status == .ok)
        }
    }
}
