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

    /// `GET /v2` reports the version the contract states.
    @Test func openAPIVersionIsTheServersVersion() throws {
        let text = try String(contentsOf: Fixtures.repository.appendingPathComponent("openapi.yaml"), encoding: .utf8)
        let document = try #require(try Yams.load(yaml: text) as? [String: Any])
        #expect((document["info"] as? [String: Any])?["version"] as? String == CandorService.version)
    }

    /// The explain request is a `oneOf` of one schema per catalog method, discriminated by
    /// `method`, so fuzzers and client generators can build requests from the contract.
    @Test func openAPIExplainRequestIsOneSchemaPerMethodChosenByMethod() throws {
        let schemas = try OpenAPISchemas.load()
        #expect(try schemas.strings(at: ["MethodName", "enum"]) == MethodCatalog.standard.names)
        let request = try schemas.schema("ExplainRequest")
        let discriminator = try #require(request["discriminator"] as? [String: Any])
        #expect(discriminator["propertyName"] as? String == "method")
        let mapping = try #require(discriminator["mapping"] as? [String: String])
        let expected = Dictionary(
            uniqueKeysWithValues: MethodCatalog.standard.names.map { ($0, OpenAPISchemas.reference("ExplainRequest_\($0)")) })
        #expect(mapping == expected)
        let alternatives = try #require(request["oneOf"] as? [[String: Any]]).compactMap { $0["$ref"] as? String }
        #expect(alternatives == MethodCatalog.standard.names.map { OpenAPISchemas.reference("ExplainRequest_\($0)") })
        for name in MethodCatalog.standard.names {
            let method = try schemas.schema("ExplainRequest_\(name)")
            #expect(method["unevaluatedProperties"] as? Bool == false, "ExplainRequest_\(name) must refuse unknown fields")
            let parts = try #require(method["allOf"] as? [[String: Any]], "ExplainRequest_\(name)")
            #expect(parts.first?["$ref"] as? String == OpenAPISchemas.reference("ExplainRequestCommon"))
            let properties = try #require(parts.last?["properties"] as? [String: Any], "ExplainRequest_\(name)")
            #expect((properties["method"] as? [String: Any])?["enum"] as? [String] == [name], "ExplainRequest_\(name).method")
            #expect(Set(properties.keys) == ["method", "params"], "ExplainRequest_\(name)")
        }
    }

    /// Each method's `params` schema declares exactly the catalog's parameters, each with the
    /// catalog's type, choices, default and limits, and refuses any other name.
    @Test func openAPIDeclaresEveryMethodWithItsParameters() throws {
        let schemas = try OpenAPISchemas.load()
        let types = try schemas.strings(at: ["MethodParameterInfo", "properties", "type", "enum"])
        for descriptor in MethodCatalog.standard.explainers.map(\.descriptor) {
            let schemaName = try schemas.parametersSchemaName(ofMethod: descriptor.name)
            let schema = try schemas.schema(schemaName)
            #expect(schema["additionalProperties"] as? Bool == false, "\(schemaName) must refuse unknown parameters")
            let properties = schema["properties"] as? [String: Any] ?? [:]
            #expect(Set(properties.keys) == Set(descriptor.parameters.map(\.name)), "\(schemaName)")
            for parameter in descriptor.parameters {
                #expect(types.contains(parameter.typeName), "MethodParameterInfo lacks type \(parameter.typeName)")
                guard let property = properties[parameter.name] as? [String: Any] else { continue }
                let label = "\(schemaName).\(parameter.name)"
                try schemas.expect(property, declares: parameter, label: label)
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

/// The `components/schemas` of `openapi.yaml`, with the lookups the contract tests need.
struct OpenAPISchemas {
    let schemas: [String: Any]

    static func load() throws -> OpenAPISchemas {
        let text = try String(contentsOf: Fixtures.repository.appendingPathComponent("openapi.yaml"), encoding: .utf8)
        let document = try #require(try Yams.load(yaml: text) as? [String: Any])
        return OpenAPISchemas(schemas: try #require((document["components"] as? [String: Any])?["schemas"] as? [String: Any]))
    }

    static func reference(_ name: String) -> String { "#/components/schemas/\(name)" }

    func schema(_ name: String) throws -> [String: Any] {
        try #require(schemas[name] as? [String: Any], "openapi.yaml has no schema \(name)")
    }

    /// The string array at a key path whose first key names a schema.
    func strings(at path: [String]) throws -> [String] {
        var node: Any? = schemas
        for key in path { node = (node as? [String: Any])?[key] }
        return try #require(node as? [String], "openapi.yaml has no \(path.joined(separator: "."))")
    }

    /// The name of the schema that `ExplainRequest_<method>` gives its `params` (directly or
    /// as the non-null alternative of an `anyOf`).
    func parametersSchemaName(ofMethod method: String) throws -> String {
        let parts = try #require(try schema("ExplainRequest_\(method)")["allOf"] as? [[String: Any]])
        let params = try #require((parts.last?["properties"] as? [String: Any])?["params"] as? [String: Any])
        let candidates = [params] + (params["anyOf"] as? [[String: Any]] ?? [])
        let reference = try #require(candidates.lazy.compactMap { $0["$ref"] as? String }.first, "ExplainRequest_\(method).params")
        return String(reference.dropFirst(Self.reference("").count))
    }

    /// Checks one parameter's schema against its declaration: the JSON type (and the choices
    /// of a string), the default and the limits.
    func expect(_ property: [String: Any], declares parameter: ParameterSpec, label: String) throws {
        let referenced = try (property["$ref"] as? String).map { try schema(String($0.dropFirst(Self.reference("").count))) }
        switch parameter.kind {
        case .boolean: #expect(property["type"] as? String == "boolean", "\(label) type")
        case .integer: #expect(property["type"] as? String == "integer", "\(label) type")
        case .number: #expect(property["type"] as? String == "number", "\(label) type")
        case .text: #expect(property["type"] as? String == "string" && property["enum"] == nil, "\(label) type")
        case .choice(let choices):
            #expect(property["type"] as? String == "string", "\(label) type")
            #expect(property["enum"] as? [String] == choices, "\(label) choices")
        case .baselines, .featureMask, .instances, .integers, .classLabel, .interval, .features, .featureRanges, .featureGroups,
            .featureItems:
            #expect(property["$ref"] != nil || property["anyOf"] != nil, "\(label) is a \(parameter.typeName)")
        case .object: #expect(property["type"] as? String == "object", "\(label) type")
        }
        let documentedDefault = (property["default"] ?? referenced?["default"]).map(Self.jsonValue)
        if property["$ref"] == nil || parameter.defaultValue != nil {
            #expect(documentedDefault == parameter.defaultValue, "\(label) default")
        }
        // One integer or an array of them: both forms carry the limits.
        let bounded =
            if case .integers = parameter.kind {
                (property["anyOf"] as? [[String: Any]] ?? []).map { $0["items"] as? [String: Any] ?? $0 }
            } else { [property] }
        for schema in bounded {
            #expect(Self.number(schema["minimum"]) == parameter.minimum, "\(label) minimum")
            #expect(Self.number(schema["maximum"]) == parameter.maximum, "\(label) maximum")
        }
    }

    static func number(_ value: Any?) -> Double? {
        switch value {
        case let value as Int: Double(value)
        case let value as Double: value
        default: nil
        }
    }

    /// A value as Yams reads it, as the catalog's `JSONValue`.
    static func jsonValue(_ value: Any) -> JSONValue {
        switch value {
        case let value as Bool: .bool(value)
        case let value as Int: .number(Double(value))
        case let value as Double: .number(value)
        case let value as String: .string(value)
        case let value as [Any]: .array(value.map(jsonValue))
        case let value as [String: Any]: .object(value.mapValues(jsonValue))
        default: .null
        }
    }
}

extension ContractTests {
    /// Each metric's parameters schema under `MetricParams` declares exactly the catalog's
    /// parameters with their types, defaults and limits, and `MetricName` lists the catalog.
    @Test func openAPIDeclaresEveryMetricWithItsParameters() throws {
        let schemas = try OpenAPISchemas.load()
        #expect(try schemas.strings(at: ["MetricName", "enum"]) == MetricCatalog.standard.names)
        let byMetric = try #require(try schemas.schema("MetricParams")["properties"] as? [String: Any])
        #expect(Set(byMetric.keys) == Set(MetricCatalog.standard.names))
        for descriptor in MetricCatalog.standard.metrics.map(\.descriptor) {
            let reference = try #require(
                (byMetric[descriptor.name] as? [String: Any])?["$ref"] as? String, "MetricParams.\(descriptor.name)")
            let schemaName = String(reference.dropFirst(OpenAPISchemas.reference("").count))
            let schema = try schemas.schema(schemaName)
            #expect(schema["additionalProperties"] as? Bool == false, "\(schemaName) must refuse unknown parameters")
            let properties = schema["properties"] as? [String: Any] ?? [:]
            #expect(Set(properties.keys) == Set(descriptor.parameters.map(\.name)), "\(schemaName) for \(descriptor.name)")
            for parameter in descriptor.parameters {
                guard let property = properties[parameter.name] as? [String: Any] else { continue }
                try schemas.expect(property, declares: parameter, label: "\(schemaName).\(parameter.name)")
            }
        }
    }
}

extension ContractTests {
    /// The analysis request is a `oneOf` of one schema per catalog analysis, discriminated by
    /// `analysis`, each declaring exactly the catalog's parameters with their types, defaults
    /// and limits.
    @Test func openAPIDeclaresEveryAnalysisWithItsParameters() throws {
        let schemas = try OpenAPISchemas.load()
        let names = AnalysisCatalog.standard.names
        #expect(try schemas.strings(at: ["AnalysisName", "enum"]) == names)
        let request = try schemas.schema("AnalysisRequest")
        let discriminator = try #require(request["discriminator"] as? [String: Any])
        #expect(discriminator["propertyName"] as? String == "analysis")
        let mapping = try #require(discriminator["mapping"] as? [String: String])
        #expect(mapping == Dictionary(uniqueKeysWithValues: names.map { ($0, OpenAPISchemas.reference("AnalysisRequest_\($0)")) }))
        let alternatives = try #require(request["oneOf"] as? [[String: Any]]).compactMap { $0["$ref"] as? String }
        #expect(alternatives == names.map { OpenAPISchemas.reference("AnalysisRequest_\($0)") })
        for descriptor in AnalysisCatalog.standard.analyses.map(\.descriptor) {
            let name = "AnalysisRequest_\(descriptor.name)"
            let analysis = try schemas.schema(name)
            #expect(analysis["unevaluatedProperties"] as? Bool == false, "\(name) must refuse unknown fields")
            let parts = try #require(analysis["allOf"] as? [[String: Any]], "\(name)")
            #expect(parts.first?["$ref"] as? String == OpenAPISchemas.reference("AnalysisRequestCommon"))
            let properties = try #require(parts.last?["properties"] as? [String: Any], "\(name)")
            #expect((properties["analysis"] as? [String: Any])?["enum"] as? [String] == [descriptor.name], "\(name).analysis")
            let reference = try #require((properties["params"] as? [String: Any])?["$ref"] as? String, "\(name).params")
            let schemaName = String(reference.dropFirst(OpenAPISchemas.reference("").count))
            let schema = try schemas.schema(schemaName)
            #expect(schema["additionalProperties"] as? Bool == false, "\(schemaName) must refuse unknown parameters")
            let declared = schema["properties"] as? [String: Any] ?? [:]
            #expect(Set(declared.keys) == Set(descriptor.parameters.map(\.name)), "\(schemaName)")
            for parameter in descriptor.parameters {
                guard let property = declared[parameter.name] as? [String: Any] else { continue }
                try schemas.expect(property, declares: parameter, label: "\(schemaName).\(parameter.name)")
            }
        }
    }
}
