import CandorModel
import CandorTensor

/// The reference rows that absent features are filled from — SHAP's "background data": the
/// request's `background` instances, a single `baselines` row, or the file the model's sidecar
/// names. A coalition's value is then the mean output over these rows (Lundberg & Lee, "A
/// Unified Approach to Interpreting Model Predictions", 2017, eq. 11: E[f(x) | x_S]
/// approximated with feature independence).
public struct BackgroundRows: Sendable {
    /// One tensor per model input, [count] + instance shape.
    let rows: [Tensor]
    let count: Int

    /// The most background rows a request may use (SHAP recommends 100 or fewer: each costs a
    /// model evaluation per coalition).
    public static let maximumCount = 1000

    /// The `background` parameter: instances, or "model" for the sidecar's file.
    static func parameter(_ summary: String) -> ParameterSpec {
        ParameterSpec("background", .instances, summary: summary)
    }

    /// Reads `background` or `baselines` (at most one of them), falling back to the model's
    /// sidecar background; without any of them, a 400 saying what to send.
    static func resolve(
        _ reader: inout ParameterReader, problem: ExplanationProblem, method: String
    ) throws(ExplanationError) -> BackgroundRows {
        if let rows = try requested(&reader, problem: problem, method: method) { return rows }
        if let baselines = reader.json("baselines") { return try fromBaseline(baselines, problem: problem) }
        return try sidecar(&reader, problem: problem, method: method)
    }

    /// The background when the request names one (instances, or "model" for the sidecar's),
    /// nil otherwise; giving `baselines` too is an error.
    static func requested(
        _ reader: inout ParameterReader, problem: ExplanationProblem, method: String
    ) throws(ExplanationError) -> BackgroundRows? {
        guard reader.isGiven("background"), let value = reader.json("background") else { return nil }
        guard !reader.isGiven("baselines") else {
            throw ExplanationError(
                .invalidParameter,
                "give either 'background' (reference instances) or 'baselines' (one reference row) to \(method), not both")
        }
        if value == .string("model") { return try sidecar(&reader, problem: problem, method: method) }
        return try fromInstances(value, problem: problem)
    }

    /// The rows of the model's sidecar background file.
    private static func sidecar(
        _ reader: inout ParameterReader, problem: ExplanationProblem, method: String
    ) throws(ExplanationError) -> BackgroundRows {
        guard let rows = problem.dataset.background, let count = rows.first?.shape.first else {
            throw ExplanationError(
                .missingReferenceData,
                "\(method) needs reference data for absent features, and this model's sidecar names no background file: send 'background' (an array of instances, e.g. a sample of the training data) or 'baselines' (one reference instance) in params"
            )
        }
        for (row, input) in zip(rows, problem.inputs) where row.shape.dropFirst() != input.shape.dropFirst() {
            throw ExplanationError(
                .invalidParameter,
                "the model's background (\(problem.dataset.backgroundSource ?? "sidecar")) holds instances of shape \(Array(row.shape.dropFirst())), but these inputs have \(Array(input.shape.dropFirst())): send 'background' in params"
            )
        }
        reader.record("background", .string("model"))
        return BackgroundRows(rows: rows, count: count)
    }

    /// `background` as given in a request, checked against the batch's instance shapes.
    private static func fromInstances(_ value: JSONValue, problem: ExplanationProblem) throws(ExplanationError) -> BackgroundRows {
        let inputs = zip(problem.model.inputs, problem.inputs).map { ($0.name, Array($1.shape.dropFirst())) }
        let rows = try parse(value, inputs: inputs, what: "parameter 'background'", allowingMissing: problem.model is TreeEnsemble)
        return BackgroundRows(rows: rows, count: rows.first?.shape.first ?? 0)
    }

    /// Reference instances: an array of instances (for a model with several inputs, an object
    /// of such arrays by input name, each with the same number of rows), at most
    /// `maximumCount`, finite, each shaped like one instance of its input. `what` names the
    /// source in messages (a request parameter or the sidecar's file).
    public static func parse(
        _ value: JSONValue, inputs: [(name: String, shape: [Int])], what: String, allowingMissing: Bool = false
    ) throws(ExplanationError) -> [Tensor] {
        var rows: [Tensor] = []
        for (name, instanceShape) in inputs {
            var part = value
            if inputs.count > 1 {
                guard case .object(let byName) = value, let named = byName[name] else {
                    throw ExplanationError(.invalidParameter, "\(what) must be an object of instance arrays by input name, with '\(name)'")
                }
                part = named
            }
            let tensor = try TensorJSON.tensor(from: part, name: what, allowingMissing: allowingMissing)
            guard tensor.rank == instanceShape.count + 1, Array(tensor.shape.dropFirst()) == instanceShape,
                let count = tensor.shape.first, count > 0
            else {
                throw ExplanationError(
                    .invalidParameter,
                    "\(what) must be an array of instances, each shaped like one instance \(instanceShape) of input '\(name)'; got shape \(tensor.shape)"
                )
            }
            guard count <= maximumCount else {
                throw ExplanationError(
                    .invalidParameter,
                    "\(what) has \(count) instances, more than the \(maximumCount) allowed: summarise it (a sample, or k-means centres)")
            }
            guard allowingMissing || tensor.isFinite else { throw ExplanationError(.invalidParameter, "\(what) contains NaN or infinity") }
            if let first = rows.first?.shape.first, first != count {
                throw ExplanationError(.invalidParameter, "\(what) has \(first) rows for one input and \(count) for input '\(name)'")
            }
            rows.append(tensor)
        }
        return rows
    }

    /// `baselines` as one reference row: a number for every element or one instance.
    private static func fromBaseline(_ value: JSONValue, problem: ExplanationProblem) throws(ExplanationError) -> BackgroundRows {
        var rows: [Tensor] = []
        for (index, input) in problem.inputs.enumerated() {
            let name = problem.model.inputs[index].name
            let part = try problem.parameterPart(value, input: index, name: "baselines") ?? .number(0)
            let baseline = try TensorJSON.tensor(from: part, name: "baselines")
            let instanceShape = Array(input.shape.dropFirst())
            do {
                if baseline.rank == 0 {
                    rows.append(try Tensor(repeating: baseline.scalars[0], shape: [1] + instanceShape))
                    continue
                }
                if baseline.shape == instanceShape {
                    rows.append(try baseline.reshaped(to: [1] + instanceShape))
                    continue
                }
            } catch {
                throw ExplanationError(.invalidParameter, "baselines for input '\(name)': \(error)")
            }
            throw ExplanationError(
                .invalidParameter,
                "parameter 'baselines' must be a number or one instance shaped \(instanceShape) (several reference rows go in 'background'); got shape \(baseline.shape)"
            )
        }
        return BackgroundRows(rows: rows, count: 1)
    }
}
