import CandorModel
import CandorTensor

/// A baseline distribution (`deeplift_shap`, `gradient_shap`): the request's `baselines`
/// instances, or the model's sidecar background.
struct BaselineDistribution: Sendable {
    /// One tensor per model input, [count] + instance shape.
    let rows: [Tensor]
    let count: Int

    static func resolve(_ reader: inout ParameterReader, problem: ExplanationProblem, method: String) throws(ExplanationError)
        -> BaselineDistribution
    {
        if let value = reader.json("baselines") {
            let inputs = zip(problem.model.inputs, problem.inputs).map { ($0.name, Array($1.shape.dropFirst())) }
            let rows = try BackgroundRows.parse(value, inputs: inputs, what: "parameter 'baselines'")
            return BaselineDistribution(rows: rows, count: rows.first?.shape.first ?? 0)
        }
        guard let rows = problem.dataset.background, let count = rows.first?.shape.first,
            zip(rows, problem.inputs).allSatisfy({ $0.shape.dropFirst() == $1.shape.dropFirst() })
        else {
            throw ExplanationError(
                .missingReferenceData,
                "\(method) needs a baseline distribution and this model's sidecar names no background file: send 'baselines' (an array of instances) in params"
            )
        }
        reader.record("baselines", .string("model"))
        return BaselineDistribution(rows: rows, count: count)
    }
}
