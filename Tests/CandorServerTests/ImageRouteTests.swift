import CandorImage
import CandorServer
import Foundation
import HTTPTypes
import HummingbirdTesting
import NIOCore
import Testing

/// Pictures in (`{"image": ...}`, multipart forms) and pictures out (`render`, `Accept: image/png`).
@Suite struct ImageRouteTests {
    /// A 32×32 RGB picture of a filled white circle on black, like the shapes demo's.
    static let circle: RasterImage = {
        var pixels: [UInt8] = []
        for y in 0..<32 {
            for x in 0..<32 {
                let inside = (Double(x) - 15.5) * (Double(x) - 15.5) + (Double(y) - 15.5) * (Double(y) - 15.5) < 100
                pixels += inside ? [230, 40, 40] : [0, 0, 0]
            }
        }
        return RasterImage(width: 32, height: 32, channels: 3, pixels: pixels)
    }()

    static var circlePNG: String { get throws { Data(try PNGEncoder.encode(circle)).base64EncodedString() } }

    /// The same picture as the nested [3, 32, 32] array of pixels / 255 the model takes.
    static var circleArray: String {
        let planes = (0..<3).map { channel in
            (0..<32).map { y in
                "[" + (0..<32).map { x in "\(Float(circle.pixels[(y * 32 + x) * 3 + channel]) / 255)" }.joined(separator: ",") + "]"
            }.joined(separator: ",")
        }
        return "[" + planes.map { "[\($0)]" }.joined(separator: ",") + "]"
    }

