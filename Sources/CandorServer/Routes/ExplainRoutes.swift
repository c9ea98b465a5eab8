import CandorExplain
import CandorModel
import CandorTensor
import Crypto
import Foundation
import HTTPTypes
import Hummingbird

/// `POST /v1/models/{name}/predict` and `POST /v1/models/{name}/explain`.
struct InferenceRoutes {
    let service: CandorService

    func register(on router: Router<CandorRequestContext>) {
        router.post("/v1/models/{name}/predict") { request, context in try await predict(request, context) }
        router.post("/v1/models/{name}/explain") { request, context in try await explain(request, context) }
    }

    private func model(_ context: CandorRequestContext) throws -> LoadedModel {
        let name = context.parameters.get("name") ?? ""
        guard let model = service.registry.model(named: name) else {
            throw Problem.notFound("unknown-model", "no model named '\(name)' is loaded; GET /v1/models lists them")
        }
        return model
    }

    func predict(_ request: Request, _ context: CandorRequestContext) async throws -> Response {
        let model = try model(context)
        let body = try await RequestBody.jsonObject(request, limit: service.configuration.server.maxBodyBytes, allowedKeys: ["inputs"])
        let inputs = try InstanceDecoding(model: model, limits: service.configuration.limits).decode(body["inputs"])
        let outputs = try await service.compute { _ in
            do { return try model.model.predict(inputs) } catch let error as ModelError { throw Problem(error) }
        }
        guard outputs.allSatisfy(\.isFinite) else {
            throw Problem(.unprocessableContent, code: "non-finite-result", detail: "the model produced NaN or infinity for this input")
        }
        struct Body: Encodable { let outputs: [String: [NestedTensor]] }
        let named = Dictionary(
            uniqueKeysWithValues: zip(model.model.outputs.map(\.name), outputs.map { $0.unstacked().map(NestedTensor.init) }))
        return try JSONResponse.make(Body(outputs: named))
    }

    func explain(_ request: Request, _ context: CandorRequestContext) async throws -> Response {
        let start = ContinuousClock.now
        let model = try model(context)
        let body = try await RequestBody.jsonObject(
            request, limit: service.configuration.server.maxBodyBytes, allowedKeys: ["method", "inputs", "target", "output", "params"])
        guard case .string(let methodName)? = body["method"] else {
            throw Problem.badRequest(
                "invalid-parameter",
                "'method' must be given as a string; GET /v1/methods lists them: \(service.catalog.names.joined(separator: ", "))")
        }
        guard let explainer = service.catalog.explainer(named: methodName) else {
            throw Problem.badRequest(
                "unknown-method", "unknown method '\(methodName)'; available: \(service.catalog.names.joined(separator: ", "))")
        }
        let inputs = try InstanceDecoding(model: model, limits: service.configuration.limits).decode(body["inputs"])
        let output = try outputIndex(body["output"], model: model)
        let targets = try self.targets(body["target"], model: model, batch: inputs[0].shape[0])
        let parameters: [String: JSONValue]
        switch body["params"] {
        case nil, .null?: parameters = [:]
        case .object(let object)?: parameters = object
        case let other?: throw Problem.badRequest("invalid-parameter", "'params' must be an object, got \(other.typeName)")
        }

        let problem = ExplanationProblem(model: model.model, inputs: inputs, output: output, targets: targets)
        let plan: any ExplanationPlan
        do { plan = try explainer.prepare(parameters, for: problem) } catch { throw Problem(error) }

        let key = cacheKey(model: model, method: methodName, plan: plan, output: output, targets: targets, inputs: inputs)
        let bypassesCache = request.headers[.cacheControl]?.contains("no-cache") ?? false
        if service.cache.isEnabled && !bypassesCache, let cached = service.cache.value(for: key) {
            return JSONResponse.make(bytes: cached, headers: [.cache: "hit"])
        }

        let maxBatchElements = service.configuration.limits.maxBatchElements
        let explanations = try await service.compute { cancellation in
            do {
                return try ExplanationRunner.run(
                    plan, problem: problem, context: ExplanationContext(cancellation: cancellation, maxBatchElements: maxBatchElements))
            } catch let error as ExplanationError {
                throw Problem(error)
            }
        }
        let response = ExplainResponse(
            model: .init(name: model.name, sha256: model.sha256), method: methodName, params: plan.effectiveParameters,
            explanations: explanations.map { ExplanationBody($0, model: model) })
        let bytes = try Array(JSONEncoder.candor.encode(response))
        if service.cache.isEnabled { service.cache.store(bytes, for: key) }
        service.metrics.recordExplanation(method: methodName, duration: ContinuousClock.now - start)
        return JSONResponse.make(bytes: bytes, headers: [.cache: "miss"])
    }

