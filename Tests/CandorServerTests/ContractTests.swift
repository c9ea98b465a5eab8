import CandorServer
import CandorTestSupport
import Foundation
import Hummingbird
import Logging
import Testing
import Yams

/// `openapi.yaml` and `config/candor.yaml` are promises: these tests hold the server to them.
@Suite struct ContractTests {
    @Test func openAPIListsExactlyTheRoutesTheServerHas() throws {
        let text = try String(contentsOf: Fixtures.repository.appendingPathComponent("openapi.yaml"), encoding: .utf8)
        let document = try #require(try Yams.load(yaml: text) as? [String: Any])
        let paths = try #require(document["paths"] as? [String: Any])
        let verbs: Set<String> = ["get", "post", "put", "delete", "patch", "head", "options"]
        var documented: Set<String> = []
        for (path, item) in paths {
            for key in (item as? [String: Any] ?? [:]).keys where verbs.contains(key) {
                documented.insert("\(key.uppercased()) \(path)")
            }
        }
        let service = CandorService(configuration: CandorConfiguration(), logger: Logger(label: "test"))
        let served = Set(buildRouter(service).routes.map { "\($0.method) \($0.path)" })
        #expect(
            documented == served,
            "only in openapi.yaml: \(documented.subtracting(served)); only in the server: \(served.subtracting(documented))")
    }

    @Test func theDocumentedConfigurationIsTheBuiltInDefault() throws {
        let text = try String(contentsOf: Fixtures.repository.appendingPathComponent("config/candor.yaml"), encoding: .utf8)
        #expect(try CandorConfiguration.fromYAML(text, source: "config/candor.yaml") == CandorConfiguration())
    }

    @Test func environmentVariablesOverrideTheFile() throws {
        var configuration = try CandorConfiguration.fromYAML("server:\n  port: 9000\n", source: "test")
        #expect(configuration.server.port == 9000)
        try configuration.applyEnvironment(["CANDOR_SERVER_PORT": "9100", "CANDOR_ADMIN_TOKEN": "t", "HOME": "/root"])
        #expect(configuration.server.port == 9100)
        #expect(configuration.admin.token == "t")
    }

    @Test func unknownSettingsAndBadValuesAreErrors() {
        #expect(throws: CandorConfiguration.LoadError.self) { try CandorConfiguration.fromYAML("server:\n  prot: 1\n", source: "test") }
        #expect(throws: CandorConfiguration.LoadError.self) { try CandorConfiguration.fromYAML("server:\n  port: lots\n", source: "test") }
        #expect(throws: CandorConfiguration.LoadError.self) {
            try CandorConfiguration.fromYAML("cache:\n  max_bytes: -1\n", source: "test")
        }
    }
}

extension ContractTests {
    @Test func aSettingWithoutAValueIsAnErrorNotText() {
        #expect(throws: CandorConfiguration.LoadError.self) { try CandorConfiguration.fromYAML("admin:\n  token:\n", source: "test") }
    }
}

extension ContractTests {
    /// YAML would read `on` as true and `012` as 12; a token is kept exactly as written.
    @Test func stringSettingsKeepTheirTextAsWritten() throws {
        #expect(try CandorConfiguration.fromYAML("admin:\n  token: on\n", source: "test").admin.token == "on")
        #expect(try CandorConfiguration.fromYAML("admin:\n  token: 0x1F\n", source: "test").admin.token == "0x1F")
        #expect(try CandorConfiguration.fromYAML("admin:\n  token: \"\"\n", source: "test").admin.token == "")
    }
}
