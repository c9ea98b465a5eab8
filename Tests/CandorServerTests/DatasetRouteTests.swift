import CandorExplain
import CandorServer
import Foundation
import HTTPTypes
import HummingbirdTesting
import NIOCore
import Testing

/// Datasets over HTTP: uploads as CSV or JSON (admin only), listing, use by an analysis —
/// where a column that does not fit the model is a 400 naming it — and removal.
@Suite struct DatasetRouteTests {
    let admin: HTTPFields = [.authorization: "Bearer s3cret"]
    let header = "sepal length (cm),sepal width (cm),petal length (cm),petal width (cm),species"

    func upload(_ client: any TestClientProtocol, csv: String, query: String = "?name=flowers&label=species") async throws -> TestResponse {
        var headers = admin
        headers[.contentType] = "text/csv"
        return try await client.execute(uri: "/v1/datasets\(query)", method: .post, headers: headers, body: ByteBuffer(string: csv))
    }

    @Test func aCSVDatasetIsStoredListedUsedAndRemoved() async throws {
        try await TestApplication(analyses: .withSteps, { $0.admin.token = "s3cret" }).test { client in
            let csv = "\(header)\r\n5.1,3.5,1.4,0.2,setosa\r\n6.7,3.0,5.2,2.3,virginica\r\n\"5.9\",3.0,4.2,1.5,1\r\n"
            let response = try await upload(client, csv: csv)
            #expect(response.status == .created, "\(response.text)")
            let id = try #require(response.json["id"] as? String)
            #expect(response.headers[.location] == "/v1/datasets/\(id)")
            #expect(response.json["rows"] as? Int == 3)
            #expect(response.json["label"] as? String == "species")
            #expect((response.json["columns"] as? [String])?.count == 4)
            #expect((response.json["sha256"] as? String)?.count == 64)

            #expect(try await client.get("/v1/datasets/\(id)").json["name"] as? String == "flowers")
            let listing = try await client.get("/v1/datasets").json["datasets"] as? [[String: Any]]
            #expect(listing?.map { $0["id"] as? String } == [id])

            let analysis = try await client.post(
                "/v1/models/iris_mlp/analyses?wait=10",
                json: #"{"analysis":"steps","data":{"dataset":"\#(id)"},"target":0,"params":{"steps":1}}"#)
            #expect(analysis.status == .ok, "\(analysis.text)")
            #expect((analysis.json["result"] as? [String: Any])?["rows"] as? Int == 3)
            #expect(analysis.json["data"] as? String == "dataset:\(id)")

            #expect(try await client.execute(uri: "/v1/datasets/\(id)", method: .delete, headers: admin).status == .noContent)
            #expect(try await client.get("/v1/datasets/\(id)").status == .notFound)
            #expect(try await client.execute(uri: "/v1/datasets/\(id)", method: .delete, headers: admin).status == .notFound)
        }
    }

    @Test func aJSONDatasetIsStoredWithRowsAsArraysOrObjects() async throws {
        try await TestApplication({ $0.admin.token = "s3cret" }).test { client in
            var headers = admin
            headers[.contentType] = "application/json"
            let arrays = try await client.execute(
                uri: "/v1/datasets", method: .post, headers: headers,
                body: ByteBuffer(string: #"{"name":"a","columns":["x","y"],"rows":[[1,2],[3,null]]}"#))
            #expect(arrays.status == .created, "\(arrays.text)")
            #expect(arrays.json["rows"] as? Int == 2)
            let objects = try await client.execute(
                uri: "/v1/datasets", method: .post, headers: headers,
                body: ByteBuffer(string: #"{"label":"y","rows":[{"x":1,"y":"setosa"},{"x":2,"y":0}]}"#))
            #expect(objects.status == .created, "\(objects.text)")
            #expect(objects.json["columns"] as? [String] == ["x"])
        }
    }

    @Test func columnsThatDoNotFitTheModelAreNamed() async throws {
        try await TestApplication(analyses: .withSteps, { $0.admin.token = "s3cret" }).test { client in
            func analyse(_ csv: String, label: String? = "species") async throws -> TestResponse {
                let uploaded = try await upload(client, csv: csv, query: label.map { "?label=\($0)" } ?? "")
                let id = try #require(uploaded.json["id"] as? String, "\(uploaded.text)")
                return try await client.post(
                    "/v1/models/iris_mlp/analyses", json: #"{"analysis":"steps","data":{"dataset":"\#(id)"},"target":0}"#)
            }
            let extra = try await analyse("\(header),colour\n5.1,3.5,1.4,0.2,setosa,3\n")
            #expect(extra.status == .badRequest)
            #expect((extra.json["detail"] as? String)?.contains("column 'colour' is not a feature") == true, "\(extra.text)")
            let missing = try await analyse("sepal length (cm),sepal width (cm),petal length (cm)\n5.1,3.5,1.4\n", label: nil)
            #expect((missing.json["detail"] as? String)?.contains("lacks column 'petal width (cm)'") == true, "\(missing.text)")
            let gap = try await analyse("\(header)\n5.1,,1.4,0.2,setosa\n")
            #expect((gap.json["detail"] as? String)?.contains("row 1, column 'sepal width (cm)' is missing") == true, "\(gap.text)")
            let label = try await analyse("\(header)\n5.1,3.5,1.4,0.2,rose\n")
            #expect(label.problemCode == "invalid-labels")
            #expect((label.json["detail"] as? String)?.contains("'rose'") == true)
        }
    }

    @Test func malformedUploadsAreNamed400s() async throws {
        try await TestApplication({ $0.admin.token = "s3cret" }).test { client in
            let cases: [(String, String)] = [
                ("", "empty"),
                ("a,b\n1\n", "row 1 has 1 fields"),
                ("a,b\n1,x\n", "row 1, column 'b': 'x' is not a finite number"),
                ("a,a\n1,2\n", "column 'a' is named twice"),
                ("a,b\n", "no rows"),
                ("a,b\n\"1,2\n", "inside a quoted field"),
            ]
            for (csv, mention) in cases {
                let response = try await upload(client, csv: csv, query: "")
                #expect(response.status == .badRequest, "\(csv)")
                #expect((response.json["detail"] as? String)?.contains(mention) == true, "\(csv): \(response.text)")
            }
            let unknownLabel = try await upload(client, csv: "a,b\n1,2\n", query: "?label=c")
            #expect((unknownLabel.json["detail"] as? String)?.contains("label column 'c'") == true)
            var headers = admin
            headers[.contentType] = "application/xml"
            let xml = try await client.execute(uri: "/v1/datasets", method: .post, headers: headers, body: ByteBuffer(string: "<a/>"))
            #expect(xml.status == .unsupportedMediaType)
        }
    }

    @Test func uploadsAreBoundedAndNeedTheAdminToken() async throws {
        try await TestApplication({
            $0.admin.token = "s3cret"
            $0.datasets.maxRows = 2
            $0.datasets.maxCount = 1
        }).test { client in
            let tooMany = try await upload(client, csv: "a\n1\n2\n3\n", query: "")
            #expect(tooMany.status == .contentTooLarge)
            #expect(tooMany.problemCode == "dataset-too-large")
            #expect(try await upload(client, csv: "a\n1\n", query: "").status == .created)
            let full = try await upload(client, csv: "a\n1\n", query: "")
            #expect(full.status == .conflict)
            #expect(full.problemCode == "too-many-datasets")
            let anonymous = try await client.execute(
                uri: "/v1/datasets", method: .post, headers: [.contentType: "text/csv"], body: ByteBuffer(string: "a\n1\n"))
            #expect(anonymous.status == .unauthorized)
        }
    }

    @Test func storedDatasetsSurviveARestart() async throws {
        let application = try TestApplication({ $0.admin.token = "s3cret" })
        let configuration = application.service.configuration
        try await application.test { client in
            let id = try #require(try await upload(client, csv: "\(header)\n5.1,3.5,1.4,0.2,setosa\n").json["id"] as? String)
            try await TestApplication.restarted(configuration).test { client in
                let info = try await client.get("/v1/datasets/\(id)")
                #expect(info.json["rows"] as? Int == 1)
                #expect(info.json["label"] as? String == "species")
            }
        }
    }
}
