import CandorExplain
import CandorModel
import CandorTensor
import Crypto
import Foundation
import HTTPTypes
import Hummingbird

/// An explain request body checked against a model and the method catalog: everything is
/// validated and the method's plan prepared before any computation, so every client mistake
/// is a 400 found on the event loop. Used by the HTTP route and by `candor explain`.
struct ExplainRequest: Sendable {
    static let fields: Set<String> = [
        "method", "inputs", "target", "output", "params", "evaluate", "evaluate_params", "render", "reduce",
    ]

    let method: String
    let model: LoadedModel
    let problem: ExplanationProblem
    let plan: any ExplanationPlan
    /// The method and the parameters it was given, for metrics that explain again.
    let call: MethodCall
    /// The quality metrics asked for with `evaluate` (none without it).
    let metrics: MetricSelection
    /// The picture drawn of each explanation: asked for with `render`, or by an `Accept`
    /// header that takes the picture itself; nil for neither.
    let render: RenderRequest?
    /// The answer is the picture of the one explanation rather than JSON (`PictureNegotiation`).
    let wantsPicture: Bool
    /// The tokenized texts, when the instances were text: the answer is then per token, from
    /// the attributions of input `textAttributedInput` (the embeddings, the layer, or the ids).
    let text: TextInputs.Batch?
    let textAttributedInput: Int
    /// What the text attributions are of: tokens (padded or not) or words.
    let textAnswer: TextExplanation.Answer
    /// Whether each token's attributions are summed over the layer's dimensions (`reduce`).
    let textReduce: TextExplanation.Reduction?

    init(
        _ body: [String: JSONValue], model: LoadedModel, catalog: MethodCatalog, metricCatalog: MetricCatalog,
        limits: CandorConfiguration.Limits, pictureTypes: Set<String>? = nil
    ) throws {
        guard case .string(let method)? = body["method"] else {
            throw Problem.badRequest(
                "invalid-parameter",
                "'method' must be given as a string; GET /v1/methods lists them: \(catalog.names.joined(separator: ", "))")
        }
        guard let explainer = catalog.explainer(named: method) else {
            throw Problem.badRequest("unknown-method", "unknown method '\(method)'; available: \(catalog.names.joined(separator: ", "))")
        }
        // The picture asked for is settled before any input is decoded.
        render = try Self.render(body["render"] == .null ? nil : body["render"], model: model, pictureTypes: pictureTypes)
        let decoded = try InstanceDecoding(model: model, limits: limits).decodeInstances(body["inputs"])
        var inputs = decoded.tensors
        text = decoded.text
        let output = try Self.outputIndex(body["output"], model: model, requirement: explainer.descriptor.requirement)
        let targets = try Self.targets(body["target"], model: model, batch: inputs[0].shape[0])
        var parameters: [String: JSONValue]
        switch body["params"] {
        case nil, .null?: parameters = [:]
        case .object(let object)?: parameters = object
        case let other?: throw Problem.badRequest("invalid-parameter", "'params' must be an object, got \(other.typeName)")
        }
        // null stands for an omitted field, as for `params`.
        let evaluate = body["evaluate"] == .null ? nil : body["evaluate"]
        var explained = model.model
        var textPlan: (any ExplanationPlan)?
        if render?.highlightsText == true, text == nil {
            throw Problem.badRequest(
                "invalid-render", "render highlights text instances ({\"text\": ...}); these inputs are token ids, which it cannot draw")
        }
        if let text, let textInputs = model.text {
            if evaluate != nil {
                throw Problem.badRequest("invalid-input", "evaluate does not take text instances yet; ask for the explanation alone")
            }
            let setup = try TextExplanation.setup(
                parameters, explainer: explainer, catalog: catalog, text: textInputs, batch: text, model: model.model,
                output: output, reduce: try TextExplanation.Reduction(body["reduce"]), limits: limits)
            (explained, inputs, parameters) = (setup.model, setup.inputs, setup.parameters)
            (textAttributedInput, textAnswer, textPlan, textReduce) = (setup.attributedInput, setup.answer, setup.plan, setup.reduce)
        } else {
            if body["reduce"] != nil, body["reduce"] != .null {
                throw Problem.badRequest(
                    "invalid-parameter", "'reduce' applies to text instances ({\"text\": ...}), whose answers are per token")
            }
            (textAttributedInput, textAnswer, textReduce) = (0, .tokens, nil)
        }
        let problem = ExplanationProblem(model: explained, inputs: inputs, output: output, targets: targets, dataset: model.dataset)
        if let textPlan {
            plan = textPlan
        } else {
            do { plan = try explainer.prepare(parameters, for: problem) } catch { throw Problem(error) }
        }
        call = MethodCall(explainer: explainer, parameters: parameters)
        let evaluateParameters = body["evaluate_params"] == .null ? nil : body["evaluate_params"]
        if evaluate == nil, evaluateParameters != nil {
            throw Problem.badRequest("invalid-parameter", "'evaluate_params' was given without 'evaluate', the metrics it is for")
        }
        metrics =
            evaluate == nil
            ? .none
            : try MetricSelection(
                names: evaluate, parameters: evaluateParameters, fields: ("evaluate", "evaluate_params"), catalog: metricCatalog,
                problem: problem)
        if pictureTypes != nil, inputs[0].shape[0] != 1 {
            throw Problem.badRequest(
                "invalid-input", "a picture answers one instance; send one, or ask for JSON (Accept: application/json) with render")
        }
        wantsPicture = pictureTypes != nil
        self.method = method
        self.model = model
        self.problem = problem
    }

