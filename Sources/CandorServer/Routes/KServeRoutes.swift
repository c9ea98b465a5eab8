import CandorExplain
import CandorModel
import CandorTensor
import Hummingbird

/// KServe's V1 data plane verbs, `POST /v1/models/{name}:predict` and
/// `POST /v1/models/{name}:explain`, both taking `{"instances": [...]}`, so that Candor runs as
/// a KServe `InferenceService` (predictor or explainer container) unchanged:
///
/// - `:predict` answers `{"predictions": [...]}`, one value of the model's first output per
///   instance;
/// - `:explain` answers what `POST /v1/models/{name}/explain` answers for those instances, with
///   the model's default method (its sidecar's `default_method` and `default_params`, else the
///   first of `tree_shap`, `integrated_gradients` and `kernel_shap` that applies; for text
///   instances, `layer_integrated_gradients`).
///
/// The instances take every form `inputs` takes, and the same limits hold.
struct KServeRoutes {
    let service: CandorService

    static let fields: Set<String> = ["instances"]
    /// The methods tried, in order, for a model whose sidecar names no default.
    static let fallbackMethods = ["tree_shap", "integrated_gradients", "kernel_shap"]

    func register(on router: Router<CandorRequestContext>) {
        router.post("/v1/models/{name}:predict") { request, context in try await predict(request, context) }
        router.post("/v1/models/{name}:explain") { request, context in try await explain(request, context) }
    }

    private func instances(_ request: Request, _ context: CandorRequestContext) async throws -> (LoadedModel, JSONValue) {
        try service.pool.refuseIfFull()
        let model = try service.model(named: context.parameters.get("name") ?? "")
        let body = try await RequestBody.jsonObject(request, limit: service.configuration.server.maxBodyBytes, allowedKeys: Self.fields)
        guard let instances = body["instances"] else {
            throw Problem.badRequest("invalid-input", "the request has no 'instances' (KServe V1: {\"instances\": [...]})")
        }
        return (model, instances)
    }

    func predict(_ request: Request, _ context: CandorRequestContext) async throws -> Response {
        let (model, instances) = try await self.instances(request, context)
        let outputs = try await InferenceRoutes(service: service).outputs(for: instances, model: model, context)
        struct Body: Encodable { let predictions: [NestedTensor] }
        return try JSONResponse.make(Body(predictions: (outputs.first?.unstacked() ?? []).map(NestedTensor.init)))
    }

    func explain(_ request: Request, _ context: CandorRequestContext) async throws -> Response {
        let (model, instances) = try await self.instances(request, context)
        var body: [String: JSONValue] = ["method": .string(try defaultMethod(of: model, for: instances)), "inputs": instances]
        if let params = model.metadata.defaultParams { body["params"] = .object(params) }
        return try await InferenceRoutes(service: service).explain(body, model: model, request: request, context)
    }

    /// The sidecar's `default_method`, else the first fallback the model meets the needs of.
    private func defaultMethod(of model: LoadedModel, for instances: JSONValue) throws -> String {
        if let method = model.metadata.defaultMethod { return method }
        if model.text != nil, TextInputs.holdsText(instances) { return "layer_integrated_gradients" }
        let applicable = Self.fallbackMethods.first { name in
            service.catalog.explainer(named: name)?.descriptor.requirement.isMet(by: model.model) ?? false
        }
        guard let applicable else {
            throw Problem(
                .unprocessableContent, code: "method-not-applicable",
                detail:
                    "none of \(Self.fallbackMethods.joined(separator: ", ")) applies to this model; name one in its sidecar's default_method"
            )
        }
        return applicable
    }
}
