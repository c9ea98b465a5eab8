import CandorExplain
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

    /// Every method of the catalog is a `MethodName` with a `…Params` schema that declares
    /// exactly its parameters, each with the catalog's type and default.
    @Test func openAPIDeclaresEveryMethodWithItsParameters() throws {
        let text = try String(contentsOf: Fixtures.repository.appendingPathComponent("openapi.yaml"), encoding: .utf8)
        let document = try #require(try Yams.load(yaml: text) as? [String: Any])
        let schemas = try #require((document["components"] as? [String: Any])?["schemas"] as? [String: Any])
        let names = try #require((schemas["MethodName"] as? [String: Any])?["enum"] as? [String])
        #expect(names == MethodCatalog.standard.names)
        let types = try #require(
            ((schemas["MethodParameterInfo"] as? [String: Any])?["properties"] as? [String: Any]).flatMap {
                ($0["type"] as? [String: Any])?["enum"] as? [String]
            })
        for explainer in MethodCatalog.standard.explainers {
            let descriptor = explainer.descriptor
            let schemaName = descriptor.name.split(separator: "_").map { $0.prefix(1).uppercased() + $0.dropFirst() }.joined() + "Params"
            let schema = try #require(schemas[schemaName] as? [String: Any], "openapi.yaml has no \(schemaName)")
            let properties = schema["properties"] as? [String: Any] ?? [:]
            #expect(Set(properties.keys) == Set(descriptor.parameters.map(\.name)), "\(schemaName)")
            for parameter in descriptor.parameters {
                #expect(types.contains(parameter.typeName), "MethodParameterInfo lacks type \(parameter.typeName)")
                guard let property = properties[parameter.name] as? [String: Any], property["$ref"] == nil,
                    let expected = parameter.defaultValue
                else { continue }
                let documented = (property["default"] as? NSNumber)?.doubleValue
                if case .number(let number) = expected {
                    #expect(documented == number, "\(schemaName).\(parameter.name) default")
                }
            }
        }
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
