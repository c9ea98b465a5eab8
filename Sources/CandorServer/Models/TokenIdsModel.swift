import CandorModel
import CandorTensor

/// A text model taking `input_ids` alone, its other inputs (attention mask, token types) fixed
/// to one instance's. Captum's perturbation methods on text vary the ids and pass the rest as
/// `additional_forward_args`; so does Candor's occlusion, which slides its window over the one
/// input this model has.
///
/// With `removalPadding`, a token whose id is `TokenIdsModel.removed` is taken out of the text:
/// the row's other tokens (and their companions' values) close up to the left and the end is
/// filled with that padding id, the attention mask 0 there, so the model reads the shorter
/// text (the base must take an attention mask).
struct TokenIdsModel: PredictiveModel {
    let base: any PredictiveModel
    /// The position of `input_ids` among the base's inputs.
    let ids: Int
    /// The instance's other inputs, [1, length] each, at their positions among the base's.
    let companions: [Int: Tensor]
    /// The id that pads a row's end once its removed tokens are taken out; nil: no token is.
    var removalPadding: Int? = nil

    /// The id that stands for a removed token (no tokenizer's id is negative).
    static let removed: Float = -1

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
        if let removalPadding { all = try closingUp(all, padding: removalPadding) }
        return try base.predict(all)
    }

    /// The inputs with each row's removed tokens taken out: the rest moved left, the end padded
    /// and masked.
    private func closingUp(_ inputs: [Tensor], padding: Int) throws(ModelError) -> [Tensor] {
        let (rows, length) = (inputs[ids].shape[0], inputs[ids].shape[1])
        let idScalars = inputs[ids].scalars
        var closed = inputs.map { [Float](repeating: 0, count: $0.count) }
        for row in 0..<rows {
            let kept = (0..<length).filter { idScalars[row * length + $0] != Self.removed }
            for input in inputs.indices {
                let source = inputs[input].scalars
                for (target, position) in kept.enumerated() { closed[input][row * length + target] = source[row * length + position] }
                let filler: Float = input == ids ? Float(padding) : 0
                for target in kept.count..<length { closed[input][row * length + target] = filler }
            }
        }
        do {
            return try inputs.indices.map { input throws(TensorError) in try Tensor(shape: inputs[input].shape, scalars: closed[input]) }
        } catch {
            throw ModelError(.invalidInput, "\(error)")
        }
    }
}