    /// The drawing asked for by `render`, or by an `Accept` header that takes only pictures
    /// (`pictureTypes`); for the latter, an input that is not drawn as one of them is a 406.
    private static func render(_ value: JSONValue?, model: LoadedModel, pictureTypes: Set<String>?) throws -> RenderRequest? {
        guard let pictureTypes else { return try value.map { try RenderRequest($0, model: model) } }
        let drawn = try Self.picture(value, model: model)
        let mediaType = drawn.picture.mediaType
        guard pictureTypes.contains(mediaType) else {
            throw Problem(
                .notAcceptable, code: "not-acceptable",
                detail:
                    "this input is drawn as \(mediaType), which the Accept header does not take; accept \(mediaType) or application/json")
        }
        return drawn
    }

    /// The drawing an `Accept` header asks for: without a `render` object, an input that
    /// cannot be drawn is a 406 (the client asked for no drawing options it got wrong).
    private static func picture(_ value: JSONValue?, model: LoadedModel) throws -> RenderRequest {
        guard value == nil else { return try RenderRequest(value, model: model) }
        switch Result(catching: { () throws(Problem) in try RenderRequest(nil, model: model) }) {
        case .success(let drawn): return drawn
        case .failure(let problem):
            throw Problem(.notAcceptable, code: "not-acceptable", detail: "the Accept header asks for a picture, but \(problem.detail)")
        }
    }

    /// Computes the explanation (on the calling thread: the route calls it on a worker).
    func run(_ context: ExplanationContext) throws -> [InstanceExplanation] {
        do { return try ExplanationRunner.run(plan, problem: problem, context: context, metrics: metrics.plans, method: call) } catch {
            throw Problem(error)
        }
    }

    /// The response body for computed explanations: the JSON answer, or with `wantsPicture`
    /// the picture itself (of `mediaType`). Drawing is CPU work: the route calls this on a
    /// worker, after `run`.
    func responseBody(_ explanations: [InstanceExplanation]) throws -> [UInt8] {
        var pictures: [[UInt8]]?
        if let render, !render.highlightsText {
            let instances = problem.inputs[render.input].unstacked()
            guard instances.count == explanations.count else {
                throw Problem(.internalServerError, code: "internal-error", detail: "an explanation is missing for an instance")
            }
            pictures = try zip(explanations, instances).map { explanation, instance in
                try render.draw(explanation, instance: instance, targetName: ExplanationBody.targetName(explanation, model: model))
            }
        }
        if wantsPicture, let picture = pictures?.first { return picture }
        let response = ExplainResponse(
            model: .init(name: model.name, sha256: model.sha256), method: method, params: effectiveParameters,
            evaluateParams: metrics.plans.isEmpty ? nil : metrics.effectiveParameters, render: render?.effective,
            explanations: try explanations.enumerated().map { index, explanation in
                var body = ExplanationBody(
                    explanation, model: model,
                    image: pictures.flatMap { pictures in
                        render.map { "data:\($0.picture.mediaType);base64,\(Data(pictures[index]).base64EncodedString())" }
                    })
                if let text, explanation.attribution.attributions.indices.contains(textAttributedInput) {
                    let attributions = explanation.attribution.attributions[textAttributedInput]
                    try TextExplanation.answer(
                        &body, row: index, attributions: attributions, batch: text, form: textAnswer, reduce: textReduce ?? .sum,
                        highlight: render != nil)
                }
                return body
            })
        return try ResponseJSONEncoder.encode(response)
    }

    /// The parameters echoed and keyed on: the method's, and for text instances how their
    /// attributions are reduced per token.
    var effectiveParameters: [String: JSONValue] {
        var parameters = plan.effectiveParameters
        if let textReduce { parameters["reduce"] = .string(textReduce.rawValue) }
        return parameters
    }

    /// The media type `responseBody` answers with.
    var mediaType: String {
        if wantsPicture, let render { return render.picture.mediaType }
        return "application/json"
    }

    /// The explained output: the one named, or by default the first float output (a
    /// classifier's integer label is not explained) — for a method that walks a tree
    /// ensemble's trees, the raw score they add up to (`margin`).
    static func outputIndex(_ value: JSONValue?, model: LoadedModel, requirement: ModelRequirement) throws -> Int {
        let names = model.model.outputs.map(\.name)
        switch value {
        case nil, .null?:
            if requirement == .treeEnsemble, let ensemble = model.model as? TreeEnsemble { return ensemble.marginOutput }
            return model.model.outputs.firstIndex { $0.elementType == .float32 } ?? 0
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
    static func targets(_ value: JSONValue?, model: LoadedModel, batch: Int) throws -> [Int]? {
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

    /// The response-cache key: SHA-256 of everything that determines the answer.
    var cacheKey: String {
        var hash = SHA256()
        // The model's bytes, and its name and sidecar, which the response also carries.
        hash.update(data: Data(model.identity.utf8))
        hash.update(data: Data(method.utf8))
        hash.update(data: (try? JSONEncoder.candor.encode(effectiveParameters)) ?? Data())
        // The metrics in their order (the order of `quality`'s keys does not matter, but
        // equal requests should share an entry only when they ask for the same metrics).
        hash.update(data: Data("evaluate \(metrics.plans.map(\.name))".utf8))
        hash.update(data: (try? JSONEncoder.candor.encode(metrics.effectiveParameters)) ?? Data())
        hash.update(data: Data("output \(problem.output) targets \(problem.targets.map { "\($0)" } ?? "argmax")".utf8))
        hash.update(data: Data("render \(wantsPicture ? "picture" : "json")".utf8))
        hash.update(data: (try? JSONEncoder.candor.encode(render?.effective)) ?? Data())
        hash.update(tensors: problem.inputs)
        return hash.finalize().hexString
    }
}
