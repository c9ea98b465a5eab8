import CandorModel
import CandorTensor

/// A text model taking `input_ids` alone, its other inputs (attention mask, token types) fixed
/// to one instance's. Captum's perturbation methods on text vary the ids and pass the rest as
/// `additional_forward_args`; so does Candor's occlusion, which slides its window over the one
/// input this model has.
struct TokenIdsModel: PredictiveModel {
    let base: any PredictiveModel
    /// The position of `input_ids` among the base's inputs.
    let ids: Int
    /// The instance's other inputs, [1, length] each, at their positions among the base's.
    let companions: [Int: Tensor]

    var inputs: [TensorInfo] { [base.inputs[ids]] }
    var outputs: [TensorInfo] { base.outputs }
    var elementsPerInstance: Int { base.elementsPerInstance }

    func predict(_ inputs: [Tensor]) throws(ModelError) -> [Tensor] {
        guard inputs.count == 1, let given = inputs.first, given.rank == 2 else {
            throw ModelError(.invalidInput, "the token-id model takes one [batch, sequence] input, input_ids")
        }
        var all: [Tensor] = []
        for position in base.inputs.indices {
            guard position != ids else {
                all.append(given)
                continue
            }
            guard let companion = companions[position], companion.shape == [1, given.shape[1]] else {
                throw ModelError(
                    .invalidInput, "input \(base.inputs[position].name) is not fixed for sequences of \(given.shape[1]) tokens")
            }
            let rows = [Float]((0..<given.shape[0]).map { _ in companion.scalars }.joined())
            do { all.append(try Tensor(shape: given.shape, scalars: rows)) } catch { throw ModelError(.invalidInput, "\(error)") }
        }
        return try base.predict(all)
    }
}
