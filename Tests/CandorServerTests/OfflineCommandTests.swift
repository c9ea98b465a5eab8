import CandorExplain
import CandorServer
import CandorTestSupport
import Foundation
import Testing

@Suite struct OfflineCommandTests {
    let iris = Fixtures.repository.appendingPathComponent("models/iris_mlp.onnx")

    @Test func offlineExplainAnswersExactlyAsTheService() async throws {
        let request = #"{"method":"integrated_gradients","inputs":[[5.1,3.5,1.4,0.2]],"params":{"n_steps":16}}"#
        let offline = try OfflineCommands.explain(file: iris, request: Data(request.utf8))
        let served = try await TestApplication().test { client in
            try await client.post("/v1/models/iris_mlp/explain", json: request).text
        }
        #expect(offline == served)
    }

    @Test func offlineMistakesAreTheServicesProblems() {
        #expect(throws: Problem.self) {
            try OfflineCommands.explain(file: iris, request: Data(#"{"method":"nope","inputs":[[1,2,3,4]]}"#.utf8))
        }
    }

    @Test func inspectDescribesTheModel() throws {
        let description = try OfflineCommands.describe(file: iris)
        #expect(description.contains("\"feature_names\""))
        #expect(description.contains("\"integrated_gradients\""))
    }

    /// A method as a listing names it.
    struct Listed: Equatable, Sendable {
        let name: String
        let family: String
        let appliesTo: String
        var parameters: [String]
    }

    /// `candor methods` lists what `GET /v1/methods` lists: the same methods in the same order,
    /// each with its family, the models it applies to and its parameters.
    @Test func offlineMethodsListWhatTheServiceLists() async throws {
        let served = try await TestApplication().test { client in
            let methods = try #require(try await client.get("/v1/methods").json["methods"] as? [[String: Any]])
            return try methods.map { method in
                Listed(
                    name: try #require(method["name"] as? String), family: try #require(method["family"] as? String),
                    appliesTo: try #require(method["applies_to"] as? String),
                    parameters: try #require(method["parameters"] as? [[String: Any]]).compactMap { $0["name"] as? String })
            }
        }
        var offline: [Listed] = []
        for line in OfflineCommands.methods().split(separator: "\n") {
            if !line.hasPrefix(" "), let open = line.firstIndex(of: "("), line.hasSuffix(")") {
                let facts = line[line.index(after: open)..<line.index(before: line.endIndex)].components(separatedBy: "; ")
                offline.append(
                    Listed(name: String(line[..<open].dropLast()), family: facts[0], appliesTo: facts.last ?? "", parameters: []))
            } else if line.hasPrefix("      "), let colon = line.firstIndex(of: ":") {
                offline[offline.count - 1].parameters.append(line[..<colon].trimmingCharacters(in: .whitespaces))
            }
        }
        #expect(!served.isEmpty)
        #expect(offline == served)
        let markdown = OfflineCommands.methods(markdown: true)
        for method in served { #expect(markdown.contains("## `\(method.name)`\n")) }
    }
}

extension OfflineCommandTests {
    /// `candor analyze` over a CSV gives the result the service gives for the same rows and
    /// labels, and reports its progress to the end.
    @Test func offlineAnalyzeAnswersAsTheService() async throws {
        let csv = """
            sepal length (cm),sepal width (cm),petal length (cm),petal width (cm),species
            5.1,3.5,1.4,0.2,setosa
            4.9,3.0,1.4,0.2,setosa
            6.7,3.0,5.2,2.3,virginica
            5.9,3.0,4.2,1.5,versicolor
            6.3,2.9,5.6,1.8,virginica
            5.5,2.4,3.8,1.1,versicolor

            """
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("candor-analyze-\(UUID().uuidString).csv")
        try Data(csv.utf8).write(to: file)
        defer { try? FileManager.default.removeItem(at: file) }
        let request = #"{"analysis":"permutation_importance","params":{"n_repeats":3}}"#
        var reported: AnalysisProgress?
        let offline = try OfflineCommands.analyze(
            file: iris, data: file, labelColumn: "species", request: Data(request.utf8), started: { reported = $0 })
        #expect(reported.map { $0.done == $0.total && $0.total == 6 * (1 + 4 * 3) } == true)
        let result = try #require(try JSONSerialization.jsonObject(with: Data(offline.utf8)) as? [String: Any])
        #expect(result["labels"] as? String == "dataset")

        let rows = #"[[5.1,3.5,1.4,0.2],[4.9,3.0,1.4,0.2],[6.7,3.0,5.2,2.3],[5.9,3.0,4.2,1.5],[6.3,2.9,5.6,1.8],[5.5,2.4,3.8,1.1]]"#
        let labels = #"["setosa","setosa","virginica","versicolor","virginica","versicolor"]"#
        let served = try await TestApplication().test { client in
            try await client.post(
                "/v1/models/iris_mlp/analyses?wait=30",
                json: #"{"analysis":"permutation_importance","data":\#(rows),"labels":\#(labels),"params":{"n_repeats":3}}"#
            ).json["result"] as? [String: Any]
        }
        let servedResult = try #require(served)
        #expect(NSDictionary(dictionary: servedResult).isEqual(to: result))
    }
}
