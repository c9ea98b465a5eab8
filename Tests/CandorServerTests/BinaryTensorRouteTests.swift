import CandorServer
import Foundation
import HTTPTypes
import HummingbirdTesting
import Testing

/// Inputs sent as `{"dtype", "shape", "data"}` instead of nested JSON numbers.
@Suite struct BinaryTensorRouteTests {
    let predict = "/v1/models/iris_mlp/predict"
    let flowers: [[Float]] = [[5.1, 3.5, 1.4, 0.2], [6.7, 3.0, 5.2, 2.3]]

    private func base64<T: FixedWidthInteger>(_ values: [T]) -> String {
        var bytes: [UInt8] = []
        for value in values { withUnsafeBytes(of: value.littleEndian) { bytes.append(contentsOf: $0) } }
        return Data(bytes).base64EncodedString()
    }

    @Test func float32BatchPredictsAsTheSameNumbersInJSON() async throws {
        try await TestApplication().test { client in
            let data = base64(flowers.flatMap { $0 }.map(\.bitPattern))
            let binary = try await client.post(predict, json: #"{"inputs":{"dtype":"float32","shape":[2,4],"data":"\#(data)"}}"#)
            let text = try await client.post(predict, json: #"{"inputs":[[5.1,3.5,1.4,0.2],[6.7,3.0,5.2,2.3]]}"#)
            #expect(binary.status == .ok, "\(binary.text)")
            #expect(binary.json["outputs"] as? NSDictionary == text.json["outputs"] as? NSDictionary)
        }
    }

    @Test func float64AndIntegerTypesAreConvertedToFloat32() async throws {
        try await TestApplication().test { client in
            let doubles = base64([5.0, 3.0, 1.0, 0.0].map { (value: Double) in value.bitPattern })
            let integers = base64([Int64(5), 3, 1, 0])
            let bytes = Data([5, 3, 1, 0]).base64EncodedString()
            var answers: [NSDictionary] = []
            for (type, data) in [("float64", doubles), ("int64", integers), ("uint8", bytes)] {
                let response = try await client.post(predict, json: #"{"inputs":{"dtype":"\#(type)","shape":[1,4],"data":"\#(data)"}}"#)
                #expect(response.status == .ok, "\(type): \(response.text)")
                answers.append(try #require(response.json["outputs"] as? NSDictionary))
            }
            #expect(Set(answers).count == 1)
        }
    }

    @Test func explainAcceptsABinaryBatch() async throws {
        try await TestApplication().test { client in
            let data = base64(flowers[0].map(\.bitPattern))
            let response = try await client.post(
                "/v1/models/iris_mlp/explain", json: #"{"method":"saliency","inputs":{"dtype":"float32","shape":[1,4],"data":"\#(data)"}}"#)
            #expect(response.status == .ok, "\(response.text)")
            #expect(((response.json["explanations"] as? [[String: Any]])?.first?["attributions"] as? [Double])?.count == 4)
        }
    }

    @Test(arguments: [
        // The data holds 3 floats where the shape asks for 4.
        (#"{"dtype":"float32","shape":[1,4],"data":"AAAAAAAAAAAAAAAA"}"#, "invalid-input", "bytes"),
        (#"{"dtype":"float16","shape":[1,4],"data":"AAAAAAAAAAAAAAAAAAAAAA=="}"#, "invalid-input", "dtype"),
        (#"{"dtype":"float32","shape":[1,4],"data":"not base64 at all!!!!!"}"#, "invalid-input", "base64"),
        (#"{"dtype":"float32","shape":[1,5],"data":"AAAAAAAAAAAAAAAAAAAAAAAAAAA="}"#, "invalid-input", "shape [4]"),
        (#"{"dtype":"float32","shape":[4],"data":"AAAAAAAAAAAAAAAAAAAAAA=="}"#, "invalid-input", "inputs for"),
        (#"{"dtype":"float32","shape":[1,-4],"data":""}"#, "invalid-input", "shape"),
        (#"{"dtype":"float32","shape":[1,4],"data":"AAAAAAAAAAAAAAAAAADAfw=="}"#, "invalid-input", "nan"),
        (#"{"dtype":"float32","shape":[100000,100000,4],"data":""}"#, "input-too-large", "elements"),
        // A product past Int.max: refused, not a trap.
        (#"{"dtype":"float32","shape":[100000,100000,1000000000],"data":""}"#, "input-too-large", "elements"),
        (#"{"dtype":"float32","shape":[1,4],"data":"AAAAAAAAAAAAAAAAAAAAAA==","extra":1}"#, "invalid-input", "extra"),
    ])
    func malformedBinaryTensorsAreRefusedByName(_ inputs: String, code: String, mentioning word: String) async throws {
        try await TestApplication().test { client in
            let response = try await client.post(predict, json: #"{"inputs":\#(inputs)}"#)
            #expect(response.status.code == (code == "input-too-large" ? 413 : 400), "\(response.text)")
            #expect(response.problemCode == code)
            #expect(response.text.lowercased().contains(word.lowercased()), "\(response.text)")
        }
    }
}
