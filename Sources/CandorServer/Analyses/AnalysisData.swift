import CandorExplain
import CandorModel
import CandorTensor
import Crypto
import Foundation
import HTTPTypes

/// The rows an analysis runs over, bound to the model's inputs: the request's own rows, the
/// model's sidecar background (`"data": "model"`), or a stored dataset
/// (`"data": {"dataset": ID}`) whose columns are matched to the model's features by name.
/// Datasets are validated against a model only here, when an analysis uses them, so a column
/// that does not fit is a 400 naming it.
struct AnalysisData {
    /// One tensor per model input, [rows] + instance shape.
    let rows: [Tensor]
    let labels: [Double]?
    let source: String

    init(
        _ value: JSONValue?, labels labelValue: JSONValue?, model: LoadedModel, datasets: DatasetStore,
        configuration: CandorConfiguration
    ) throws {
        let maxRows = configuration.analyses.maxRows
        var textLabels: [String]?
        switch value {
        case .string("model")?:
            guard let background = model.dataset.background else {
                throw Problem.badRequest(
                    "missing-reference-data",
                    "'data': \"model\" uses the model's sidecar background, and this model's sidecar names none: send rows, or a dataset id"
                )
            }
            rows = background
            source = "model"
        case .object(let fields)? where fields.keys.contains("dataset"):
            guard fields.count == 1, case .string(let id)? = fields["dataset"] else {
                throw Problem.badRequest("invalid-data", "'data' names a dataset as {\"dataset\": \"ID\"} and nothing else")
            }
            guard let info = datasets.info(id) else {
                throw Problem.badRequest("unknown-dataset", "no dataset with id '\(id.prefix(64))'; GET /v1/datasets lists them")
            }
            guard info.rows <= maxRows else { throw Self.tooManyRows(info.rows, maxRows) }
            let table: DatasetTable
            do { table = try datasets.table(info) } catch {
                throw Problem(.internalServerError, code: "storage-failed", detail: "dataset '\(id)' could not be read: \(error)")
            }
            rows = [try Self.bind(table, to: model)]
            textLabels = table.labels
            source = "dataset:\(id)"
        case .array?:
            var limits = configuration.limits
            limits.maxBatchSize = maxRows
            rows = try InstanceDecoding(model: model, limits: limits).decode(value)
            source = "request"
        case nil, .null?:
            throw Problem.badRequest(
                "invalid-data", "the request has no 'data': send rows (an array of instances), \"model\" or {\"dataset\": ID}")
        case let other?:
            throw Problem.badRequest(
                "invalid-data", "'data' must be an array of instances, \"model\" or {\"dataset\": ID}, got \(other.typeName)")
        }
        let count = rows.first?.shape.first ?? 0
        guard count <= maxRows else { throw Self.tooManyRows(count, maxRows) }
        switch labelValue {
        case nil, .null?: break
        case .array(let items)?:
            textLabels = try items.map { item in
                switch item {
                case .number(let number): return ParameterReader.format(number)
                case .string(let label): return label
                default: throw Problem.badRequest("invalid-labels", "'labels' must hold numbers or class names, got \(item.typeName)")
                }
            }
        case let other?:
            throw Problem.badRequest("invalid-labels", "'labels' must be an array with one label per row, got \(other.typeName)")
        }
        labels = try textLabels.map { try Self.labels($0, rows: count, model: model) }
    }

    /// Binds a table read from a file (`candor analyze`) as an uploaded dataset is bound.
    init(table: DatasetTable, model: LoadedModel, maxRows: Int) throws {
        guard table.rowCount <= maxRows else { throw Self.tooManyRows(table.rowCount, maxRows) }
        rows = [try Self.bind(table, to: model)]
        labels = try table.labels.map { try Self.labels($0, rows: table.rowCount, model: model) }
        source = "file"
    }

    /// SHA-256 of the rows (shapes and values) and labels.
    var hash: String {
        var hash = SHA256()
        hash.update(tensors: rows)
        if let labels { labels.withUnsafeBytes { hash.update(bufferPointer: $0) } }
        return hash.finalize().hexString
    }

    private static func tooManyRows(_ count: Int, _ maxRows: Int) -> Problem {
        Problem.badRequest(
            "too-many-rows", "the data has \(count) rows, more than the \(maxRows) one analysis may use (analyses.max_rows): send a sample")
    }

    /// The table's columns in the model's feature order: by name when the sidecar names the
    /// features, else by position.
    private static func bind(_ table: DatasetTable, to model: LoadedModel) throws -> Tensor {
        let inputs = model.model.inputs
        guard inputs.count == 1, inputs[0].instanceShape.count == 1, let featureCount = inputs[0].instanceShape[0].fixedValue else {
            throw Problem.badRequest(
                "invalid-data",
                "a dataset is a table, and this model's inputs are not one flat vector of features (\(inputs.map { "\($0.name) \($0.instanceShape)" }.joined(separator: ", "))): send rows in 'data' instead"
            )
        }
        let order: [Int]
        if let names = model.metadata.featureNames {
            if let extra = table.columns.first(where: { !names.contains($0) }) {
                throw Problem.badRequest(
                    "invalid-data",
                    "dataset column '\(extra.prefix(100))' is not a feature of model \(model.name) (nor the label column); its features: \(names.joined(separator: ", "))"
                )
            }
            order = try names.map { name in
                guard let column = table.columns.firstIndex(of: name) else {
                    throw Problem.badRequest("invalid-data", "the dataset lacks column '\(name)', a feature of model \(model.name)")
                }
                return column
            }
        } else {
            guard table.columns.count == featureCount else {
                throw Problem.badRequest(
                    "invalid-data",
                    "the dataset has \(table.columns.count) feature columns and model \(model.name) takes \(featureCount) features (its sidecar names none, so columns are taken in order)"
                )
            }
            order = Array(0..<featureCount)
        }
        let columns = table.columns.count
        let allowsMissing = model.model is TreeEnsemble
        var scalars = [Float](repeating: 0, count: table.rowCount * order.count)
        for row in 0..<table.rowCount {
            for (feature, column) in order.enumerated() {
                let value = table.values[row * columns + column]
                if value.isNaN && !allowsMissing {
                    throw Problem.badRequest(
                        "invalid-data",
                        "row \(row + 1), column '\(table.columns[column])' is missing, and model \(model.name) cannot take missing values")
                }
                scalars[row * order.count + feature] = Float(value)
            }
        }
        do { return try Tensor(shape: [table.rowCount, order.count], scalars: scalars) } catch {
            throw Problem.badRequest("invalid-data", "the dataset does not form a table: \(error)")
        }
    }

    /// Labels as numbers: a number as written, or a class name's index in the model's classes.
    private static func labels(_ texts: [String], rows: Int, model: LoadedModel) throws -> [Double] {
        guard texts.count == rows else {
            throw Problem.badRequest("invalid-labels", "there are \(texts.count) labels for \(rows) rows")
        }
        let classes = model.metadata.classNames ?? []
        return try texts.enumerated().map { row, text in
            if let number = Double(text), number.isFinite { return number }
            if let index = classes.firstIndex(of: text) { return Double(index) }
            throw Problem.badRequest(
                "invalid-labels",
                "label '\(text.prefix(100))' of row \(row + 1) is neither a number nor a class of model \(model.name)\(classes.isEmpty ? "" : " (\(classes.joined(separator: ", ")))")"
            )
        }
    }
}
