import CandorExplain
import CandorServer
import Foundation
import HTTPTypes
import HummingbirdTesting
import Testing

@Suite struct ServiceRouteTests {
    @Test func livenessAndReadinessAnswer() async throws {
        try await TestApplication().test { client in
            let health = try await client.get("/healthz")
            #expect(health.status == .ok)
            let ready = try await client.get("/readyz")
            #expect(ready.status == .ok)
            #expect(ready.json["models"] as? Int == TestApplication.demoModels.count)
            #expect(ready.headers[.init("X-Request-Id")!] != nil)
        }
    }

    @Test func methodsListTheirParametersWithDefaults() async throws {
        try await TestApplication().test { client in
            let response = try await client.get("/v1/methods")
            let methods = try #require(response.json["methods"] as? [[String: Any]])
            #expect(
                methods.compactMap { $0["name"] as? String } == MethodCatalog.standard.names)
            let ig = try #require(methods.first { $0["name"] as? String == "integrated_gradients" })
            let parameters = try #require(ig["parameters"] as? [[String: Any]])
            let steps = try #require(parameters.first { $0["name"] as? String == "n_steps" })
            #expect(steps["default"] as? Int == 50)
            #expect(steps["minimum"] as? Int == 1)
            let scheme = try #require(parameters.first { $0["name"] as? String == "integration" })
            #expect((scheme["choices"] as? [String])?.contains("riemann_trapezoid") == true)
        }
    }

    @Test func metricsExposeRequestsCacheQueueAndModels() async throws {
        try await TestApplication().test { client in
            _ = try await client.get("/healthz")
            _ = try await client.post("/v1/models/iris_mlp/explain", json: #"{"method":"saliency","inputs":[[5.1,3.5,1.4,0.2]]}"#)
            let metrics = try await client.get("/metrics").text
            for name in [
                "candor_http_requests_total", "candor_http_request_duration_seconds_bucket", "candor_explain_duration_seconds",
                "candor_cache_misses_total", "candor_queue_depth", "candor_busy_workers", "candor_models_loaded",
            ] {
                #expect(metrics.contains(name), "\(name) missing from /metrics")
            }
            #expect(metrics.contains(#"route="/v1/models/{name}/explain""#))
            #expect(metrics.contains("candor_models_loaded \(TestApplication.demoModels.count)"))
        }
    }

    @Test func aClientRequestIdIsEchoedAndUnknownRoutesAreProblems() async throws {
        try await TestApplication().test { client in
            let response = try await client.execute(uri: "/nowhere", method: .get, headers: [.init("X-Request-Id")!: "abc-123"])
            #expect(response.status == .notFound)
            #expect(response.headers[.init("X-Request-Id")!] == "abc-123")
            #expect(response.isProblem)
            #expect(response.json["instance"] as? String == "urn:candor:request:abc-123")
        }
    }

    /// A path that exists but not for this method is a 405 naming the methods it takes; HEAD
    /// answers wherever GET does.
    @Test func aMethodAPathDoesNotTakeIs405WithAllow() async throws {
        try await TestApplication().test { client in
            let cases: [(String, HTTPRequest.Method, String)] = [
                ("/v1/models", .put, "GET, HEAD, POST"), ("/healthz", .patch, "GET, HEAD"),
                ("/v1/models/iris_mlp/explain", .get, "POST"), ("/v1/models/anything", .post, "GET, HEAD, DELETE"),
                ("/v1/models/iris_mlp:explain", .get, "POST"),
            ]
            for (path, method, allow) in cases {
                let response = try await client.execute(uri: path, method: method)
                #expect(response.status == .methodNotAllowed, "\(method) \(path)")
                #expect(response.headers[.allow] == allow, "\(method) \(path)")
                #expect(response.problemCode == "method-not-allowed")
            }
            #expect(try await client.execute(uri: "/healthz", method: .head).status == .ok)
            #expect(try await client.execute(uri: "/v1/nowhere", method: .put).status == .notFound)
        }
    }
}
