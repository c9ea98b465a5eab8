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
}
