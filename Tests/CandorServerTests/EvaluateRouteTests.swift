import CandorServer
import CandorTestSupport
import Foundation
import HTTPTypes
import HummingbirdTesting
import Testing

/// Quality metrics through HTTP: `evaluate` on explain requests, `POST …/evaluate` and
/// `GET /v1/evaluations`.
@Suite struct EvaluateRouteTests {
    let iris = "/v1/models/iris_mlp"

    @Test func theEvaluationsListingNamesEveryMetricWithItsParameters() async throws {
        try await TestApplication().test { client in
            let response = try await client.get("/v1/evaluations")
            #expect(response.status == .ok)
            let metrics = try #require(response.json["metrics"] as? [[String: Any]])
            #expect(
                metrics.compactMap { $0["name"] as? String } == [
                    "deletion", "insertion", "sparseness", "complexity", "completeness", "infidelity", "sensitivity_max",
                    "faithfulness_correlation", "randomization",
                ])
            let deletion = try #require(metrics.first)
            let parameters = try #require(deletion["parameters"] as? [[String: Any]])
            #expect(parameters.contains { $0["name"] as? String == "n_steps" && $0["default"] as? Int == 20 })
        }
    }

    /// The IG explanation's completeness is its own convergence delta (both Σφ − Δf), and the
    /// same request without `evaluate` carries no quality and is cached apart.
    @Test func anExplanationCarriesTheQualityItAskedFor() async throws {
        try await TestApplication().test { client in
            let request =
                #"{"method":"integrated_gradients","inputs":[[5.1,3.5,1.4,0.2]],"evaluate":["completeness","deletion"],"evaluate_params":{"deletion":{"n_steps":4}}}"#
            let response = try await client.post("\(iris)/explain", json: request)
            #expect(response.status == .ok, "\(response.text)")
            let explanation = try #require((response.json["explanations"] as? [[String: Any]])?.first)
            let quality = try #require(explanation["quality"] as? [String: [String: Any]])
            let completeness = try #require(quality["completeness"]?["value"] as? Double)
            let delta = try #require(explanation["convergence_delta"] as? Double)
            #expect(abs(completeness - delta) < 1e-4 * max(1, abs(delta)))
            #expect((quality["deletion"]?["curve"] as? [Double])?.count == 5)
            let echoed = try #require(response.json["evaluate_params"] as? [String: [String: Any]])
            #expect(echoed["deletion"]?["n_steps"] as? Int == 4)
            #expect(echoed["completeness"]?["baselines"] as? Double == 0)

            let plain = try await client.post("\(iris)/explain", json: #"{"method":"integrated_gradients","inputs":[[5.1,3.5,1.4,0.2]]}"#)
            #expect(plain.headers[HTTPField.Name("X-Cache")!] == "miss")
            let plainExplanation = try #require((plain.json["explanations"] as? [[String: Any]])?.first)
            #expect(plainExplanation["quality"] == nil)
            #expect(plain.json["evaluate_params"] == nil)

            // null is an omitted field: the same answer, from the cache.
            let nulls = try await client.post(
                "\(iris)/explain",
                json: #"{"method":"integrated_gradients","inputs":[[5.1,3.5,1.4,0.2]],"evaluate":null,"evaluate_params":null}"#)
            #expect(nulls.status == .ok, "\(nulls.text)")
            #expect(nulls.headers[HTTPField.Name("X-Cache")!] == "hit")
        }
    }

    @Test func attributionsFromElsewhereAreJudged() async throws {
        try await TestApplication().test { client in
            let request =
                #"{"inputs":[[5.1,3.5,1.4,0.2],[6.7,3.0,5.2,2.3]],"target":"setosa","attributions":[[0,0,3,0],[1,1,1,1]],"metrics":["sparseness","complexity"]}"#
            let response = try await client.post("\(iris)/evaluate", json: request)
            #expect(response.status == .ok, "\(response.text)")
            #expect(response.json["metrics"] as? [String] == ["sparseness", "complexity"])
            let evaluations = try #require(response.json["evaluations"] as? [[String: Any]])
            #expect(evaluations.map { $0["target_name"] as? String } == ["setosa", "setosa"])
            let sparseness = evaluations.compactMap {
                (($0["quality"] as? [String: Any])?["sparseness"] as? [String: Any])?["value"] as? Double
            }
            #expect(sparseness.count == 2 && abs(sparseness[0] - 0.75) < 1e-6 && abs(sparseness[1]) < 1e-6)
        }
    }

    /// Posts an explain request for the iris model: the response and its first explanation's
    /// figures for `metric`.
    func explainedQuality(
        _ client: any TestClientProtocol, _ request: String, metric: String
    ) async throws -> (TestResponse, [String: Any]) {
        let response = try await client.post("\(iris)/explain", json: request)
        #expect(response.status == .ok, "\(response.text)")
        let explanation = try #require((response.json["explanations"] as? [[String: Any]])?.first)
        return (response, try #require((explanation["quality"] as? [String: Any])?[metric] as? [String: Any]))
    }

    /// sensitivity_max explains perturbed copies with the request's method: saliency of the
    /// (piecewise-linear) MLP barely moves within a 0.001 ball.
    @Test func sensitivityReexplainsWithTheRequestsMethod() async throws {
        try await TestApplication().test { client in
            let request =
                #"{"method":"saliency","inputs":[[5.1,3.5,1.4,0.2]],"evaluate":["sensitivity_max"],"evaluate_params":{"sensitivity_max":{"perturb_radius":0.001}}}"#
            let (_, quality) = try await explainedQuality(client, request, metric: "sensitivity_max")
            let value = try #require(quality["value"] as? Double)
            #expect(value >= 0 && value < 0.05)
        }
    }

    /// randomization explains again on the model with its three Gemm layers re-drawn from the
    /// output down: one stage each, their mean the value.
    @Test func randomizationReportsEveryStage() async throws {
        try await TestApplication().test { client in
            let request =
                #"{"method":"saliency","inputs":[[5.1,3.5,1.4,0.2]],"evaluate":["randomization"],"evaluate_params":{"randomization":{"seed":3}}}"#
            let (response, randomization) = try await explainedQuality(client, request, metric: "randomization")
            let stages = try #require(randomization["stages"] as? [[String: Any]])
            #expect(stages.count == 3 && stages.allSatisfy { $0["layer"] is String })
            let correlations = stages.compactMap { $0["spearman"] as? Double }
            #expect(correlations.count == 3 && correlations.allSatisfy { abs($0) <= 1 })
            let value = try #require(randomization["value"] as? Double)
            #expect(abs(value - correlations.reduce(0, +) / 3) < 1e-12)
            let echoed = try #require((response.json["evaluate_params"] as? [String: [String: Any]])?["randomization"])
            #expect(echoed["seed"] as? Int == 3 && echoed["max_layers"] as? Int == 3)
        }
    }

    @Test func aMethodCanExplainAndBeJudgedInOneCall() async throws {
        try await TestApplication().test { client in
            let request =
                #"{"inputs":[[5.1,3.5,1.4,0.2]],"method":"integrated_gradients","method_params":{"n_steps":32},"metrics":["completeness"]}"#
            let response = try await client.post("\(iris)/evaluate", json: request)
            #expect(response.status == .ok, "\(response.text)")
            #expect(response.json["method"] as? String == "integrated_gradients")
            #expect((response.json["method_params"] as? [String: Any])?["n_steps"] as? Int == 32)
            let evaluation = try #require((response.json["evaluations"] as? [[String: Any]])?.first)
            let value = try #require(((evaluation["quality"] as? [String: Any])?["completeness"] as? [String: Any])?["value"] as? Double)
            #expect(abs(value) < 0.5)
        }
    }

    @Test(arguments: [
        ("explain", #"{"method":"saliency","inputs":[[1,2,3,4]],"evaluate":["sharpness"]}"#, "unknown-metric", "sharpness"),
        ("explain", #"{"method":"saliency","inputs":[[1,2,3,4]],"evaluate":[]}"#, "invalid-parameter", "non-empty"),
        ("explain", #"{"method":"saliency","inputs":[[1,2,3,4]],"evaluate":["deletion","deletion"]}"#, "invalid-parameter", "twice"),
        ("explain", #"{"method":"saliency","inputs":[[1,2,3,4]],"evaluate_params":{}}"#, "invalid-parameter", "without 'evaluate'"),
        (
            "explain", #"{"method":"saliency","inputs":[[1,2,3,4]],"evaluate":["deletion"],"evaluate_params":{"insertion":{}}}"#,
            "invalid-parameter", "'insertion'"
        ),
        (
            "explain", #"{"method":"saliency","inputs":[[1,2,3,4]],"evaluate":["deletion"],"evaluate_params":{"deletion":{"n_steps":0}}}"#,
            "invalid-parameter", "n_steps"
        ),
        ("evaluate", #"{"inputs":[[1,2,3,4]],"metrics":["sparseness"]}"#, "invalid-parameter", "'attributions'"),
        (
            "evaluate", #"{"inputs":[[1,2,3,4]],"attributions":[[1,2,3,4]],"method":"saliency","metrics":["sparseness"]}"#,
            "invalid-parameter", "not both"
        ),
        ("evaluate", #"{"inputs":[[1,2,3,4]],"attributions":[[1,2,3]],"metrics":["sparseness"]}"#, "invalid-input", "shaped like"),
        (
            "evaluate", #"{"inputs":[[1,2,3,4]],"attributions":[[1,2,3,4],[1,2,3,4]],"metrics":["sparseness"]}"#, "invalid-parameter",
            "one entry per instance"
        ),
        ("evaluate", #"{"inputs":[[1,2,3,4]],"attributions":[[1,2,3,4]],"metrics":"sparseness"}"#, "invalid-parameter", "'metrics'"),
        ("evaluate", #"{"inputs":[[1,2,3,4]],"method":"wisdom","metrics":["sparseness"]}"#, "unknown-method", "wisdom"),
        (
            "evaluate", #"{"inputs":[[1,2,3,4]],"attributions":[[1,2,3,4]],"metrics":["sensitivity_max"]}"#, "invalid-parameter",
            "give the 'method'"
        ),
        (
            "evaluate", #"{"inputs":[[1,2,3,4]],"attributions":[[1,2,3,4]],"metrics":["randomization"]}"#, "invalid-parameter",
            "give the 'method'"
        ),
        (
            "explain",
            #"{"method":"saliency","inputs":[[1,2,3,4]],"evaluate":["randomization"],"evaluate_params":{"randomization":{"max_layers":0}}}"#,
            "invalid-parameter", "max_layers"
        ),
        (
            "evaluate",
            #"{"inputs":[[1,2,3,4]],"attributions":[[1,2,3,4]],"metrics":["faithfulness_correlation"],"params":{"faithfulness_correlation":{"subset_size":4}}}"#,
            "invalid-parameter", "below the number of features"
        ),
    ])
    func badEvaluationRequestsAreExplainedProblems(route: String, body: String, code: String, detail: String) async throws {
        try await TestApplication().test { client in
            let response = try await client.post("\(iris)/\(route)", json: body)
            #expect(response.status == .badRequest, "\(response.text)")
            #expect(response.problemCode == code, "\(response.text)")
            #expect((response.json["detail"] as? String)?.contains(detail) == true, "detail: \(response.json["detail"] ?? "none")")
        }
    }
}
