import CompressNIO
import HTTPTypes
import HummingbirdTesting
import NIOCore
import Testing

@testable import CandorServer

/// gzip on the way out, when the client accepts it.
@Suite struct ResponseCompressionTests {
    @Test func largeJSONIsGzippedWhenAccepted() async throws {
        try await TestApplication().test { client in
            let response = try await client.execute(uri: "/v1/methods", method: .get, headers: [.acceptEncoding: "br;q=1, gzip;q=0.8"])
            #expect(response.status == .ok)
            #expect(response.headers[.contentEncoding] == "gzip")
            #expect(response.headers[.vary] == "Accept-Encoding")
            var body = response.body
            let plain = try await client.get("/v1/methods")
            #expect(plain.headers[.contentEncoding] == nil)
            let inflated = try body.decompress(with: .gzip())
            #expect(inflated == plain.body)
            #expect(response.body.readableBytes * 3 < plain.body.readableBytes)
        }
    }

    @Test(arguments: ["gzip;q=0", "identity", "deflate, br", ""])
    func bodyIsSentAsItIsUnlessGzipIsAccepted(_ acceptEncoding: String) async throws {
        try await TestApplication().test { client in
            let response = try await client.execute(uri: "/v1/methods", method: .get, headers: [.acceptEncoding: acceptEncoding])
            #expect(response.status == .ok)
            #expect(response.headers[.contentEncoding] == nil)
        }
    }

    @Test func smallBodiesAreNotCompressed() async throws {
        try await TestApplication().test { client in
            let response = try await client.execute(uri: "/healthz", method: .get, headers: [.acceptEncoding: "gzip"])
            #expect(response.headers[.contentEncoding] == nil)
            #expect(response.text == #"{"status":"ok"}"#)
        }
    }

    @Test func acceptEncodingIsReadWithQualities() {
        #expect(ResponseCompressionMiddleware.acceptsGzip(["gzip"]))
        #expect(ResponseCompressionMiddleware.acceptsGzip(["deflate, x-gzip;q=0.5"]))
        #expect(ResponseCompressionMiddleware.acceptsGzip(["*"]))
        #expect(!ResponseCompressionMiddleware.acceptsGzip(["*;q=0"]))
        #expect(!ResponseCompressionMiddleware.acceptsGzip(["*, gzip;q=0"]))
        #expect(!ResponseCompressionMiddleware.acceptsGzip([]))
    }

    @Test func onlyTextTypesAreCompressible() {
        #expect(ResponseCompressionMiddleware.isCompressible("application/json"))
        #expect(ResponseCompressionMiddleware.isCompressible("application/problem+json"))
        #expect(ResponseCompressionMiddleware.isCompressible("text/html; charset=utf-8"))
        #expect(ResponseCompressionMiddleware.isCompressible("image/svg+xml"))
        #expect(!ResponseCompressionMiddleware.isCompressible("image/png"))
        #expect(!ResponseCompressionMiddleware.isCompressible("text/event-stream"))
        #expect(!ResponseCompressionMiddleware.isCompressible(nil))
    }
}
