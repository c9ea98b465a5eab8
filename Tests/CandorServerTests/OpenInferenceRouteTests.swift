import CandorServer
import Foundation
import HTTPTypes
import HummingbirdTesting
import NIOCore
import Testing

/// The Open Inference Protocol's routes answer as the protocol specifies, with the numbers
/// `predict` gives, in JSON and as binary data, and word their errors `{"error": "..."}`.
@Suite struct OpenInferenceRouteTests {
    let infer = "/v2/models/iris_mlp/infer"
    let flowers: [Float] = [5.1, 3.5, 1.4, 0.2, 6.7, 3.0, 5.2, 2.3]
    static let headerLength = HTTPField.Name("Inference-Header-Content-Length")!

    @Test func healthMetadataAndReadiness() async throws {
        try await TestApplication().test { client in
            let server = try await client.get("/v2")
            #expect(server.status == .ok)
            #expect(server.json["name"] as? String == "candor")
            #expect(server.json["extensions"] as? [String] == ["binary_tensor_data"])
            #expect(try await client.get("/v2/health/live").json["live"] as? Bool == true)
            #expect(try await client.get("/v2/health/ready").json["ready"] as? Bool == true)
            let ready = try await client.get("/v2/models/iris_mlp/ready")
            #expect(ready.json["name"] as? String == "iris_mlp" && ready.json["ready"] as? Bool == true)

            let metadata = try await client.get("/v2/models/iris_mlp")
            #expect(metadata.status == .ok)
            #expect(metadata.json["platform"] as? String == "onnx")
            let inputs = try #require(metadata.json["inputs"] as? [[String: Any]])
            #expect(inputs.count == 1 && inputs[0]["datatype"] as? String == "FP32" && inputs[0]["shape"] as? [Int] == [-1, 4])
            let outputs = try #require(metadata.json["outputs"] as? [[String: Any]])
            #expect(outputs.map { $0["name"] as? String } == ["logits", "probabilities"])
        }
    }

    /// JSON data, flat or nested, gives `predict`'s numbers flat and row-major, the id echoed.
    @Test func jsonInferenceGivesPredictsNumbers() async throws {
        try await TestApplication().test { client in
            let expected = try await client.post("/v1/models/iris_mlp/predict", json: #"{"inputs":[[5.1,3.5,1.4,0.2],[6.7,3.0,5.2,2.3]]}"#)
            let logits = try #require((expected.json["outputs"] as? [String: Any])?["logits"] as? [[Double]])
            for data in ["[5.1,3.5,1.4,0.2,6.7,3.0,5.2,2.3]", "[[5.1,3.5,1.4,0.2],[6.7,3.0,5.2,2.3]]"] {
                let response = try await client.post(
                    infer,
                    json:
                        #"{"id":"42","model_name":"iris_mlp","model_version":"1","inputs":[{"name":"features","shape":[2,4],"datatype":"FP32","data":\#(data)}],"outputs":[{"name":"logits"}]}"#
                )
                #expect(response.status == .ok, "\(response.text)")
                #expect(response.json["id"] as? String == "42" && response.json["model_name"] as? String == "iris_mlp")
                let outputs = try #require(response.json["outputs"] as? [[String: Any]])
                #expect(outputs.count == 1)
                #expect(outputs[0]["name"] as? String == "logits" && outputs[0]["datatype"] as? String == "FP32")
                #expect(outputs[0]["shape"] as? [Int] == [2, 3])
                #expect(outputs[0]["data"] as? [Double] == logits.flatMap { $0 })
            }
        }
    }

    /// Binary inputs (float32 and float64) and binary outputs, with the header giving the
    /// JSON's length both ways, carry the same numbers as JSON.
    @Test func binaryDataExtensionCarriesTheSameNumbers() async throws {
        try await TestApplication().test { client in
            let json = try await client.post(
                infer, json: #"{"inputs":[{"name":"features","shape":[2,4],"datatype":"FP32","data":[5.1,3.5,1.4,0.2,6.7,3.0,5.2,2.3]}]}"#)
            let expected = try #require((json.json["outputs"] as? [[String: Any]])?.first?["data"] as? [Double]).map(Float.init)
            for datatype in ["FP32", "FP64"] {
                var raw: [UInt8] = []
                for value in flowers {
                    if datatype == "FP32" {
                        withUnsafeBytes(of: value.bitPattern.littleEndian) { raw.append(contentsOf: $0) }
                    } else {
                        withUnsafeBytes(of: Double(value).bitPattern.littleEndian) { raw.append(contentsOf: $0) }
                    }
                }
                let header = Array(
                    #"{"parameters":{"binary_data_output":true},"inputs":[{"name":"features","shape":[2,4],"datatype":"\#(datatype)","parameters":{"binary_data_size":\#(raw.count)}}],"outputs":[{"name":"logits"},{"name":"probabilities","parameters":{"binary_data":false}}]}"#
                        .utf8)
                let response = try await client.execute(
                    uri: infer, method: .post,
                    headers: [.contentType: "application/octet-stream", Self.headerLength: String(header.count)],
                    body: ByteBuffer(bytes: header + raw))
                #expect(response.status == .ok, "\(String(buffer: response.body))")
                #expect(response.headers[.contentType] == "application/octet-stream")
                let length = try #require(response.headers[Self.headerLength].flatMap { Int($0) })
                let body = Array(response.body.readableBytesView)
                let answer = try #require(try JSONSerialization.jsonObject(with: Data(body[..<length])) as? [String: Any])
                let outputs = try #require(answer["outputs"] as? [[String: Any]])
                #expect((outputs[0]["parameters"] as? [String: Int])?["binary_data_size"] == 24)
                #expect(outputs[0]["data"] == nil && outputs[1]["data"] != nil)
                let logits = body[length...].withUnsafeBytes { raw in
                    (0..<6).map { Float(bitPattern: UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: 4 * $0, as: UInt32.self))) }
                }
                #expect(logits == expected, "\(datatype)")
            }
        }
    }

