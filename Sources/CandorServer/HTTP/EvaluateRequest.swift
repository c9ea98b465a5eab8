import CandorExplain
import CandorModel
import CandorTensor
import Foundation

/// A `POST /v1/models/{name}/evaluate` body checked against a model and the catalogs: the
/// instances, the attributions to judge — brought from elsewhere (`attributions`) or computed
/// here (`method` with `method_params`) — and the metrics with their parameters, all validated
/// and prepared before any computation.
struct EvaluateRequest: Sendable {
    static let fields: Set<String> = [
        "inputs", "target", "output", "attributions", "method", "method_params", "feature_mask", "metrics", "params",
    ]

    /// Where the judged attributions come from.
    enum Source: Sendable {
        /// Per instance, one tensor per model input.
        case attributions([[Tensor]])
        /// A method of the catalog, run first.
        case method(MethodCall, any ExplanationPlan)
    }

    let model: LoadedModel
    let problem: ExplanationProblem
    let source: Source
    let metrics: MetricSelection

    init(
        _ body: [String: JSONValue], model: LoadedModel, catalog: MethodCatalog, metricCatalog: MetricCatalog,
        limits: CandorConfiguration.Limits
    ) throws {
        let inputs = try InstanceDecoding(model: model, limits: limits).decode(body["inputs"])
        let batch = inputs[0].shape[0]
        var explainer: (any Explainer)?
        switch (body["attributions"], body["method"]) {
        case (nil, nil), (.null?, nil), (nil, .null?), (.null?, .null?):
            throw Problem.badRequest("invalid-parameter", "give the 'attributions' to judge, or a 'method' to compute them with")
        case (_?, _?):
            throw Problem.badRequest("invalid-parameter", "give either 'attributions' or 'method', not both")
        case (nil, .string(let name)?):
            guard let found = catalog.explainer(named: name) else {
                throw Problem.badRequest("unknown-method", "unknown method '\(name)'; available: \(catalog.names.joined(separator: ", "))")
            }
            explainer = found
        case (nil, let other?):
            throw Problem.badRequest("invalid-parameter", "'method' must be a method name, got \(other.typeName)")
        case (_?, nil):
            guard body["method_params"] == nil else {
                throw Problem.badRequest("invalid-parameter", "'method_params' was given without 'method'")
            }
        }
        let output = try ExplainRequest.outputIndex(body["output"], model: model, requirement: explainer?.descriptor.requirement ?? .any)
        let targets = try ExplainRequest.targets(body["target"], model: model, batch: batch)
        let problem = ExplanationProblem(model: model.model, inputs: inputs, output: output, targets: targets, dataset: model.dataset)
        if let explainer {
            let parameters: [String: JSONValue]
            switch body["method_params"] {
            case nil, .null?: parameters = [:]
            case .object(let object)?: parameters = object
            case let other?: throw Problem.badRequest("invalid-parameter", "'method_params' must be an object, got \(other.typeName)")
            }
            let call = MethodCall(explainer: explainer, parameters: parameters)
            do { source = .method(call, try explainer.prepare(parameters, for: problem)) } catch { throw Problem(error) }
        } else {
            source = .attributions(try Self.attributions(body["attributions"], model: model, batch: batch))
        }
        let shared = body["feature_mask"].map { ["feature_mask": $0] } ?? [:]
        metrics = try MetricSelection(
            names: body["metrics"], parameters: body["params"], fields: ("metrics", "params"), catalog: metricCatalog, problem: problem,
            shared: shared)
        if case .attributions = source, let name = metrics.reexplaining.first {
            throw Problem.badRequest(
                "invalid-parameter", "metric '\(name)' explains perturbed inputs again: give the 'method' that made the attributions")
        }
        self.model = model
        self.problem = problem
    }

