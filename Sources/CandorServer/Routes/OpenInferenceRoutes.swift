import CandorExplain
import CandorModel
import CandorTensor
import HTTPTypes
import Hummingbird
import NIOCore

/// The Open Inference Protocol's REST routes (KServe V2; the HTTP API Triton and MLServer
/// serve too), so that clients and tools written for it call Candor's models unchanged:
/// `GET /v2`, `/v2/health/live`, `/v2/health/ready`, `/v2/models/{name}`,
/// `/v2/models/{name}/ready` and `POST /v2/models/{name}/infer` (`OpenInferenceRequest`,
/// with the binary tensor data extension). Their errors are `{"error": "..."}`, as the
/// protocol has them (`RequestEnvelopeMiddleware`), with the status Candor's own routes give.
struct OpenInferenceRoutes {
    let service: CandorService

    /// The protocol extensions served, as `GET /v2` lists them.
    static let extensions = ["binary_tensor_data"]

    /// Whether a request path is one of the protocol's (whose errors it words).
    static func serves(_ path: String) -> Bool { path == "/v2" || path.hasPrefix("/v2/") }

    func register(on router: Router<CandorRequestContext>) {
        router.get("/v2") { _, _ in
            try JSONResponse.make(
                ["name": "candor", "version": .string(CandorService.version), "extensions": .array(Self.extensions.map(JSONValue.string))]
                    as [String: JSONValue])
        }
        router.get("/v2/health/live") { _, _ in try JSONResponse.make(["live": true]) }
        router.get("/v2/health/ready") { _, _ in
            let ready = ServiceRoutes.unreadiness(of: service) == nil
            return try JSONResponse.make(["ready": ready], status: ready ? .ok : .serviceUnavailable)
        }
        router.get("/v2/models/{name}") { _, context in try JSONResponse.make(MetadataResponse(try model(context))) }
        router.get("/v2/models/{name}/ready") { _, context in
            try JSONResponse.make(["name": .string(try model(context).name), "ready": .bool(true)] as [String: JSONValue])
        }
        router.post("/v2/models/{name}/infer") { request, context in try await infer(request, context) }
    }

    private func model(_ context: CandorRequestContext) throws -> LoadedModel {
        try service.model(named: context.parameters.get("name") ?? "")
    }

    /// `$metadata_model_response`: the model's inputs and outputs with their datatypes and
    /// shapes, a free axis as -1. Outputs are FP32, as inference answers them.
    struct MetadataResponse: Encodable {
        struct MetadataTensor: Encodable {
            let name: String
            let datatype: String
            let shape: [Int]

            init(_ info: TensorInfo, datatype: String) {
                name = info.name
                self.datatype = datatype
                shape = info.shape.map { $0.fixedValue ?? -1 }
            }
        }
        let name: String
        let platform: String
        let inputs: [MetadataTensor]
        let outputs: [MetadataTensor]

        init(_ model: LoadedModel) {
            name = model.name
            platform = model.format.rawValue
            inputs = model.model.inputs.map { info in
                MetadataTensor(
                    info,
                    datatype: info.elementType == .int64 ? NumericElement.int64.openInferenceName : NumericElement.float32.openInferenceName
                )
            }
            outputs = model.model.outputs.map { MetadataTensor($0, datatype: NumericElement.float32.openInferenceName) }
        }
    }

    func infer(_ request: Request, _ context: CandorRequestContext) async throws -> Response {
        try service.pool.refuseIfFull()
        let model = try model(context)
        let limit = service.configuration.server.maxBodyBytes
        try RequestBody.refuseDeclaredLength(of: request, over: limit)
        var jsonLength: Int?
        if let name = HTTPField.Name(OpenInferenceRequest.headerLength), let text = request.headers[name] {
            guard let length = Int(text), length >= 0 else {
                throw Problem.badRequest("invalid-input", "\(OpenInferenceRequest.headerLength) must be a number of bytes, got '\(text)'")
            }
            jsonLength = length
        }
        var request = request
        let body = try await request.collectBody(upTo: limit)
        let parsed = try OpenInferenceRequest(
            body: Array(body.readableBytesView), jsonLength: jsonLength, model: model, limits: service.configuration.limits)
        let outputs = try await InferenceRoutes.predictions(of: parsed.inputs, model: model, service: service, context: context)
        let answer = try OpenInferenceResponse(model: model, id: parsed.id, outputs: outputs, requested: parsed.outputs)
        guard let length = answer.jsonLength, let name = HTTPField.Name(OpenInferenceRequest.headerLength) else {
            return JSONResponse.make(bytes: answer.bytes)
        }
        return Response(
            status: .ok, headers: [.contentType: "application/octet-stream", name: String(length)],
            body: .init(byteBuffer: ByteBuffer(bytes: answer.bytes)))
    }
}
