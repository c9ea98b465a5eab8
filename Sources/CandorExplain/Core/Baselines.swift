import CandorModel
import CandorTensor

/// Reference inputs x′ for methods that compare an instance with a baseline, as Captum
/// accepts them: a number for every element, an array shaped like one instance (shared by
/// the batch), or an array shaped like the whole batch (one baseline per instance). A model
/// with several inputs takes an object of these by input name.
enum Baselines {
    /// The baselines for each input, expanded to the batch's shape.
    static func resolve(_ value: JSONValue?, for problem: ExplanationProblem) throws(ExplanationError) -> [Tensor] {
        let infos = problem.model.inputs
        var result: [Tensor] = []
        for (index, input) in problem.inputs.enumerated() {
            let name = infos[index].name
            let part = try problem.parameterPart(value ?? .number(0), input: index, name: "baselines") ?? .number(0)
            result.append(try expand(part, like: input, name: "baselines for input '\(name)'"))
        }
        return result
    }

    private static func expand(_ value: JSONValue, like batch: Tensor, name: String) throws(ExplanationError) -> Tensor {
        let instanceShape = Array(batch.shape.dropFirst())
        let rows = batch.shape.first ?? 0
        let baseline = try TensorJSON.tensor(from: value, name: name)
        do {
            if baseline.rank == 0 {
                return try Tensor(repeating: baseline.scalars[0], shape: batch.shape)
            }
            if baseline.shape == instanceShape {
                return try Tensor.stacking(Array(repeating: baseline, count: rows))
            }
            if baseline.shape == batch.shape { return baseline }
        } catch {
            throw ExplanationError(.invalidParameter, "\(name): \(error)")
        }
        throw ExplanationError(
            .invalidParameter,
            "\(name) must be a number, an array shaped like one instance \(instanceShape), or one per instance \(batch.shape); got shape \(baseline.shape)"
        )
    }
}

extension ExplanationProblem {
    /// The part of a per-input parameter that concerns input `input`: for a model with several
    /// inputs the parameter may be an object by input name (nil when it leaves this input out;
    /// a name that is not an input is an error), otherwise the value itself.
    func parameterPart(_ value: JSONValue, input: Int, name: String) throws(ExplanationError) -> JSONValue? {
        let names = model.inputs.map(\.name)
        guard case .object(let byName) = value else { return value }
        guard names.count > 1 else {
            throw ExplanationError(.invalidParameter, "parameter '\(name)' is an object, but the model has a single input")
        }
        if let unknown = byName.keys.sorted().first(where: { !names.contains($0) }) {
            throw ExplanationError(
                .invalidParameter,
                "parameter '\(name)' names '\(unknown)', which is not an input; the inputs are \(names.joined(separator: ", "))")
        }
        return byName[names[input]]
    }
}
