import CandorExplain
import CandorModel
import CandorTensor
import Crypto
import Foundation
import HTTPTypes
import Hummingbird
import NIOCore

/// `POST /v1/models/{name}/predict`, `POST /v1/models/{name}/explain` and
/// `POST /v1/models/{name}/evaluate`.
struct InferenceRoutes {
    let service: CandorService

    func register(on router: Router<CandorRequestContext>) {
        router.post("/v1/models/{name}/predict") { request, context in try await predict(request, context) }
        router.post("/v1/models/{name}/explain") { request, context in try await explain(request, context) }
        router.post("/v1/models/{name}/evaluate") { request, context in try await evaluate(request, context) }
    }

    private func model(_ context: CandorRequestContext) throws -> LoadedModel {
        try service.model(named: context.parameters.get("name") ?? "")
    }

    func predict(_ request: Request, _ context: CandorRequestContext) async throws -> Response {
        try service.pool.refuseIfFull()
        let model = try model(context)
        let body = try await Self.body(request, limit: service.configuration.server.maxBodyBytes, allowedKeys: ["inputs"], model: model)
        let outputs = try await outputs(for: body["inputs"], model: model, context)
        struct Body: Encodable { let outputs: [String: [NestedTensor]] }
        let named = Dictionary(
            uniqueKeysWithValues: zip(model.model.outputs.map(\.name), outputs.map { $0.unstacked().map(NestedTensor.init) }))
        return try JSONResponse.make(Body(outputs: named))
    }

    /// The model's outputs for a request's `inputs` in any of their forms (pictures are
    /// decoded on the worker pool).
    func outputs(for inputs: JSONValue?, model: LoadedModel, _ context: CandorRequestContext) async throws -> [Tensor] {
        let limits = service.configuration.limits
        let tensors = try await parsing(["inputs": inputs ?? .null], model: model, context) {
            try InstanceDecoding(model: model, limits: limits).decode(inputs, allowingText: true)
        }
        return try await Self.predictions(of: tensors, model: model, service: service, context: context)
    }

    /// The model's outputs for `inputs`, computed on the worker pool; NaN or infinity in them
    /// is a 422.
    static func predictions(
        of inputs: [Tensor], model: LoadedModel, service: CandorService, context: CandorRequestContext
    ) async throws -> [Tensor] {
        let outputs = try await service.compute("\(model.name) predict", for: context) { _ in
            do { return try model.model.predict(inputs) } catch let error as ModelError { throw Problem(error) }
        }
        guard outputs.allSatisfy(\.isFinite) else {
            throw Problem(.unprocessableContent, code: "non-finite-result", detail: "the model produced NaN or infinity for this input")
        }
        return outputs
    }

    func explain(_ request: Request, _ context: CandorRequestContext) async throws -> Response {
        try service.pool.refuseIfFull()
        let model = try model(context)
        let body = try await Self.body(
            request, limit: service.configuration.server.maxBodyBytes, allowedKeys: ExplainRequest.fields, model: model)
        return try await explain(body, model: model, request: request, context)
    }

    /// The explanation an explain request's `body` asks for, from the cache when it holds it.
    func explain(
        _ body: [String: JSONValue], model: LoadedModel, request: Request, _ context: CandorRequestContext
    ) async throws -> Response {
        let start = ContinuousClock.now
        let (catalog, metricCatalog, limits) = (service.catalog, service.metricCatalog, service.configuration.limits)
        let pictureTypes = PictureNegotiation.acceptedPictureTypes(request.headers[values: .accept])
        let parsed = try await parsing(body, model: model, context) {
            try ExplainRequest(
                body, model: model, catalog: catalog, metricCatalog: metricCatalog, limits: limits, pictureTypes: pictureTypes)
        }
        let key = parsed.cacheKey
        let bypassesCache = request.headers[.cacheControl]?.contains("no-cache") ?? false
        if service.cache.isEnabled && !bypassesCache, let cached = service.cache.value(for: key) {
            audit(parsed, answer: cached, cacheHit: true, context: context, start: start)
            return Self.response(cached.body, mediaType: parsed.mediaType, cache: "hit")
        }

        let maxBatchElements = service.configuration.limits.maxBatchElements
        let (pool, audited) = (service.pool, service.audit != nil)
        let answer = try await service.compute("\(model.name) \(parsed.method)", for: context) { cancellation in
            let explanations = try parsed.run(
                ExplanationContext(cancellation: cancellation, maxBatchElements: maxBatchElements, idleWorkers: pool))
            let body = try parsed.responseBody(explanations)
            let digest = AuditDigest.ifAudited(
                audited, params: parsed.effectiveParameters, targets: explanations.map(\.target),
                outputs: explanations.map(\.output), inputs: parsed.problem.inputs, body: body)
            return ResponseCache.Answer(body: body, audit: digest)
        }
        if service.cache.isEnabled { service.cache.store(answer.body, audit: answer.audit, for: key) }
        service.metrics.recordExplanation(method: parsed.method, duration: ContinuousClock.now - start)
        audit(parsed, answer: answer, cacheHit: false, context: context, start: start)
        return Self.response(answer.body, mediaType: parsed.mediaType, cache: "miss")
    }

