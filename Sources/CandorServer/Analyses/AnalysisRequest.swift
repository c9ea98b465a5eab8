import CandorExplain
import CandorModel
import CandorTensor
import Crypto
import Foundation
import HTTPTypes

/// An analysis request body (`POST /v1/models/{name}/analyses`) checked against a model, the
/// analysis catalog and the stored datasets: the data is bound to the model's inputs and the
/// analysis's plan prepared before any computation, so every client mistake — an unknown
/// analysis, a dataset column the model lacks, a bad parameter — is a 400 before a job exists.
/// Used by the HTTP route and by `candor analyze`.
struct AnalysisRequest: Sendable {
    static let fields: Set<String> = ["analysis", "data", "labels", "output", "target", "params"]

    let analysis: String
    let model: LoadedModel
    let problem: AnalysisProblem
    let plan: any AnalysisPlan
    /// SHA-256 of the rows and labels analysed.
    let dataHash: String
    /// What the data was, for the job document: `"model"`, `"dataset:ID"` or `"request"`.
    let dataSource: String
    /// The result field holding a made-up instance, drawn as a picture for an image model.
    let synthesizedInstanceField: String?

    /// `body` without its `data` and `labels`, which `bind` binds to the model once the
    /// analysis is known to exist and apply.
    init(_ body: [String: JSONValue], model: LoadedModel, catalog: AnalysisCatalog, bind: () throws -> AnalysisData) throws {
        guard case .string(let name)? = body["analysis"] else {
            throw Problem.badRequest(
                "invalid-parameter", "'analysis' must be given as a string; available: \(catalog.names.joined(separator: ", "))")
        }
        guard let analysis = catalog.analysis(named: name) else {
            throw Problem.badRequest("unknown-analysis", "unknown analysis '\(name)'; available: \(catalog.names.joined(separator: ", "))")
        }
        guard analysis.descriptor.requirement.isMet(by: model.model) else {
            throw Problem.badRequest(
                "method-not-applicable", "\(name) applies to \(analysis.descriptor.requirement.modelsDescription); this model is not one")
        }
        let data = try bind()
        let output = try ExplainRequest.outputIndex(body["output"], model: model, requirement: analysis.descriptor.requirement)
        let target: Int?
        switch body["target"] {
        case nil, .null?: target = nil
        case .array?: throw Problem.badRequest("invalid-target", "an analysis takes one 'target' (a class index or name), not an array")
        case let value?: target = try ExplainRequest.targets(value, model: model, batch: 1)?.first
        }
        let parameters: [String: JSONValue]
        switch body["params"] {
        case nil, .null?: parameters = [:]
        case .object(let object)?: parameters = object
        case let other?: throw Problem.badRequest("invalid-parameter", "'params' must be an object, got \(other.typeName)")
        }
        let problem = AnalysisProblem(
            model: model.model, rows: data.rows, labels: data.labels, output: output, target: target, dataset: model.dataset)
        do { plan = try analysis.prepare(parameters, for: problem) } catch { throw Problem(error) }
        self.analysis = name
        synthesizedInstanceField = analysis.synthesizedInstanceField
        self.model = model
        self.problem = problem
        self.dataHash = data.hash
        self.dataSource = data.source
    }

    /// What determines the result: the model's bytes and sidecar, the analysis, its effective
    /// parameters, the analysed output and target, and the data. Equal keys share a result.
    var cacheKey: String {
        var hash = SHA256()
        hash.update(data: Data(model.identity.utf8))
        hash.update(data: Data(analysis.utf8))
        hash.update(data: (try? JSONEncoder.candor.encode(plan.effectiveParameters)) ?? Data())
        hash.update(data: Data("output \(problem.output) target \(problem.target.map(String.init) ?? "default")".utf8))
        hash.update(data: Data(dataHash.utf8))
        return hash.finalize().hexString
    }

    /// Runs the analysis (on the calling thread: jobs call it on a worker). A result holding
    /// NaN or infinity, which JSON cannot carry, is a failure to report (422).
    func run(_ context: AnalysisContext) throws -> JSONValue {
        let result: JSONValue
        do { result = try plan.run(problem, context: context) } catch { throw Problem(error) }
        guard result.isFinite else {
            throw Problem(
                .unprocessableContent, code: "non-finite-result", detail: "\(analysis) produced NaN or infinity on this model and data")
        }
        return try SynthesizedPicture.adding(to: result, field: synthesizedInstanceField, model: model)
    }
}
