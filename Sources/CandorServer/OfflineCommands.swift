import CandorExplain
import CandorModel
import Foundation

/// What `candor inspect`, `candor explain`, `candor analyze` and `candor methods` do: the service's answers,
/// without a server, for scripts and notebooks.
public enum OfflineCommands {
    /// Loads `file` — ONNX, XGBoost's JSON or LightGBM's text — with its external data and `NAME.yaml` beside it.
    static func load(_ file: URL) throws -> LoadedModel {
        let sidecar = try? Data(contentsOf: file.deletingPathExtension().appendingPathExtension("yaml"))
        let data = try Data(contentsOf: file)
        return try LoadedModel.load(
            name: file.deletingPathExtension().lastPathComponent, format: LoadedModel.ModelFormat.sniff(data), data: data,
            externalData: .directory(file.deletingLastPathComponent()), sidecar: sidecar)
    }

    /// The model's description, as `GET /v1/models/{name}` gives it.
    public static func describe(file: URL) throws -> String {
        let encoder = JSONEncoder.candor
        encoder.outputFormatting.insert(.prettyPrinted)
        return String(decoding: try encoder.encode(ModelDescription(try load(file), catalog: .standard)), as: UTF8.self)
    }

    /// The explanation of an explain request body (the JSON `POST …/explain` takes), as the
    /// service would answer it; a client mistake throws the same problem the service returns.
    public static func explain(file: URL, request: Data, configuration: CandorConfiguration = CandorConfiguration()) throws -> String {
        let model = try load(file)
        let body = try RequestBody.jsonObject(request, allowedKeys: ExplainRequest.fields)
        let parsed = try ExplainRequest(body, model: model, catalog: .standard, metricCatalog: .standard, limits: configuration.limits)
        let explanations = try parsed.run(ExplanationContext(maxBatchElements: configuration.limits.maxBatchElements))
        return String(decoding: try parsed.responseBody(explanations), as: UTF8.self)
    }

    /// The result of an analysis (`{"analysis", "output"?, "target"?, "params"?}`, as
    /// `POST …/analyses` takes it without `data`) over a data file — CSV with a header row, or
    /// the JSON a dataset upload takes — whose `labelColumn` holds the labels. `started`
    /// receives the run's progress as soon as it is known, for a progress bar.
    public static func analyze(
        file: URL, data: URL, labelColumn: String?, request: Data, configuration: CandorConfiguration = CandorConfiguration(),
        started: (AnalysisProgress) -> Void = { _ in }
    ) throws -> String {
        let model = try load(file)
        let body = try RequestBody.jsonObject(request, allowedKeys: AnalysisRequest.fields.subtracting(["data", "labels"]))
        let contents = try Data(contentsOf: data)
        let maxRows = configuration.datasets.maxRows
        let table =
            data.pathExtension.lowercased() == "json"
            ? try DatasetTable.json(
                try RequestBody.jsonObject(contents, allowedKeys: ["name", "label", "columns", "rows"]), labelColumn: labelColumn,
                maxRows: maxRows)
            : try DatasetTable.csv(contents, labelColumn: labelColumn, maxRows: maxRows)
        let parsed = try AnalysisRequest(body, model: model, catalog: .standard) {
            try AnalysisData(table: table, model: model, maxRows: configuration.analyses.maxRows)
        }
        let progress = AnalysisProgress(total: parsed.plan.progressTotal, unit: parsed.plan.progressUnit)
        started(progress)
        let context = AnalysisContext(
            explanation: ExplanationContext(maxBatchElements: configuration.limits.maxBatchElements), progress: progress)
        let encoder = JSONEncoder.candor
        encoder.outputFormatting.insert(.prettyPrinted)
        return String(decoding: try encoder.encode(try parsed.run(context)), as: UTF8.self)
    }

    /// The methods the service offers (`GET /v1/methods` lists the same catalog): as plain
    /// text, or as the Markdown of `docs/methods.md`.
    public static func methods(markdown: Bool = false, catalog: MethodCatalog = .standard) -> String {
        markdown ? MethodReference.markdown(catalog) : MethodReference.text(catalog)
    }
}
