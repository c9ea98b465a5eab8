import CandorServer
import CandorTestSupport
import Foundation
import HTTPTypes
import HummingbirdTesting
import Testing

@Suite struct PageRouteTests {
    @Test(arguments: ["/", "/ui"])
    func thePageIsServedWithAStrictPolicy(path: String) async throws {
        try await TestApplication().test { client in
            let page = try await client.execute(uri: path, method: .get, headers: [.accept: "text/html,*/*;q=0.8"])
            #expect(page.status == .ok)
            #expect(page.headers[.contentType] == "text/html; charset=utf-8")
            #expect(page.headers[.cacheControl] == "no-cache")
            let policy = try #require(page.headers[.contentSecurityPolicy])
            #expect(policy.contains("default-src 'self'"))
            #expect(policy.contains("img-src 'self' data:"))
            #expect(!policy.contains("unsafe-inline") && !policy.contains("unsafe-eval"))
            #expect(page.text.hasPrefix("<!doctype html>"))
            #expect(page.text.contains(#"<script src="/ui/app.js" defer></script>"#))
            #expect(page.text.components(separatedBy: "<script").count == 2, "the page has no inline script")
            #expect(!page.text.contains("style="), "the page has no inline style")
        }
    }

    /// KServe's V1 liveness check reads `GET /`; browsers name HTML, so they get the page.
    @Test func theRootAnswersLivenessToClientsThatDoNotAskForHTML() async throws {
        try await TestApplication().test { client in
            for accept in ["*/*", "application/json", "text/html;q=0"] {
                let response = try await client.execute(uri: "/", method: .get, headers: [.accept: accept])
                #expect(response.headers[.contentType] == "application/json", "\(accept)")
                #expect(response.json["status"] as? String == "alive")
            }
            #expect(try await client.get("/").json["status"] as? String == "alive")
        }
    }

    @Test func theScriptAndStyleSheetAreServedAndLoadNothingFromElsewhere() async throws {
        try await TestApplication().test { client in
            let html = try await client.get("/ui").text
            let script = try await client.get("/ui/app.js")
            #expect(script.status == .ok)
            #expect(script.headers[.contentType] == "text/javascript; charset=utf-8")
            #expect(script.headers[.contentSecurityPolicy] != nil)
            #expect(script.text.contains("/v1/models"))
            let style = try await client.get("/ui/app.css")
            #expect(style.headers[.contentType] == "text/css; charset=utf-8")
            #expect(style.text.contains(":focus-visible"))
            for (name, text) in [("page", html), ("script", script.text), ("style sheet", style.text)] {
                #expect(!text.contains("http://") && !text.contains("https://"), "the \(name) names no other origin")
            }
            #expect(!style.text.contains("@import") && !style.text.contains("url("), "the style sheet loads nothing more")
        }
    }

    @Test func aTabularModelIsDescribedWithItsFirstBackgroundRowAndItsRanges() async throws {
        let file = Fixtures.repository.appendingPathComponent("models/credit_mlp.background.json")
        let rows = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: file)) as? [[Double]])
        try await TestApplication().test { client in
            let credit = try await client.get("/v1/models/credit_mlp").json
            let example = try #require(credit["example"] as? [Double])
            #expect(example.map { Float($0) } == rows[0].map { Float($0) })
            let ranges = try #require(credit["feature_ranges"] as? [[Double]])
            #expect(ranges.count == 8)
            for (feature, range) in ranges.enumerated() {
                let column = rows.map { Float($0[feature]) }
                #expect(range.map { Float($0) } == [column.min(), column.max()], "feature \(feature)")
            }
            // An instance of the example is accepted as it is.
            let body = try JSONSerialization.data(withJSONObject: ["inputs": [example]])
            #expect(try await client.post("/v1/models/credit_mlp/predict", json: String(decoding: body, as: UTF8.self)).status == .ok)

            let list = try await client.get("/v1/models").json
            let summaries = try #require(list["models"] as? [[String: Any]])
            #expect(summaries.allSatisfy { $0["example"] == nil && $0["feature_ranges"] == nil }, "the list stays short")
        }
    }

    @Test func anImageModelIsDescribedWithAnExampleImageAndNoRanges() async throws {
        try await TestApplication().test { client in
            let cnn = try await client.get("/v1/models/shapes_cnn").json
            let example = try #require(cnn["example"] as? [[[Double]]])
            #expect(example.count == 3 && example.allSatisfy { $0.count == 32 && $0.allSatisfy { $0.count == 32 } })
            #expect(cnn["feature_ranges"] == nil)
        }
    }
}