    private func outputIndex(_ value: JSONValue?, model: LoadedModel) throws -> Int {
        let names = model.model.outputs.map(\.name)
        switch value {
        case nil, .null?: return 0
        case .string(let name)?:
            guard let index = names.firstIndex(of: name) else {
                throw Problem.badRequest(
                    "unknown-output", "the model has no output '\(name)'; its outputs: \(names.joined(separator: ", "))")
            }
            return index
        case let other?:
            throw Problem.badRequest(
                "unknown-output", "'output' must be an output name (\(names.joined(separator: ", "))), got \(other.typeName)")
        }
    }

    /// `target`: omitted (each instance's argmax), one index or class name for every instance,
    /// or an array with one per instance.
    private func targets(_ value: JSONValue?, model: LoadedModel, batch: Int) throws -> [Int]? {
        func index(_ value: JSONValue) throws -> Int {
            switch value {
            case .number(let number) where number == number.rounded() && abs(number) < 1e9:
                return Int(number)
            case .string(let name):
                guard let classes = model.metadata.classNames, let index = classes.firstIndex(of: name) else {
                    let known =
                        model.metadata.classNames.map { "; classes: \($0.joined(separator: ", "))" }
                        ?? " (the model's sidecar names no classes)"
                    throw Problem.badRequest("invalid-target", "unknown class '\(name)'\(known)")
                }
                return index
            default:
                throw Problem.badRequest(
                    "invalid-target", "'target' must be a class index, a class name or an array of them, got \(value.typeName)")
            }
        }
        switch value {
        case nil, .null?: return nil
        case .array(let items)?:
            guard items.count == batch else {
                throw Problem.badRequest("invalid-target", "'target' has \(items.count) entries for \(batch) instances")
            }
            return try items.map(index)
        case let single?:
            return Array(repeating: try index(single), count: batch)
        }
    }

    /// SHA-256 of everything that determines the answer.
    private func cacheKey(model: LoadedModel, method: String, plan: any ExplanationPlan, output: Int, targets: [Int]?, inputs: [Tensor])
        -> String
    {
        var hash = SHA256()
        hash.update(data: Data(model.sha256.utf8))
        hash.update(data: Data(method.utf8))
        hash.update(data: (try? JSONEncoder.candor.encode(plan.effectiveParameters)) ?? Data())
        hash.update(data: Data("output \(output) targets \(targets.map { "\($0)" } ?? "argmax")".utf8))
        for input in inputs {
            hash.update(data: Data("\(input.shape)".utf8))
            input.scalars.withUnsafeBytes { hash.update(bufferPointer: $0) }
        }
        return hash.finalize().map { String(format: "%02x", $0) }.joined()
    }
}

/// The explain response body (DESIGN.md, "explain response").
struct ExplainResponse: Encodable {
    struct ModelReference: Encodable {
        let name: String
        let sha256: String
    }
    let model: ModelReference
    let method: String
    let params: [String: JSONValue]
    let explanations: [ExplanationBody]
}

/// One instance's explanation: target (and its class name when known), the model's output,
/// the attributions (an array for a single-input model, an object by input name otherwise)
/// and the method's own fields beside them.
struct ExplanationBody: Encodable {
    let target: Int
    let targetName: String?
    let output: Tensor
    let attributions: [(String, Tensor)]
    let extras: [String: JSONValue]

    init(_ explanation: InstanceExplanation, model: LoadedModel) {
        target = explanation.target
        targetName = model.metadata.classNames.flatMap { explanation.target < $0.count ? $0[explanation.target] : nil }
        output = explanation.output
        attributions = Array(zip(model.model.inputs.map(\.name), explanation.attribution.attributions))
        extras = explanation.attribution.extras
    }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: DynamicKey.self)
        try container.encode(target, forKey: DynamicKey("target"))
        try container.encodeIfPresent(targetName, forKey: DynamicKey("target_name"))
        try container.encode(NestedTensor(tensor: output), forKey: DynamicKey("output"))
        if attributions.count == 1 {
            try container.encode(NestedTensor(tensor: attributions[0].1), forKey: DynamicKey("attributions"))
        } else {
            var byInput = container.nestedContainer(keyedBy: DynamicKey.self, forKey: DynamicKey("attributions"))
            for (name, tensor) in attributions { try byInput.encode(NestedTensor(tensor: tensor), forKey: DynamicKey(name)) }
        }
        for (key, value) in extras.sorted(by: { $0.key < $1.key }) { try container.encode(value, forKey: DynamicKey(key)) }
    }
}