    /// Hands the audit log the record of an explanation about to be sent.
    private func audit(
        _ parsed: ExplainRequest, answer: ResponseCache.Answer, cacheHit: Bool, context: CandorRequestContext,
        start: ContinuousClock.Instant
    ) {
        guard let audit = service.audit else { return }
        audit.record(
            answer.audit.map { digest in
                AuditRecord(
                    route: "explain", context: context, model: parsed.model, method: parsed.method, output: parsed.problem.output,
                    digest: digest, mediaType: parsed.mediaType, body: answer.body, storePayload: audit.storePayloads, cacheHit: cacheHit,
                    latency: ContinuousClock.now - start)
            })
    }

    /// Checks a request on the worker pool when it carries pictures — decoding and resizing
    /// them is CPU work that must not hold the threads serving requests, and it then counts
    /// against the pool's queue and deadline — and in place otherwise, where it is cheap.
    private func parsing<Parsed: Sendable>(
        _ body: [String: JSONValue], model: LoadedModel, _ context: CandorRequestContext,
        _ parse: @escaping @Sendable () throws -> Parsed
    ) async throws -> Parsed {
        guard ImageInstances.holdsPictures(body["inputs"]) else { return try parse() }
        return try await service.compute("\(model.name) decode", for: context) { _ in try parse() }
    }

    /// The request as JSON, or as a form of pictures (`ImageForm`).
    private static func body(_ request: Request, limit: Int, allowedKeys: Set<String>, model: LoadedModel) async throws -> [String:
        JSONValue]
    {
        guard ImageForm.isForm(request) else { return try await RequestBody.jsonObject(request, limit: limit, allowedKeys: allowedKeys) }
        return try await ImageForm.jsonObject(
            request, limit: limit, allowedKeys: allowedKeys, inputNames: model.model.inputs.map(\.name))
    }

    /// The answer, JSON or a picture; either way it depends on `Accept` (`PictureNegotiation`),
    /// which caches are told.
    private static func response(_ bytes: [UInt8], mediaType: String, cache: String) -> Response {
        guard mediaType != "application/json" else {
            return JSONResponse.make(bytes: bytes, headers: [.cache: cache, .vary: "Accept"])
        }
        return Response(
            status: .ok, headers: [.contentType: mediaType, .cache: cache, .vary: "Accept"],
            body: .init(byteBuffer: ByteBuffer(bytes: bytes)))
    }

    func evaluate(_ request: Request, _ context: CandorRequestContext) async throws -> Response {
        let start = ContinuousClock.now
        try service.pool.refuseIfFull()
        let model = try model(context)
        let body = try await RequestBody.jsonObject(
            request, limit: service.configuration.server.maxBodyBytes, allowedKeys: EvaluateRequest.fields)
        let parsed = try EvaluateRequest(
            body, model: model, catalog: service.catalog, metricCatalog: service.metricCatalog, limits: service.configuration.limits)
        let maxBatchElements = service.configuration.limits.maxBatchElements
        let (pool, audited) = (service.pool, service.audit != nil)
        let (answer, digest) = try await service.compute("\(model.name) evaluate", for: context) { cancellation in
            let evaluations = try parsed.run(
                ExplanationContext(cancellation: cancellation, maxBatchElements: maxBatchElements, idleWorkers: pool))
            let body = try parsed.responseBody(evaluations)
            let digest = AuditDigest.ifAudited(
                audited, params: parsed.auditedParameters, targets: evaluations.map(\.target), outputs: evaluations.map(\.output),
                inputs: parsed.problem.inputs, body: body)
            return (body, digest)
        }
        if let audit = service.audit {
            audit.record(
                digest.map { digest in
                    AuditRecord(
                        route: "evaluate", context: context, model: model, method: parsed.methodName, output: parsed.problem.output,
                        digest: digest, mediaType: "application/json", body: answer, storePayload: audit.storePayloads, cacheHit: false,
                        latency: ContinuousClock.now - start)
                })
        }
        return JSONResponse.make(bytes: answer)
    }
}

