import CandorServer
import CandorTestSupport
import Foundation
import HTTPTypes
import HummingbirdTesting
import Testing

/// `min_perturbation` over HTTP: the probe's fields beside the attributions, and a clear 400
/// for a perturbation the model's inputs cannot take.
@Suite struct MinPerturbationRouteTests {
    @Test func rotationOfAShapeIsAnsweredWithItsFields() async throws {
        let background = try Data(contentsOf: Fixtures.repository.appendingPathComponent("models/shapes_mlp.background.json"))
        let images = try #require(try JSONSerialization.jsonObject(with: background) as? [Any])
        let image = String(decoding: try JSONSerialization.data(withJSONObject: images[0]), as: UTF8.self)
        try await TestApplication().test { client in
            let response = try await client.post(
                "/v1/models/shapes_cnn/explain",
                json: #"{"method":"min_perturbation","inputs":[\#(image)],"params":{"perturbation":"rotation","arg_step":5}}"#)
            #expect(response.status == .ok, "\(response.text)")
            let params = try #require(response.json["params"] as? [String: Any])
            #expect(params["arg_min"] as? Double == 0 && params["arg_max"] as? Double == 180 && params["mode"] as? String == "linear")
            let explanation = try #require((response.json["explanations"] as? [[String: Any]])?.first)
            let found = try #require(explanation["found"] as? Bool)
            #expect(explanation["searched"] as? [Double] == [0, 180])
            let attributions = try #require(explanation["attributions"] as? [[[Double]]])
            #expect(attributions.count == 3 && attributions[0].count == 32)
            if found {
                let angle = try #require(explanation["min_param"] as? Double)
                #expect(angle.truncatingRemainder(dividingBy: 5) == 0)
                #expect((explanation["perturbed"] as? [[[Double]]])?.count == 3)
                let prediction = try #require(explanation["perturbed_prediction"] as? Int)
                #expect(prediction != explanation["target"] as? Int)
                #expect((explanation["perturbed_output"] as? [Double])?.count == 3)
            } else {
                #expect(explanation["min_param"] is NSNull)
            }
        }
    }

    @Test func anImagePerturbationOfATableIs400() async throws {
        try await TestApplication().test { client in
            let response = try await client.post(
                "/v1/models/iris_mlp/explain",
                json: #"{"method":"min_perturbation","inputs":[[5.1,3.5,1.4,0.2]],"params":{"perturbation":"rotation"}}"#)
            #expect(response.status == .badRequest)
            #expect(response.headers[.contentType] == "application/problem+json")
            #expect((response.json["detail"] as? String)?.contains("applies to images") == true)
            #expect((response.json["type"] as? String)?.hasSuffix("method-not-applicable") == true)
        }
    }

    @Test func featureShiftProbesATableByItsTrainingSpread() async throws {
        try await TestApplication().test { client in
            let response = try await client.post(
                "/v1/models/iris_mlp/explain",
                json:
                    #"{"method":"min_perturbation","inputs":[[6.0,2.9,4.5,1.5]],"params":{"perturbation":"feature_shift","mode":"binary"}}"#
            )
            #expect(response.status == .ok, "\(response.text)")
            let explanation = try #require((response.json["explanations"] as? [[String: Any]])?.first)
            #expect(explanation["found"] as? Bool == true)
            #expect(explanation["feature_name"] is String)
            #expect((explanation["perturbed"] as? [Double])?.count == 4)
        }
    }
}