    @Test func aPNGInstancePredictsAsItsPixelsScaledToOne() async throws {
        try await TestApplication().test { client in
            let picture = try await client.post(
                "/v1/models/shapes_cnn/predict", json: #"{"inputs":[{"image":"\#(try Self.circlePNG)"}]}"#)
            let numbers = try await client.post("/v1/models/shapes_cnn/predict", json: #"{"inputs":[\#(Self.circleArray)]}"#)
            #expect(picture.status == .ok, "\(picture.text)")
            #expect(picture.json["outputs"] as? NSDictionary == numbers.json["outputs"] as? NSDictionary)
            let probabilities = try #require((picture.json["outputs"] as? [String: [[Double]]])?["probabilities"]?.first)
            #expect(probabilities.firstIndex(of: probabilities.max() ?? 0) == 0)  // circle
        }
    }

    @Test func aLargerPictureIsResizedToTheInput() async throws {
        try await TestApplication().test { client in
            let large = Self.circle.resizedBilinear(width: 96, height: 80)
            let png = Data(try PNGEncoder.encode(large)).base64EncodedString()
            let response = try await client.post(
                "/v1/models/shapes_cnn/predict", json: #"{"inputs":[{"image":"data:image/png;base64,\#(png)"}]}"#)
            #expect(response.status == .ok, "\(response.text)")
        }
    }

    @Test(arguments: [
        ("iVBORw0KGgo=", 400, "invalid-image"),  // a PNG signature and nothing else
        ("R0lGODlhAQABAAAAACw=", 400, "invalid-image"),  // GIF
        ("", 400, "invalid-image"),
    ])
    func brokenFilesAreRefusedByName(_ base64: String, status: Int, code: String) async throws {
        try await TestApplication().test { client in
            let response = try await client.post("/v1/models/shapes_cnn/predict", json: #"{"inputs":[{"image":"\#(base64)"}]}"#)
            #expect(response.status.code == status, "\(response.text)")
            #expect(response.problemCode == code)
            #expect(response.text.contains("instance 0"))
        }
    }

    @Test func aPictureOverThePixelLimitIs413BeforeDecoding() async throws {
        try await TestApplication { $0.limits.maxImagePixels = 32 * 32 - 1 }.test { client in
            let response = try await client.post("/v1/models/shapes_cnn/predict", json: #"{"inputs":[{"image":"\#(try Self.circlePNG)"}]}"#)
            #expect(response.status == .contentTooLarge)
            #expect(response.problemCode == "image-too-large")
        }
    }

    @Test func aTabularModelRefusesPictures() async throws {
        try await TestApplication().test { client in
            let response = try await client.post("/v1/models/iris_mlp/predict", json: #"{"inputs":[{"image":"\#(try Self.circlePNG)"}]}"#)
            #expect(response.status == .badRequest)
            #expect(response.text.contains("does not take pictures"))
        }
    }

    @Test func renderAddsAPNGOfInputSizeToEachExplanation() async throws {
        try await TestApplication().test { client in
            let response = try await client.post(
                "/v1/models/shapes_cnn/explain",
                json: #"{"method":"saliency","inputs":[{"image":"\#(try Self.circlePNG)"}],"render":{"kind":"blended_heat_map"}}"#)
            #expect(response.status == .ok, "\(response.text)")
            let render = try #require(response.json["render"] as? [String: Any])
            #expect(render["sign"] as? String == "absolute_value")
            #expect(render["outlier_perc"] as? Double == 2)
            let image = try #require((response.json["explanations"] as? [[String: Any]])?.first?["image"] as? String)
            let prefix = "data:image/png;base64,"
            #expect(image.hasPrefix(prefix))
            let png = try #require(Data(base64Encoded: String(image.dropFirst(prefix.count))))
            let decoded = try ImageDecoder.decode(Array(png), maxPixels: 1 << 20)
            #expect(decoded.width == 32 && decoded.height == 32)
        }
    }

    @Test func acceptImagePNGAnswersWithThePictureItself() async throws {
        try await TestApplication().test { client in
            let body = #"{"method":"grad_cam","inputs":[{"image":"\#(try Self.circlePNG)"}],"render":{"sign":"positive"}}"#
            let response = try await client.execute(
                uri: "/v1/models/shapes_cnn/explain", method: .post, headers: [.contentType: "application/json", .accept: "image/png"],
                body: ByteBuffer(string: body))
            #expect(response.status == .ok, "\(response.text)")
            #expect(response.headers[.contentType] == "image/png")
            #expect(Array(response.body.readableBytesView.prefix(8)) == [137, 80, 78, 71, 13, 10, 26, 10])
        }
    }

    @Test func aTabularExplanationIsDrawnAsAnSVGBarChart() async throws {
        try await TestApplication().test { client in
            let response = try await client.execute(
                uri: "/v1/models/iris_mlp/explain", method: .post,
                headers: [.contentType: "application/json", .accept: "image/svg+xml"],
                body: ByteBuffer(string: #"{"method":"saliency","inputs":[[5.1,3.5,1.4,0.2]]}"#))
            #expect(response.status == .ok, "\(response.text)")
            #expect(response.headers[.contentType] == "image/svg+xml")
            #expect(response.text.contains("<svg") && response.text.contains("petal length (cm)"))

            let png = try await client.execute(
                uri: "/v1/models/iris_mlp/explain", method: .post, headers: [.contentType: "application/json", .accept: "image/png"],
                body: ByteBuffer(string: #"{"method":"saliency","inputs":[[5.1,3.5,1.4,0.2]]}"#))
            #expect(png.status == .notAcceptable)
        }
    }

    @Test(arguments: [
        (#"{"kind":"sparkles"}"#, "kind"), (#"{"kind":"masked_image","sign":"all"}"#, "sign"),
        (#"{"colormap":"nope"}"#, "colormap"), (#"{"outlier_perc":100}"#, "outlier"), (#"{"alpha_overlay":2}"#, "alpha"),
        (#"{"typo":1}"#, "typo"), (#""heat_map""#, "object"),
    ])
    func badRenderOptionsAreRefusedByName(_ render: String, mentioning word: String) async throws {
        try await TestApplication().test { client in
            let response = try await client.post(
                "/v1/models/shapes_cnn/explain",
                json: #"{"method":"saliency","inputs":[{"image":"\#(try Self.circlePNG)"}],"render":\#(render)}"#)
            #expect(response.status == .badRequest, "\(response.text)")
            #expect(response.problemCode == "invalid-render")
            #expect(response.text.lowercased().contains(word))
        }
    }

    @Test func aMultipartFormOfPicturesIsExplainedWhateverTheRequestPartIsNamed() async throws {
        try await TestApplication().test { client in
            let png = try PNGEncoder.encode(Self.circle)
            let boundary = "candor-test-boundary"
            var body = ByteBuffer()
            // `curl -F request=@req.json` names the request part's file; a file input left empty
            // sends an empty file part.
            body.writeString(
                "--\(boundary)\r\nContent-Disposition: form-data; name=\"request\"; filename=\"req.json\"\r\nContent-Type: application/json\r\n\r\n"
            )
            body.writeString(#"{"method":"saliency","target":"circle"}"#)
            body.writeString(
                "\r\n--\(boundary)\r\nContent-Disposition: form-data; name=\"image\"; filename=\"circle.png\"\r\nContent-Type: image/png\r\n\r\n"
            )
            body.writeBytes(png)
            body.writeString("\r\n--\(boundary)\r\nContent-Disposition: form-data; name=\"other\"; filename=\"\"\r\n\r\n")
            body.writeString("\r\n--\(boundary)--\r\n")
            let response = try await client.execute(
                uri: "/v1/models/shapes_cnn/explain", method: .post,
                headers: [.contentType: "multipart/form-data; boundary=\(boundary)"], body: body)
            #expect(response.status == .ok, "\(response.text)")
            #expect((response.json["explanations"] as? [[String: Any]])?.first?["target_name"] as? String == "circle")
        }
    }

    @Test func activationMaximizationShowsItsInputAsAPicture() async throws {
        try await TestApplication().test { client in
            let response = try await client.post(
                "/v1/models/shapes_cnn/analyses?wait=30",
                json: #"{"analysis":"activation_maximization","data":"model","target":"circle","params":{"steps":3}}"#)
            #expect(response.status == .ok || response.status == .created, "\(response.text)")
            let result = try #require(response.json["result"] as? [String: Any])
            let image = try #require(result["image"] as? String)
            let png = try #require(Data(base64Encoded: String(image.dropFirst("data:image/png;base64,".count))))
            let decoded = try ImageDecoder.decode(Array(png), maxPixels: 1 << 20)
            #expect(decoded.width == 32 && decoded.height == 32 && decoded.channels == 3)
        }
    }
}