    /// `attributions`: one entry per instance, shaped like it — for a model with several inputs
    /// an object of such arrays by input name. Shapes are checked against the instances when
    /// the evaluation runs.
    private static func attributions(_ value: JSONValue?, model: LoadedModel, batch: Int) throws -> [[Tensor]] {
        guard case .array(let rows)? = value, rows.count == batch else {
            throw Problem.badRequest(
                "invalid-parameter", "'attributions' must be an array with one entry per instance (\(batch)), each shaped like its instance"
            )
        }
        let names = model.model.inputs.map(\.name)
        var result: [[Tensor]] = []
        for (row, entry) in rows.enumerated() {
            let parts: [JSONValue]
            if names.count == 1 {
                parts = [entry]
            } else {
                guard case .object(let byName) = entry, Set(byName.keys) == Set(names) else {
                    throw Problem.badRequest(
                        "invalid-parameter",
                        "'attributions[\(row)]' must be an object with one array per input: \(names.joined(separator: ", "))")
                }
                parts = names.compactMap { byName[$0] }
            }
            var tensors: [Tensor] = []
            for (input, part) in parts.enumerated() {
                do { tensors.append(try TensorJSON.tensor(from: part, name: "'attributions[\(row)]' for input '\(names[input])'")) } catch {
                    throw Problem(error)
                }
            }
            result.append(tensors)
        }
        return result
    }

    /// Computes the attributions if a method is to, then every metric (on the calling
    /// thread: the route calls it on a worker).
    func run(_ context: ExplanationContext) throws -> [InstanceEvaluation] {
        do {
            switch source {
            case .attributions(let attributions):
                return try EvaluationRunner.evaluate(attributions: attributions, problem: problem, metrics: metrics.plans, context: context)
            case .method(let call, let plan):
                return try ExplanationRunner.run(plan, problem: problem, context: context, metrics: metrics.plans, method: call).map {
                    InstanceEvaluation(target: $0.target, output: $0.output, quality: $0.quality)
                }
            }
        } catch { throw Problem(error) }
    }

    /// The explanation method that ran, if one did.
    var methodName: String? {
        if case .method(let call, _) = source { return call.explainer.descriptor.name }
        return nil
    }

    /// What the audit log records as the parameters: the metrics, their effective parameters
    /// and, when a method ran, its own.
    var auditedParameters: [String: JSONValue] {
        var parameters: [String: JSONValue] = [
            "metrics": .array(metrics.plans.map { .string($0.name) }), "params": .object(metrics.effectiveParameters),
        ]
        if case .method(_, let plan) = source { parameters["method_params"] = .object(plan.effectiveParameters) }
        return parameters
    }

    /// The response body: the model, the metrics and their effective parameters, the method
    /// when one ran, and per instance the target, the output and the quality figures.
    func responseBody(_ evaluations: [InstanceEvaluation]) throws -> [UInt8] {
        struct Evaluation: Encodable {
            let target: Int
            let targetName: String?
            let output: NestedTensor
            let quality: [String: JSONValue]

            enum CodingKeys: String, CodingKey {
                case target, output, quality
                case targetName = "target_name"
            }
        }
        struct Body: Encodable {
            let model: ExplainResponse.ModelReference
            let method: String?
            let methodParams: [String: JSONValue]?
            let metrics: [String]
            let params: [String: JSONValue]
            let evaluations: [Evaluation]

            enum CodingKeys: String, CodingKey {
                case model, method, metrics, params, evaluations
                case methodParams = "method_params"
            }
        }
        let classes = model.metadata.classNames
        var method: (String, [String: JSONValue])?
        if case .method(let call, let plan) = source { method = (call.explainer.descriptor.name, plan.effectiveParameters) }
        let body = Body(
            model: .init(name: model.name, sha256: model.sha256), method: method?.0, methodParams: method?.1,
            metrics: metrics.plans.map(\.name), params: metrics.effectiveParameters,
            evaluations: evaluations.map { evaluation in
                Evaluation(
                    target: evaluation.target,
                    targetName: classes.flatMap { evaluation.target < $0.count ? $0[evaluation.target] : nil },
                    output: NestedTensor(tensor: evaluation.output), quality: evaluation.quality)
            })
        return try ResponseJSONEncoder.encode(body)
    }
}
