import CandorServer
import CandorTestSupport
import Foundation
import HTTPTypes
import HummingbirdTesting
import NIOCore
import Testing

/// Uploads are written to the staging directory as they arrive: a large model is served, one
/// over `models.max_model_bytes` is a 413, and a malformed multipart body is a 400 — each
/// leaving no staging directory behind.
@Suite struct UploadReceiverTests {
    static let admin = HTTPFields([HTTPField(name: .authorization, value: "Bearer s3cret")])

    /// A linear model of `inputs` × 4 weights (4 bytes each), its weights inside the file.
    static func linearModel(inputs: Int) throws -> Data {
        try GraphFactory.linearModel(
            weights: (0..<inputs).map { row in (0..<4).map { Float(row % 7 + $0) / 100 } }, bias: [0.5, 0, 0, 0])
    }

    static func leftovers(_ application: TestApplication) throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: application.modelsDirectory.path).filter { $0.hasPrefix(".upload-") }
    }

    @Test func aLargeMultipartUploadIsServed() async throws {
        let application = try TestApplication {
            $0.admin.token = "s3cret"
            $0.models.maxModelBytes = 8 << 20
        }
        let model = try Self.linearModel(inputs: 1 << 18)  // 4 MiB of weights
        var headers = Self.admin
        headers[.contentType] = "multipart/form-data; boundary=B"
        let body = multipartBody([(#"name="model"; filename="big.onnx""#, model), (#"name="name""#, Data("big".utf8))])
        let fixedHeaders = headers
        try await application.test { client in
            let created = try await client.execute(uri: "/v1/models", method: .post, headers: fixedHeaders, body: body)
            #expect(created.status == .created, "\(created.text)")
            let description = try await client.get("/v1/models/big").json
            let input = (description["inputs"] as? [[String: Any]])?.first
            #expect((input?["shape"] as? [Any])?.last as? Int == 1 << 18)
            #expect(try Data(contentsOf: application.uploadedFile("big", "big.onnx")) == model)
            #expect(try Self.leftovers(application).isEmpty)
        }
    }

    @Test(arguments: [false, true])
    func anUploadOverTheLimitIs413AndLeavesNothing(multipart: Bool) async throws {
        let application = try TestApplication {
            $0.admin.token = "s3cret"
            $0.models.maxModelBytes = 1 << 20
        }
        let model = try Self.linearModel(inputs: 1 << 17)  // 2 MiB
        var headers = Self.admin
        headers[.contentType] = multipart ? "multipart/form-data; boundary=B" : "application/octet-stream"
        let body = multipart ? multipartBody([(#"name="model"; filename="m.onnx""#, model)]) : ByteBuffer(bytes: model)
        let fixedHeaders = headers
        try await application.test { client in
            let refused = try await client.execute(uri: "/v1/models?name=big", method: .post, headers: fixedHeaders, body: body)
            #expect(refused.status == .contentTooLarge)
            #expect(refused.problemCode == "body-too-large")
            #expect(try await client.get("/v1/models/big").status == .notFound)
            #expect(try Self.leftovers(application).isEmpty)
            #expect(!FileManager.default.fileExists(atPath: application.versionsDirectory.path))
        }
    }

    /// A boundary MultipartKit cannot take (empty), a body cut inside a part, and external
    /// files whose locations cannot all exist ('a' and 'a/b') are 400s.
    @Test func aMalformedMultipartBodyIsRefused() async throws {
        let application = try TestApplication { $0.admin.token = "s3cret" }
        let model = try Data(contentsOf: Fixtures.url("models/mlp_torchscript.onnx"))
        var truncated = multipartBody([(#"name="name""#, Data("cut".utf8)), (#"name="model"; filename="m.onnx""#, model)])
        truncated.moveWriterIndex(to: truncated.writerIndex - 40)
        let clashing = multipartBody([
            (#"name="name""#, Data("clash".utf8)), (#"name="model"; filename="m.onnx""#, model),
            (#"name="external_data"; filename="a""#, Data("1".utf8)), (#"name="external_data"; filename="a/b""#, Data("2".utf8)),
        ])
        let cases: [(String, ByteBuffer)] = [
            ("multipart/form-data; boundary=", multipartBody([(#"name="model""#, model)])),
            ("multipart/form-data; boundary=B", truncated),
            ("multipart/form-data; boundary=B", clashing),
        ]
        try await application.test { client in
            for (contentType, body) in cases {
                var headers = Self.admin
                headers[.contentType] = contentType
                let refused = try await client.execute(uri: "/v1/models", method: .post, headers: headers, body: body)
                #expect(refused.status == .badRequest, "\(contentType): \(refused.text)")
                #expect(refused.isProblem)
            }
            #expect(try Self.leftovers(application).isEmpty)
        }
    }
}