/// The explain response body (`ExplainResponse` in openapi.yaml): the model's name and SHA-256,
/// the method, its effective parameters and one explanation per instance.
struct ExplainResponse: Encodable {
    struct ModelReference: Encodable {
        let name: String
        let sha256: String
    }
    let model: ModelReference
    let method: String
    let params: [String: JSONValue]
    /// Each requested metric's effective parameters; absent without `evaluate`.
    let evaluateParams: [String: JSONValue]?
    /// The drawing options with their defaults; absent without `render`.
    let render: [String: JSONValue]?
    let explanations: [ExplanationBody]

    enum CodingKeys: String, CodingKey {
        case model, method, params, render, explanations
        case evaluateParams = "evaluate_params"
    }
}

/// One instance's explanation: target (and its class name when known), the model's output,
/// the attributions (an array for a single-input model, an object by input name otherwise)
/// and the method's own fields beside them.
struct ExplanationBody: Encodable {
    let target: Int
    let targetName: String?
    let output: Tensor
    var attributions: [(String, Tensor)]
    /// The tokens the attributions are of, for text instances.
    var tokens: [TextExplanation.Token]?
    /// The words the attributions are of, for lime on text instances.
    var words: [TextExplanation.Word]?
    /// With `render` on text instances, the text highlighted as an HTML fragment.
    var html: String?
    let extras: [String: JSONValue]
    /// `attributions_stderr`, shaped as `attributions` (sampling methods only).
    let standardErrors: [(String, Tensor)]?
    /// The requested metrics by name; absent without `evaluate`.
    let quality: [String: JSONValue]
    /// The picture of the explanation as a `data:` URL; absent without `render`.
    let image: String?

    init(_ explanation: InstanceExplanation, model: LoadedModel, image: String? = nil) {
        target = explanation.target
        targetName = Self.targetName(explanation, model: model)
        self.image = image
        output = explanation.output
        attributions = Array(zip(model.model.inputs.map(\.name), explanation.attribution.attributions))
        extras = explanation.attribution.extras
        standardErrors = explanation.attribution.standardErrors.map { Array(zip(model.model.inputs.map(\.name), $0)) }
        quality = explanation.quality
    }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: DynamicKey.self)
        try container.encode(target, forKey: DynamicKey("target"))
        try container.encodeIfPresent(targetName, forKey: DynamicKey("target_name"))
        try container.encode(NestedTensor(tensor: output), forKey: DynamicKey("output"))
        try container.encodeIfPresent(tokens, forKey: DynamicKey("tokens"))
        try container.encodeIfPresent(words, forKey: DynamicKey("words"))
        try Self.encode(attributions, as: "attributions", in: &container)
        if let standardErrors { try Self.encode(standardErrors, as: "attributions_stderr", in: &container) }
        for (key, value) in extras.sorted(by: { $0.key < $1.key }) { try container.encode(value, forKey: DynamicKey(key)) }
        if !quality.isEmpty { try container.encode(JSONValue.object(quality), forKey: DynamicKey("quality")) }
        try container.encodeIfPresent(image, forKey: DynamicKey("image"))
        try container.encodeIfPresent(html, forKey: DynamicKey("html"))
    }

    /// The target's class name, when the sidecar names the classes.
    static func targetName(_ explanation: InstanceExplanation, model: LoadedModel) -> String? {
        model.metadata.classNames.flatMap { explanation.target < $0.count ? $0[explanation.target] : nil }
    }

    /// One tensor per input: the array itself for a single-input model, else an object by
    /// input name.
    private static func encode(
        _ tensors: [(String, Tensor)], as key: String, in container: inout KeyedEncodingContainer<DynamicKey>
    ) throws {
        if tensors.count == 1 {
            try container.encode(NestedTensor(tensor: tensors[0].1), forKey: DynamicKey(key))
        } else {
            var byInput = container.nestedContainer(keyedBy: DynamicKey.self, forKey: DynamicKey(key))
            for (name, tensor) in tensors { try byInput.encode(NestedTensor(tensor: tensor), forKey: DynamicKey(name)) }
        }
    }
}