    /// Mistakes get the protocol's `{"error": "..."}`, with the status Candor's routes give.
    @Test(arguments: [
        (#"{"inputs":[{"name":"features","shape":[2,4],"datatype":"FP32","data":[1,2,3]}]}"#, 400, "needs 8"),
        (#"{"inputs":[{"name":"petals","shape":[1,4],"datatype":"FP32","data":[1,2,3,4]}]}"#, 400, "features"),
        (#"{"inputs":[{"name":"features","shape":[1,4],"datatype":"BYTES","data":["a","b","c","d"]}]}"#, 400, "BYTES"),
        (#"{"inputs":[{"name":"features","shape":[1,5],"datatype":"FP32","data":[1,2,3,4,5]}]}"#, 400, "shape [4]"),
        (#"{"inputs":[{"name":"features","shape":[1,4],"datatype":"FP32","parameters":{"binary_data_size":16}}]}"#, 400, "16 bytes"),
        (#"{"inputs":[{"name":"features","shape":[1,4],"datatype":"FP32","data":[1,2,3,4]}],"outputs":[{"name":"x"}]}"#, 400, "outputs"),
        (#"{"inputs":[]}"#, 400, "lacks model input"),
        (#"{"inputs":[{"name":"features","shape":[1,4],"datatype":"FP32","data":[1,2,3,4]}],"extra":1}"#, 400, "extra"),
        (
            #"{"model_name":"credit_mlp","inputs":[{"name":"features","shape":[1,4],"datatype":"FP32","data":[1,2,3,4]}]}"#, 400,
            "credit_mlp"
        ),
        (#"{"model_version":1,"inputs":[{"name":"features","shape":[1,4],"datatype":"FP32","data":[1,2,3,4]}]}"#, 400, "model_version"),
        ("not json", 400, "JSON"),
    ])
    func mistakesAreWordedAsTheProtocolHasThem(body: String, status: Int, mentions: String) async throws {
        try await TestApplication().test { client in
            let response = try await client.post(infer, json: body)
            #expect(response.status.code == status)
            #expect(response.headers[.contentType] == "application/json")
            let error = try #require(response.json["error"] as? String)
            #expect(error.contains(mentions), "\(error)")
            #expect(response.json.count == 1)
        }
    }

    @Test func unknownModelsRoutesAndMethodsAreProtocolErrors() async throws {
        try await TestApplication().test { client in
            for (response, status) in [
                (try await client.get("/v2/models/nope"), 404), (try await client.get("/v2/models/nope/ready"), 404),
                (try await client.get("/v2/nowhere"), 404), (try await client.get(infer), 405),
            ] {
                #expect(response.status.code == status)
                #expect(response.json["error"] is String, "\(response.text)")
            }
        }
    }
}
