import CandorServer
import CandorTensor
import CandorTestSupport
import Foundation
import HTTPTypes
import HummingbirdTesting
import Testing

@Suite struct ExplainRouteTests {
    let iris = "/v1/models/iris_mlp/explain"

    @Test func predictReturnsEveryOutputPerInstance() async throws {
        try await TestApplication().test { client in
            let response = try await client.post("/v1/models/iris_mlp/predict", json: #"{"inputs":[[5.1,3.5,1.4,0.2],[6.7,3.0,5.2,2.3]]}"#)
            #expect(response.status == .ok)
            let outputs = try #require(response.json["outputs"] as? [String: [[Double]]])
            #expect(outputs["logits"]?.count == 2)
            let probabilities = try #require(outputs["probabilities"])
            #expect(probabilities.allSatisfy { abs($0.reduce(0, +) - 1) < 1e-5 })
            #expect(probabilities[0].firstIndex(of: probabilities[0].max()!) == 0)  // setosa
            #expect(probabilities[1].firstIndex(of: probabilities[1].max()!) == 2)  // virginica
        }
    }

    @Test(arguments: [
        ("saliency", "{}"), ("input_x_gradient", "{}"), ("integrated_gradients", "{}"), ("feature_ablation", "{}"),
        ("occlusion", #"{"sliding_window_shapes":[2]}"#), ("exact_shapley", #"{"feature_mask":MASK}"#),
        ("shapley_value_sampling", #"{"n_samples":5}"#), ("kernel_shap", #"{"feature_mask":MASK}"#),
        ("lime", #"{"n_samples":500}"#), ("rise", #"{"n_masks":100}"#), ("anchors", "{}"),
    ])
    func everyMethodExplainsTheDemoModels(_ method: String, params: String) async throws {
        try await TestApplication().test { client in
            for (model, width) in [("iris_mlp", 4), ("breast_cancer_mlp", 30)] {
                let instance = "[" + (0..<width).map { _ in "1.5" }.joined(separator: ",") + "]"
                // Feature groups of three neighbouring features (30 features would be 2³⁰ coalitions).
                let mask = "[" + (0..<width).map { String($0 / 3) }.joined(separator: ",") + "]"
                let parameters = params.replacingOccurrences(of: "MASK", with: mask)
                let response = try await client.post(
                    "/v1/models/\(model)/explain", json: #"{"method":"\#(method)","inputs":[\#(instance)],"params":\#(parameters)}"#)
                #expect(response.status == .ok, "\(model): \(response.text)")
                let explanation = try #require((response.json["explanations"] as? [[String: Any]])?.first)
                #expect((explanation["attributions"] as? [Double])?.count == width)
                #expect(explanation["target_name"] is String)
                #expect((response.json["model"] as? [String: Any])?["sha256"] is String)
            }
        }
    }

    @Test func integratedGradientsReportParametersAndConvergenceDelta() async throws {
        try await TestApplication().test { client in
            let response = try await client.post(
                iris, json: #"{"method":"integrated_gradients","inputs":[[5.1,3.5,1.4,0.2]],"target":"setosa","params":{"n_steps":64}}"#)
            #expect(response.status == .ok)
            let params = try #require(response.json["params"] as? [String: Any])
            #expect(params["n_steps"] as? Int == 64)
            #expect(params["integration"] as? String == "gausslegendre")
            let explanation = try #require((response.json["explanations"] as? [[String: Any]])?.first)
            #expect(explanation["target"] as? Int == 0)
            // convergence_delta = Σ attributions − (f(x) − f(baseline)) for the target.
            let atBaseline = try await client.post("/v1/models/iris_mlp/predict", json: #"{"inputs":[[0,0,0,0]]}"#)
            let baselineLogit = try #require((atBaseline.json["outputs"] as? [String: [[Double]]])?["logits"]?[0][0])
            let logit = try #require((explanation["output"] as? [Double])?[0])
            let total = try #require(explanation["attributions"] as? [Double]).reduce(0, +)
            let delta = try #require(explanation["convergence_delta"] as? Double)
            #expect(abs(delta - (total - (logit - baselineLogit))) < 1e-3)
        }
    }

    /// A sampling method answers each attribution's standard error, shaped like the
    /// attributions; a deterministic method answers none.
    @Test func samplingMethodsAnswerStandardErrorsAndDeterministicOnesDoNot() async throws {
        try await TestApplication().test { client in
            let sampled = try await client.post(
                iris, json: #"{"method":"shapley_value_sampling","inputs":[[5.1,3.5,1.4,0.2]],"params":{"n_samples":20}}"#)
            #expect(sampled.status == .ok, "\(sampled.text)")
            let explanation = try #require((sampled.json["explanations"] as? [[String: Any]])?.first)
            let errors = try #require(explanation["attributions_stderr"] as? [Double])
            #expect(errors.count == 4 && errors.allSatisfy { $0 >= 0 } && errors.contains { $0 > 0 }, "\(errors)")
            let exact = try await client.post(iris, json: #"{"method":"integrated_gradients","inputs":[[5.1,3.5,1.4,0.2]]}"#)
            #expect(exact.status == .ok)
            let deterministic = try #require((exact.json["explanations"] as? [[String: Any]])?.first)
            #expect(deterministic["attributions"] != nil && deterministic["attributions_stderr"] == nil)
        }
    }

    @Test func instancesMayBeKeyedByFeatureName() async throws {
        try await TestApplication().test { client in
            let named = try await client.post(
                iris,
                json:
                    #"{"method":"saliency","inputs":[{"sepal length (cm)":5.1,"sepal width (cm)":3.5,"petal length (cm)":1.4,"petal width (cm)":0.2}]}"#
            )
            let plain = try await client.post(iris, json: #"{"method":"saliency","inputs":[[5.1,3.5,1.4,0.2]]}"#)
            #expect(named.status == .ok)
            let a = (named.json["explanations"] as? [[String: Any]])?.first?["attributions"] as? [Double]
            let b = (plain.json["explanations"] as? [[String: Any]])?.first?["attributions"] as? [Double]
            #expect(a != nil && a == b)
        }
    }

    @Test func repeatedRequestsHitTheCacheUnlessNoCacheIsAsked() async throws {
        try await TestApplication().test { client in
            let body = #"{"method":"integrated_gradients","inputs":[[5.1,3.5,1.4,0.2]]}"#
            let cacheHeader = HTTPField.Name("X-Cache")!
            let first = try await client.post(iris, json: body)
            let second = try await client.post(iris, json: body)
            let bypass = try await client.post(iris, json: body, headers: [.cacheControl: "no-cache"])
            #expect(first.headers[cacheHeader] == "miss")
            #expect(second.headers[cacheHeader] == "hit")
            #expect(bypass.headers[cacheHeader] == "miss")
            #expect(first.text == second.text && second.text == bypass.text)
        }
    }

    /// Every client mistake is a 4xx problem+json whose detail names what was wrong.
    @Test(arguments: [
        (#"{"method":"saliency","inputs":[[1,2,3,4]"#, 400, "malformed-json", "not valid JSON"),
        (#"[1,2]"#, 400, "malformed-json", "must be a JSON object"),
        (#"{"method":"shapley_magic","inputs":[[1,2,3,4]]}"#, 400, "unknown-method", "integrated_gradients"),
        (#"{"method":"saliency","inputs":[[1,2,3,4]],"params":{"absolute":true}}"#, 400, "invalid-parameter", "'absolute'"),
        (#"{"method":"integrated_gradients","inputs":[[1,2,3,4]],"params":{"n_steps":-3}}"#, 400, "invalid-parameter", "at least 1"),
        (#"{"method":"saliency","inputs":[[1,2,3]]}"#, 400, "invalid-input", "[4]"),
        (#"{"method":"saliency","inputs":[[1,2,3,"x"]]}"#, 400, "invalid-input", "only numbers"),
        (#"{"method":"saliency","inputs":[[1,2,3,1e39]]}"#, 400, "invalid-input", "finite"),
        (#"{"method":"saliency","inputs":[]}"#, 400, "invalid-input", "empty"),
        (#"{"method":"saliency","inputs":[5.1,3.5,1.4,0.2]}"#, 400, "invalid-input", "must be a batch"),
        (#"{"method":"saliency","inputs":[[[1,2,3,4]]]}"#, 400, "invalid-input", "[4]"),
        (#"{"method":"saliency","inputs":[[1,2,3,4]],"target":3}"#, 400, "invalid-target", "out of range"),
        (#"{"method":"saliency","inputs":[[1,2,3,4]],"target":"daisy"}"#, 400, "invalid-target", "setosa"),
        (#"{"method":"saliency","inputs":[[1,2,3,4]],"output":"hidden"}"#, 400, "unknown-output", "logits"),
        (#"{"method":"saliency","inputs":[[1,2,3,4]],"parmas":{}}"#, 400, "unknown-field", "'parmas'"),
    ])
    func badRequestsAreExplainedProblems(body: String, status: Int, code: String, detail: String) async throws {
        try await TestApplication().test { client in
            let response = try await client.post(iris, json: body)
            #expect(response.status.code == status, "\(response.text)")
            #expect(response.isProblem)
            #expect(response.problemCode == code)
            #expect((response.json["detail"] as? String)?.contains(detail) == true, "detail: \(response.json["detail"] ?? "none")")
        }
    }

    /// Inputs at the edge of float32 overflow inside the model: the answer is a 422 that says
    /// so, never a 500 from encoding NaN.
    @Test(arguments: ["saliency", "input_x_gradient", "integrated_gradients"])
    func anOverflowingModelIsA422(_ method: String) async throws {
        try await TestApplication().test { client in
            let response = try await client.post(iris, json: #"{"method":"\#(method)","inputs":[[3e38,3e38,3e38,3e38]]}"#)
            #expect(response.status == .unprocessableContent, "\(response.text)")
            #expect(response.problemCode == "non-finite-result")
        }
    }

    @Test func anUnknownModelIs404() async throws {
        try await TestApplication().test { client in
            let response = try await client.post("/v1/models/nope/explain", json: #"{"method":"saliency","inputs":[[1]]}"#)
            #expect(response.status == .notFound)
            #expect(response.problemCode == "unknown-model")
        }
    }

    @Test func anOversizedBodyIs413() async throws {
        try await TestApplication { $0.server.maxBodyBytes = 4096 }.test { client in
            let huge = #"{"method":"saliency","inputs":["# + Array(repeating: "[1,2,3,4]", count: 1000).joined(separator: ",") + "]}"
            let response = try await client.post(iris, json: huge)
            #expect(response.status == .contentTooLarge)
            #expect(response.isProblem)
        }
    }

    /// A request whose computation would pass a per-request work or memory budget is refused
    /// as too large (413), like a body or batch over its limit, not as a wrong parameter.
    @Test func aComputationOverItsBudgetIs413() async throws {
        try await TestApplication().test { client in
            let instance = "[" + Array(repeating: "1.5", count: 30).joined(separator: ",") + "]"
            let response = try await client.post(
                "/v1/models/breast_cancer_mlp/explain", json: #"{"method":"exact_shapley","inputs":[\#(instance)]}"#)
            #expect(response.status == .contentTooLarge, "\(response.text)")
            #expect(response.problemCode == "too-large")
        }
    }

    /// One field given twice could mean two different requests to two readers: a 400 naming it.
    @Test func aDuplicateFieldIs400NamingIt() async throws {
        try await TestApplication().test { client in
            let response = try await client.post(
                "/v1/models/iris_mlp/predict", json: #"{"inputs": [[1,2,3]], "inputs": [[5.1,3.5,1.4,0.2]]}"#)
            #expect(response.status == .badRequest)
            #expect(response.problemCode == "malformed-json")
            #expect((response.json["detail"] as? String)?.contains("duplicate key 'inputs'") == true, "\(response.text)")
        }
    }

    @Test func aGroupIdPastTheLimitIsNamedAsSuch() async throws {
        try await TestApplication().test { client in
            let response = try await client.post(
                iris, json: #"{"method":"feature_ablation","inputs":[[1,2,3,4]],"params":{"feature_mask":[0,1,2,10000000]}}"#)
            #expect(response.status == .badRequest)
            let detail = response.json["detail"] as? String ?? ""
            #expect(detail.contains("must be below 10000000") && !detail.contains("integers ≥ 0"), "\(detail)")
        }
    }

    @Test func tooManyInstancesAre413() async throws {
        try await TestApplication { $0.limits.maxBatchSize = 2 }.test { client in
            let response = try await client.post(iris, json: #"{"method":"saliency","inputs":[[1,2,3,4],[1,2,3,4],[1,2,3,4]]}"#)
            #expect(response.status == .contentTooLarge)
            #expect(response.problemCode == "batch-too-large")
        }
    }
}

/// A model with two inputs takes `inputs` as an object by input name and answers with
/// attributions by input name.
@Suite struct MultiInputTests {
    /// y = x·W₁ + z·W₂, saved as `two_inputs.onnx` in the test's models folder.
    func application() throws -> TestApplication {
        let application = try TestApplication()
        let bytes = try GraphFactory.model(
            nodes: [
                GraphFactory.node("MatMul", ["x", "W1"], ["a"]), GraphFactory.node("MatMul", ["z", "W2"], ["b"]),
                GraphFactory.node("Add", ["a", "b"], ["y"]),
            ],
            inputs: [GraphFactory.value("x", [nil, 2]), GraphFactory.value("z", [nil, 3])],
            outputs: [GraphFactory.value("y", [nil, 2])],
            initializers: [
                GraphFactory.initializer("W1", try Tensor(shape: [2, 2], scalars: [1, 2, 3, 4])),
                GraphFactory.initializer("W2", try Tensor(shape: [3, 2], scalars: [-1, 0, 0, 1, 2, 2])),
            ])
        try bytes.write(to: application.modelsDirectory.appendingPathComponent("two_inputs.onnx"))
        return application
    }

    @Test func predictionsAndAttributionsAreByInputName() async throws {
        try await application().test { client in
            let body = #"{"method":"input_x_gradient","inputs":{"x":[[1,1]],"z":[[1,2,3]]},"target":1}"#
            let response = try await client.post("/v1/models/two_inputs/explain", json: body)
            #expect(response.status == .ok, "\(response.text)")
            let explanation = try #require((response.json["explanations"] as? [[String: Any]])?.first)
            let attributions = try #require(explanation["attributions"] as? [String: [Double]])
            // ∂y₁/∂x = W₁[:,1] = [2, 4]; ∂y₁/∂z = W₂[:,1] = [0, 1, 2]; times the inputs.
            #expect(attributions["x"] == [2, 4])
            #expect(attributions["z"] == [0, 2, 6])
            #expect(explanation["output"] as? [Double] == [9, 14])

            let ablation = try await client.post(
                "/v1/models/two_inputs/explain", json: #"{"method":"feature_ablation","inputs":{"x":[[1,1]],"z":[[1,2,3]]},"target":1}"#)
            let ablated = try #require((ablation.json["explanations"] as? [[String: Any]])?.first?["attributions"] as? [String: [Double]])
            #expect(ablated == attributions)  // linear model: ablation equals input × gradient
        }
    }

    @Test func aMissingOrUnknownInputIsNamed() async throws {
        try await application().test { client in
            let missing = try await client.post("/v1/models/two_inputs/predict", json: #"{"inputs":{"x":[[1,1]]}}"#)
            #expect(missing.status == .badRequest)
            #expect((missing.json["detail"] as? String)?.contains("'z'") == true)
            let unbatched = try await client.post("/v1/models/two_inputs/predict", json: #"{"inputs":[[1,1]]}"#)
            #expect((unbatched.json["detail"] as? String)?.contains("object of instance arrays") == true)
            let uneven = try await client.post("/v1/models/two_inputs/predict", json: #"{"inputs":{"x":[[1,1]],"z":[[1,2,3],[4,5,6]]}}"#)
            #expect((uneven.json["detail"] as? String)?.contains("same number of instances") == true)
        }
    }
}

/// Requests and models found in review to reach traps; each must be a clear 4xx.
@Suite struct ReviewRegressionTests {
    @Test func aDeeplyNestedRaggedInputIsRefused() async throws {
        let nested = String(repeating: "[", count: 45) + "1" + String(repeating: ",0,0]", count: 45)
        try await TestApplication().test { client in
            let response = try await client.post("/v1/models/iris_mlp/explain", json: #"{"method":"saliency","inputs":\#(nested)}"#)
            #expect(response.status == .badRequest, "\(response.text)")
        }
    }

    @Test func anOutputWithoutTheBatchAxisIsRefusedAtLoad() async throws {
        let application = try TestApplication()
        let bytes = try GraphFactory.model(
            nodes: [GraphFactory.node("Flatten", ["x"], ["y"], attributes: [GraphFactory.intAttribute("axis", 0)])],
            inputs: [GraphFactory.value("x", [nil, 3])], outputs: [GraphFactory.value("y", [1, nil])])
        try bytes.write(to: application.modelsDirectory.appendingPathComponent("flat.onnx"))
        try await application.test { client in
            let list = try await client.get("/v1/models").json
            let refused = (list["refused"] as? [[String: Any]])?.first { $0["name"] as? String == "flat" }
            #expect((refused?["reason"] as? String)?.contains("batch axis") == true)
        }
    }

    /// Two names for the same bytes must not answer with each other's cached body.
    @Test func theCacheKeepsModelsWithEqualBytesApart() async throws {
        let application = try TestApplication()
        let directory = application.modelsDirectory
        try FileManager.default.copyItem(
            at: directory.appendingPathComponent("iris_mlp.onnx"), to: directory.appendingPathComponent("twin.onnx"))
        try await application.test { client in
            let body = #"{"method":"saliency","inputs":[[5.1,3.5,1.4,0.2]]}"#
            _ = try await client.post("/v1/models/iris_mlp/explain", json: body)
            let twin = try await client.post("/v1/models/twin/explain", json: body)
            #expect(twin.headers[HTTPField.Name("X-Cache")!] == "miss")
            #expect((twin.json["model"] as? [String: Any])?["name"] as? String == "twin")
            #expect((twin.json["explanations"] as? [[String: Any]])?.first?["target_name"] == nil)
        }
    }
}

extension ExplainRouteTests {
    @Test func featurePermutationNeedsABatch() async throws {
        try await TestApplication().test { client in
            let batch = #"{"method":"feature_permutation","inputs":[[5.1,3.5,1.4,0.2],[6.7,3.0,5.2,2.3],[5.9,3.0,4.2,1.5]]}"#
            let response = try await client.post(iris, json: batch)
            #expect(response.status == .ok, "\(response.text)")
            #expect((response.json["explanations"] as? [[String: Any]])?.count == 3)
            #expect((response.json["params"] as? [String: Any])?["seed"] as? Int == 0)
            let single = try await client.post(iris, json: #"{"method":"feature_permutation","inputs":[[5.1,3.5,1.4,0.2]]}"#)
            #expect(single.status == .badRequest)
            #expect((single.json["detail"] as? String)?.contains("at least two instances") == true)
        }
    }

    /// On the image demo model: slic's segments go straight back as the feature_mask of
    /// kernel_shap, and lime and kernel_shap (over their own superpixels) and rise explain the
    /// same image.
    @Test func imagesAreSegmentedAndExplainedOverTheirSuperpixels() async throws {
        let background = try Data(contentsOf: Fixtures.repository.appendingPathComponent("models/shapes_mlp.background.json"))
        let images = try #require(try JSONSerialization.jsonObject(with: background) as? [Any])
        let image = String(decoding: try JSONSerialization.data(withJSONObject: images[0]), as: UTF8.self)
        try await TestApplication().test { client in
            let url = "/v1/models/shapes_mlp/explain"
            let slic = try await client.post(url, json: #"{"method":"slic","inputs":[\#(image)],"params":{"n_segments":16}}"#)
            #expect(slic.status == .ok, "\(slic.text)")
            let segmented = try #require((slic.json["explanations"] as? [[String: Any]])?.first)
            let mask = try #require(segmented["attributions"] as? [[[Double]]])
            #expect(mask.count == 3 && mask[0].count == 32 && mask[0] == mask[2])
            let count = try #require(segmented["n_segments"] as? Int)
            #expect((4...32).contains(count))
            let maskJSON = String(decoding: try JSONSerialization.data(withJSONObject: mask), as: UTF8.self)
            let shap = try await client.post(
                url, json: #"{"method":"kernel_shap","inputs":[\#(image)],"params":{"feature_mask":\#(maskJSON),"n_samples":200}}"#)
            #expect(shap.status == .ok, "\(shap.text)")
            for body in [
                #"{"method":"lime","inputs":[\#(image)],"params":{"n_samples":300}}"#,
                #"{"method":"rise","inputs":[\#(image)],"params":{"n_masks":50}}"#,
                #"{"method":"kernel_shap","inputs":[\#(image)],"params":{"n_samples":100}}"#,
            ] {
                let response = try await client.post(url, json: body)
                #expect(response.status == .ok, "\(response.text)")
                #expect(((response.json["explanations"] as? [[String: Any]])?.first?["attributions"] as? [[[Double]]])?.count == 3)
            }
            let tabular = try await client.post("/v1/models/iris_mlp/explain", json: #"{"method":"slic","inputs":[[5.1,3.5,1.4,0.2]]}"#)
            #expect(tabular.status == .badRequest)
        }
    }
}
