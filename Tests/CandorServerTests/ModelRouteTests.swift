import CandorExplain
import CandorServer
import CandorTestSupport
import Foundation
import HTTPTypes
import HummingbirdTesting
import NIOCore
import Testing

@Suite struct ModelRouteTests {
    let bearer = HTTPFields([HTTPField(name: .authorization, value: "Bearer s3cret")])

    @Test func modelsAreListedAndDescribedWithTheirLayers() async throws {
        try await TestApplication().test { client in
            let list = try await client.get("/v1/models")
            let names = (list.json["models"] as? [[String: Any]])?.compactMap { $0["name"] as? String }
            #expect(names == TestApplication.demoModels)
            #expect(names?.contains("iris_mlp") == true)

            let iris = try await client.get("/v1/models/iris_mlp").json
            #expect(
                iris["feature_names"] as? [String] == ["sepal length (cm)", "sepal width (cm)", "petal length (cm)", "petal width (cm)"])
            #expect((iris["sha256"] as? String)?.count == 64)
            #expect((iris["layers"] as? [[String: Any]])?.isEmpty == false)
            #expect(
                iris["methods"] as? [String]
                    == MethodCatalog.standard.explainers.filter { [.differentiable, .any].contains($0.descriptor.requirement) }.map(
                        \.descriptor.name))
            let input = try #require((iris["inputs"] as? [[String: Any]])?.first)
            #expect(input["shape"] as? [AnyHashable] == ["batch", 4])
        }
    }

    @Test func administrationIsForbiddenWithoutAConfiguredToken() async throws {
        try await TestApplication().test { client in
            let response = try await client.execute(uri: "/v1/models/iris_mlp", method: .delete)
            #expect(response.status == .forbidden)
            #expect(response.problemCode == "admin-disabled")
            #expect((response.json["detail"] as? String)?.contains("admin.token") == true)
        }
    }

    @Test func aWrongTokenIsUnauthorized() async throws {
        try await TestApplication { $0.admin.token = "s3cret" }.test { client in
            let response = try await client.execute(
                uri: "/v1/models/iris_mlp", method: .delete, headers: [.authorization: "Bearer guess"])
            #expect(response.status == .unauthorized)
            #expect(response.headers[.wwwAuthenticate] == "Bearer")
        }
    }

    /// RFC 9110 §11.1: the scheme is case-insensitive; the token itself is not.
    @Test(arguments: ["bearer s3cret", "BEARER s3cret", "Bearer   s3cret"])
    func theBearerSchemeIsCaseInsensitive(_ credentials: String) async throws {
        try await TestApplication { $0.admin.token = "s3cret" }.test { client in
            let response = try await client.execute(
                uri: "/v1/models/iris_mlp", method: .delete, headers: [.authorization: credentials])
            #expect(response.status == .noContent, "\(response.text)")
        }
        try await TestApplication { $0.admin.token = "s3cret" }.test { client in
            for wrong in ["Bearer S3CRET", "Basic s3cret", "Bearers3cret"] {
                let response = try await client.execute(uri: "/v1/models/iris_mlp", method: .delete, headers: [.authorization: wrong])
                #expect(response.status == .unauthorized, "\(wrong)")
            }
        }
    }

    @Test func aModelCanBeUploadedUsedAndRemoved() async throws {
        let application = try TestApplication { $0.admin.token = "s3cret" }
        let onnx = try Data(contentsOf: Fixtures.url("models/mlp_torchscript.onnx"))
        try await application.test { client in
            let added = try await client.execute(
                uri: "/v1/models?name=uploaded", method: .post, headers: bearer, body: ByteBuffer(bytes: onnx))
            #expect(added.status == .created, "\(added.text)")
            #expect(FileManager.default.fileExists(atPath: application.uploadedFile("uploaded", "uploaded.onnx").path))

            let again = try await client.execute(
                uri: "/v1/models?name=uploaded", method: .post, headers: bearer, body: ByteBuffer(bytes: onnx))
            #expect(again.status == .conflict)

            let explained = try await client.post(
                "/v1/models/uploaded/explain", json: #"{"method":"saliency","inputs":[[1,2,3,4,5,6]]}"#)
            #expect(explained.status == .ok)

            let removed = try await client.execute(uri: "/v1/models/uploaded", method: .delete, headers: bearer)
            #expect(removed.status == .noContent)
            #expect(!FileManager.default.fileExists(atPath: application.uploadedFile("uploaded", "uploaded.onnx").path))
            #expect(try FileManager.default.contentsOfDirectory(atPath: application.versionsDirectory.path).isEmpty)
            #expect(try await client.get("/v1/models/uploaded").status == .notFound)
        }
    }

    @Test func aMultipartUploadCarriesExternalData() async throws {
        let application = try TestApplication { $0.admin.token = "s3cret" }
        let onnx = try Data(contentsOf: Fixtures.url("models/mlp_dynamo.onnx"))
        let weights = try Data(contentsOf: Fixtures.url("models/mlp_dynamo.onnx.data"))
        var body = ByteBuffer()
        func part(_ disposition: String, _ data: Data) {
            body.writeString("--XyZ\r\nContent-Disposition: form-data; \(disposition)\r\n\r\n")
            body.writeBytes(data)
            body.writeString("\r\n")
        }
        part(#"name="name""#, Data("dynamo".utf8))
        part(#"name="model"; filename="mlp_dynamo.onnx""#, onnx)
        part(#"name="external_data"; filename="mlp_dynamo.onnx.data""#, weights)
        body.writeString("--XyZ--\r\n")
        var multipartHeaders = bearer
        multipartHeaders[.contentType] = "multipart/form-data; boundary=XyZ"
        let headers = multipartHeaders
        let payload = body
        try await application.test { client in
            let response = try await client.execute(uri: "/v1/models", method: .post, headers: headers, body: payload)
            #expect(response.status == .created, "\(response.text)")
            #expect(FileManager.default.fileExists(atPath: application.uploadedFile("dynamo", "mlp_dynamo.onnx.data").path))
            let prediction = try await client.post("/v1/models/dynamo/predict", json: #"{"inputs":[[1,2,3,4,5]]}"#)
            #expect(prediction.status == .ok)
        }
    }

    @Test func aHostileOrTruncatedUploadIsRefusedAndNothingIsWritten() async throws {
        let application = try TestApplication { $0.admin.token = "s3cret" }
        let onnx = try Data(contentsOf: Fixtures.url("models/mlp_torchscript.onnx"))
        try await application.test { client in
            for payload in [onnx.prefix(onnx.count / 2), Data("not a model".utf8)] {
                let response = try await client.execute(
                    uri: "/v1/models?name=broken", method: .post, headers: bearer, body: ByteBuffer(bytes: payload))
                #expect(response.status == .unprocessableContent, "\(response.text)")
                #expect(response.isProblem)
            }
            let badName = try await client.execute(
                uri: "/v1/models?name=../etc", method: .post, headers: bearer, body: ByteBuffer(bytes: onnx))
            #expect(badName.status == .badRequest)
            let files = try FileManager.default.contentsOfDirectory(atPath: application.modelsDirectory.path)
            #expect(!files.contains { $0.hasPrefix("broken") || $0.hasPrefix(".upload") })
        }
    }

    @Test func aBrokenFileInTheModelsFolderIsReportedNotFatal() async throws {
        let application = try TestApplication()
        try Data("garbage".utf8).write(to: application.modelsDirectory.appendingPathComponent("broken.onnx"))
        try await application.test { client in
            let list = try await client.get("/v1/models").json
            #expect((list["models"] as? [Any])?.count == TestApplication.demoModels.count)
            let refused = try #require((list["refused"] as? [[String: Any]])?.first)
            #expect(refused["name"] as? String == "broken")
            #expect(try await client.get("/readyz").status == .ok)
        }
    }
}

@Suite struct ModelUploadSafetyTests {
    let bearer = HTTPFields([
        HTTPField(name: .authorization, value: "Bearer s3cret"), HTTPField(name: .contentType, value: "multipart/form-data; boundary=B"),
    ])

    /// Parts the model does not read — whatever their names, `../` included — are refused, so
    /// an upload can neither escape the models folder nor replace another model's weights.
    @Test func unusedOrEscapingExternalPartsAreRefusedAndNothingIsWritten() async throws {
        let application = try TestApplication { $0.admin.token = "s3cret" }
        let onnx = try Data(contentsOf: Fixtures.url("models/mlp_torchscript.onnx"))
        let before = try Data(contentsOf: application.modelsDirectory.appendingPathComponent("breast_cancer_mlp.onnx.data"))
        let headers = bearer
        try await application.test { client in
            for file in ["../escape.bin", "breast_cancer_mlp.onnx.data", "iris_mlp.onnx"] {
                let body = multipartBody([
                    (#"name="name""#, Data("sneaky".utf8)), (#"name="model"; filename="m.onnx""#, onnx),
                    (#"name="external_data"; filename="\#(file)""#, Data("evil".utf8)),
                ])
                let response = try await client.execute(uri: "/v1/models", method: .post, headers: headers, body: body)
                #expect(response.status == .badRequest, "\(file): \(response.text)")
            }
            let after = try Data(contentsOf: application.modelsDirectory.appendingPathComponent("breast_cancer_mlp.onnx.data"))
            #expect(before == after)
            let escaped = application.modelsDirectory.deletingLastPathComponent().appendingPathComponent("escape.bin")
            #expect(!FileManager.default.fileExists(atPath: escaped.path))
        }
    }

    /// A sidecar's background file travels as an `external_data` part; one the upload lacks
    /// refuses the model, naming the file.
    @Test func anUploadedSidecarBackgroundIsUsedAndAMissingOneRefused() async throws {
        let application = try TestApplication { $0.admin.token = "s3cret" }
        let onnx = try Data(contentsOf: Fixtures.url("models/mlp_torchscript.onnx"))
        let sidecar = Data("background: rows.json\n".utf8)
        let rows = Data("[[0,0,0,0,0,0],[1,1,1,1,1,1]]".utf8)
        let headers = bearer
        try await application.test { client in
            let missing = multipartBody([
                (#"name="name""#, Data("withrows".utf8)), (#"name="model"; filename="m.onnx""#, onnx),
                (#"name="sidecar"; filename="m.yaml""#, sidecar),
            ])
            let refused = try await client.execute(uri: "/v1/models", method: .post, headers: headers, body: missing)
            #expect(refused.status == .unprocessableContent, "\(refused.text)")
            #expect(refused.text.contains("rows.json"))
            let complete = multipartBody([
                (#"name="name""#, Data("withrows".utf8)), (#"name="model"; filename="m.onnx""#, onnx),
                (#"name="sidecar"; filename="m.yaml""#, sidecar), (#"name="external_data"; filename="rows.json""#, rows),
            ])
            let created = try await client.execute(uri: "/v1/models", method: .post, headers: headers, body: complete)
            #expect(created.status == .created, "\(created.text)")
            let explained = try await client.post(
                "/v1/models/withrows/explain", json: #"{"method":"kernel_shap","inputs":[[1,2,3,4,5,6]],"target":0}"#)
            #expect(explained.status == .ok, "\(explained.text)")
            #expect((explained.json["params"] as? [String: Any])?["background"] as? String == "model")
        }
    }
}

/// XGBoost and LightGBM models, dropped into the models folder or uploaded, are served like
/// ONNX ones.
@Suite struct XGBoostServingTests {
    static let instance =
        "[13.82,24.49,92.33,595.9,0.1162,0.1681,0.1357,0.06759,0.2275,0.07237,0.4751,1.528,2.974,39.05,0.00968,0.03856,0.03476,0.01616,0.02434,0.006995,16.01,32.94,106.0,788.0,0.1794,0.3966,0.3381,0.1521,0.3651,0.1183]"

    @Test func anXGBoostModelInTheFolderIsServedAndExplained() async throws {
        let application = try TestApplication()
        try FileManager.default.copyItem(
            at: Fixtures.url("trees/xgb_binary.json"), to: application.modelsDirectory.appendingPathComponent("boosted.json"))
        try FileManager.default.copyItem(
            at: Fixtures.url("trees/lgbm_regression.txt"), to: application.modelsDirectory.appendingPathComponent("light.txt"))
        try await application.test { client in
            #expect(try await client.get("/v1/models/light").json["kind"] as? String == "lightgbm")
            let light = try await client.post(
                "/v1/models/light/explain", json: #"{"method":"tree_shap","inputs":[[0.02,0.05,0.1,0.07,-0.04,-0.03,-0.02,0,0.02,0.01]]}"#)
            #expect(light.status == .ok, "\(light.text)")
            let description = try await client.get("/v1/models/boosted").json
            #expect(description["kind"] as? String == "xgboost")
            #expect((description["methods"] as? [String])?.contains("tree_shap") == true)
            #expect((description["methods"] as? [String])?.contains("integrated_gradients") == false)
            let prediction = try await client.post("/v1/models/boosted/predict", json: #"{"inputs":[\#(Self.instance)]}"#)
            let outputs = try #require(prediction.json["outputs"] as? [String: [[Double]]])
            #expect(abs((outputs["margin"]?[0][0] ?? 0) - -4.056335) < 1e-4)
            let shap = try await client.post("/v1/models/boosted/explain", json: #"{"method":"tree_shap","inputs":[\#(Self.instance)]}"#)
            #expect(shap.status == .ok, "\(shap.text)")
            let explanation = try #require((shap.json["explanations"] as? [[String: Any]])?.first)
            let total = ((explanation["attributions"] as? [Double]) ?? []).reduce(0, +) + ((explanation["base_value"] as? Double) ?? 0)
            #expect(abs(total - -4.056335) < 1e-3)
            let wrongOutput = try await client.post(
                "/v1/models/boosted/explain", json: #"{"method":"tree_shap","output":"probabilities","inputs":[\#(Self.instance)]}"#)
            #expect(wrongOutput.status == .badRequest)
            let ablation = try await client.post(
                "/v1/models/boosted/explain",
                json: #"{"method":"kernel_shap","inputs":[\#(Self.instance)],"params":{"baselines":0,"n_samples":100}}"#)
            #expect(ablation.status == .ok, "\(ablation.text)")
            let onnxOnly = try await client.post(
                "/v1/models/iris_mlp/explain", json: #"{"method":"tree_shap","inputs":[[5.1,3.5,1.4,0.2]]}"#)
            #expect(onnxOnly.status == .badRequest)
            // A missing value is null, and follows each split's default direction.
            let missing =
                "[22.27,19.67,152.8,1509.0,0.1326,0.2768,0.4264,0.1823,0.2556,0.07039,1.215,1.545,10.05,170.0,0.006515,0.08668,0.104,0.0248,0.03112,0.005037,null,28.01,206.8,2360.0,0.1701,0.6997,0.9608,0.291,0.4055,0.09789]"
            let withMissing = try await client.post("/v1/models/boosted/predict", json: #"{"inputs":[\#(missing)]}"#)
            #expect(withMissing.status == .ok, "\(withMissing.text)")
            let margin = (withMissing.json["outputs"] as? [String: [[Double]]])?["margin"]?[0][0] ?? 0
            #expect(abs(margin - -4.509643) < 1e-4)
            let onnxMissing = try await client.post("/v1/models/iris_mlp/predict", json: #"{"inputs":[[5.1,null,1.4,0.2]]}"#)
            #expect(onnxMissing.status == .badRequest)
        }
    }

    @Test func anXGBoostModelCanBeUploaded() async throws {
        let application = try TestApplication { $0.admin.token = "s3cret" }
        let model = try Data(contentsOf: Fixtures.url("trees/xgb_regression.json"))
        try await application.test { client in
            let response = try await client.execute(
                uri: "/v1/models?name=diabetes", method: .post, headers: [.authorization: "Bearer s3cret"], body: ByteBuffer(bytes: model))
            #expect(response.status == .created, "\(response.text)")
            #expect(FileManager.default.fileExists(atPath: application.uploadedFile("diabetes", "diabetes.json").path))
            let prediction = try await client.post("/v1/models/diabetes/predict", json: #"{"inputs":[[0,0,0,0,0,0,0,0,0,0]]}"#)
            #expect(prediction.status == .ok)
        }
    }
}

/// An ONNX tree model (onnxmltools' XGBoost classifier) is served under the names its graph
/// declares, as onnxruntime serves it, with the raw score as one more output.
@Suite struct ONNXTreeServingTests {
    @Test func aConvertedTreeClassifierAnswersWithItsDeclaredNamesAndLabels() async throws {
        let application = try TestApplication()
        try FileManager.default.copyItem(
            at: Fixtures.url("converted/xgboost_multiclass.onnx"), to: application.modelsDirectory.appendingPathComponent("flowers.onnx"))
        try await application.test { client in
            let description = try await client.get("/v1/models/flowers").json
            let outputs = (description["outputs"] as? [[String: Any]] ?? []).map { "\($0["name"] ?? "")/\($0["type"] ?? "")" }
            #expect(outputs == ["label/int64", "probabilities/float32", "margin/float32"])
            let rows = "[[5.5,3.5,1.3,0.2],[5.7,2.8,4.5,1.3]]"
            let prediction = try await client.post("/v1/models/flowers/predict", json: #"{"inputs":\#(rows)}"#)
            let answer = try #require(prediction.json["outputs"] as? [String: Any])
            #expect(Set(answer.keys) == ["label", "probabilities", "margin"])
            #expect(answer["label"] as? [Int] == [0, 1])
            // tree_shap explains the raw score without being told to.
            let shap = try await client.post(
                "/v1/models/flowers/explain",
                json: #"{"method":"tree_shap","inputs":\#(rows),"params":{"feature_perturbation":"interventional","background":\#(rows)}}"#)
            #expect(shap.status == .ok, "\(shap.text)")
            let margin = try #require((answer["margin"] as? [[Double]])?.first)
            let explanation = try #require((shap.json["explanations"] as? [[String: Any]])?.first)
            let total = ((explanation["attributions"] as? [Double]) ?? []).reduce(0, +) + ((explanation["base_value"] as? Double) ?? 0)
            #expect(abs(total - margin[0]) < 1e-4)
        }
    }
}

/// scikit-learn pipelines converted by skl2onnx, dropped into the models folder, are served
/// with their `ai.onnx.ml` nodes and explained by `linear_shap` and the gradient methods.
@Suite struct LinearModelServingTests {
    @Test func aScaledLogisticRegressionIsServedAndExplained() async throws {
        let application = try TestApplication()
        try FileManager.default.copyItem(
            at: Fixtures.url("converted/logistic_scaled_binary.onnx"), to: application.modelsDirectory.appendingPathComponent("credit.onnx")
        )
        let instance = XGBoostServingTests.instance
        try await application.test { client in
            let description = try await client.get("/v1/models/credit").json
            #expect((description["methods"] as? [String])?.contains("linear_shap") == true)
            #expect((description["methods"] as? [String])?.contains("tree_shap") == false)
            // The label comes out as the class label, the ZipMap's maps as class scores.
            let prediction = try await client.post("/v1/models/credit/predict", json: #"{"inputs":[\#(instance)]}"#)
            let outputs = try #require(prediction.json["outputs"] as? [String: Any])
            let probabilities = try #require((outputs["output_probability"] as? [[Double]])?.first)
            #expect(probabilities.count == 2 && abs(probabilities.reduce(0, +) - 1) < 1e-5)
            #expect((outputs["output_label"] as? [Double])?.first == (probabilities[1] > 0.5 ? 1 : 0))
            // Without `output`, the probabilities (the first float output) are explained.
            let background = "[\(instance),\(instance.replacingOccurrences(of: "13.82", with: "17.99"))]"
            let shap = try await client.post(
                "/v1/models/credit/explain",
                json: #"{"method":"linear_shap","target":1,"inputs":[\#(instance)],"params":{"background":\#(background)}}"#)
            #expect(shap.status == .ok, "\(shap.text)")
            let explanation = try #require((shap.json["explanations"] as? [[String: Any]])?.first)
            let margin = try #require(explanation["margin"] as? Double)
            #expect(abs(1 / (1 + exp(-margin)) - probabilities[1]) < 1e-5)
            let total = ((explanation["attributions"] as? [Double]) ?? []).reduce(0, +) + ((explanation["base_value"] as? Double) ?? 0)
            #expect(abs(total - margin) < 1e-4)
            // Only the first feature differs from the background mean's.
            #expect(((explanation["attributions"] as? [Double]) ?? []).dropFirst().allSatisfy { $0 == 0 })
            let gradients = try await client.post(
                "/v1/models/credit/explain", json: #"{"method":"integrated_gradients","inputs":[\#(instance)]}"#)
            #expect(gradients.status == .ok, "\(gradients.text)")
            let notLinear = try await client.post(
                "/v1/models/iris_mlp/explain",
                json: #"{"method":"linear_shap","inputs":[[5.1,3.5,1.4,0.2]],"params":{"background":[[5,3,1,0]]}}"#)
            #expect(notLinear.status == .badRequest)
        }
    }
}

/// A convolutional network Candor has never seen — PyTorch's dynamo export with batch norm
/// and its weights in external data — dropped into the models folder and explained over HTTP
/// by every method of the backpropagation family, with Captum's numbers
/// (`make_cnn_fixtures.py`).
@Suite struct ConvolutionalServingTests {
    @Test func aDynamoExportedCNNIsServedAndExplainedAsCaptumExplainsIt() async throws {
        let application = try TestApplication()
        for file in ["cnn_bn_relu.onnx", "cnn_bn_relu.onnx.data"] {
            try FileManager.default.copyItem(
                at: Fixtures.url("models/\(file)"), to: application.modelsDirectory.appendingPathComponent(file))
        }
        let golden = try #require(try Fixtures.json("golden/cnn_bn_relu.json") as? [String: Any])
        let inputs = try JSONSerialization.data(withJSONObject: try #require(golden["inputs"]))
        let lastConvolution = try #require(golden["last_conv"] as? String)
        // Each case as (method, request body, Captum's attributions).
        var requests: [(method: String, body: String, expected: [Double])] = []
        for entry in try #require(golden["cases"] as? [[String: Any]]) {
            let method = try #require(entry["method"] as? String)
            var request: [String: Any] = ["method": method, "params": entry["params"] ?? [:], "output": entry["output"] ?? "logits"]
            if method != "neuron_gradient" { request["target"] = entry["targets"] }
            var body = try JSONSerialization.data(withJSONObject: request)
            // Splice in the inputs exactly as the fixture wrote them.
            body.removeLast()
            body.append(Data(#","inputs":"#.utf8) + inputs + Data("}".utf8))
            requests.append((method, String(decoding: body, as: UTF8.self), flattenedNumbers(entry["attributions"] ?? [])))
        }
        let cases = requests
        try await application.test { client in
            let description = try await client.get("/v1/models/cnn_bn_relu").json
            let methods = Set(description["methods"] as? [String] ?? [])
            let layers = (description["layers"] as? [[String: Any]] ?? []).compactMap { $0["name"] as? String }
            #expect(layers.contains(lastConvolution))
            var explained = Set<String>()
            for (method, body, expected) in cases {
                #expect(methods.contains(method), "\(method) is not listed for the model")
                let response = try await client.post("/v1/models/cnn_bn_relu/explain", json: body)
                #expect(response.status == .ok, "\(method): \(response.text)")
                let explanations = response.json["explanations"] as? [[String: Any]] ?? []
                let actual = explanations.flatMap { flattenedNumbers($0["attributions"] ?? []) }
                let scale = expected.map(abs).max() ?? 1
                #expect(isClose(actual.map(Float.init), expected.map(Float.init), absolute: Float(1e-4 * max(1, scale))), "\(method)")
                explained.insert(method)
            }
            #expect(
                explained.isSuperset(of: [
                    "deeplift", "deeplift_shap", "guided_backprop", "deconvolution", "lrp", "grad_cam", "guided_grad_cam",
                    "layer_integrated_gradients", "layer_gradient_x_activation", "layer_conductance", "neuron_gradient",
                ]))
        }
    }
}
