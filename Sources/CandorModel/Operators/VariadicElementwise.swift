import CandorTensor

/// `Sum`, `Mean`, `Max` and `Min`: one or more inputs combined element by element with
/// NumPy broadcasting (PyTorch's exporters write Max/Min for `torch.maximum`/`minimum` and
/// for clamps with tensor bounds).
///
/// Gradients: Sum passes g to every input and Mean g/n, each summed back over its broadcast
/// axes; Max and Min pass g to the inputs that attain the result, shared equally among ties
/// (as PyTorch's `maximum` does for two). DeepLIFT keeps these gradients (Captum hooks none
/// of them); LRP has no rule for them and refuses models that use them.
/// Reference: https://onnx.ai/onnx/operators/onnx__Sum.html, https://onnx.ai/onnx/operators/onnx__Max.html
struct VariadicElementwise: Operator {
    enum Kind: String, Sendable { case sum = "Sum", mean = "Mean", max = "Max", min = "Min" }
    let kind: Kind

    var attributionRules: AttributionRules {
        AttributionRules(
            deepLift: .gradient,
            lrp: .refused(reason: "LRP's addition rule covers a two-term Add; Captum's LRP has no rule for Sum, Mean, Max or Min"))
    }

    private func operands(_ inputs: [GraphValue?]) throws(TensorError) -> [Tensor] {
        guard !inputs.isEmpty else { throw .shapeMismatch("\(kind.rawValue) needs at least one input") }
        return try inputs.indices.map { index throws(TensorError) in try inputs.float(index, "data_\(index)") }
    }

    func forward(_ inputs: [GraphValue?]) throws(TensorError) -> [GraphValue] {
        let values = try operands(inputs)
        var result = values[0]
        for value in values.dropFirst() {
            switch kind {
            case .sum, .mean: result = try Broadcasting.apply(result, value) { $0 + $1 }
            case .max: result = try Broadcasting.apply(result, value) { Swift.max($0, $1) }
            case .min: result = try Broadcasting.apply(result, value) { Swift.min($0, $1) }
            }
        }
        if kind == .mean {
            let count = Float(values.count)
            result = result.map { $0 / count }
        }
        return [.float(result)]
    }

    func backward(
        _ inputs: [GraphValue?], outputs: [GraphValue], outputGradients: [Tensor?], wanted: [Bool]
    ) throws(TensorError) -> [Tensor?] {
        let values = try operands(inputs)
        let y = try outputs.firstFloat()
        let g = outputGradients.firstGradient(like: y)
        var shares = g
        if kind == .mean {
            let count = Float(values.count)
            shares = g.map { $0 / count }
        }
        // Max and Min: each element's g split among the inputs equal to the result there.
        var attaining: [Tensor] = []
        if kind == .max || kind == .min {
            attaining = try values.map { value throws(TensorError) in try Broadcasting.apply(value, y) { $0 == $1 ? 1 : 0 } }
            var ties = Tensor(zerosLike: y)
            for mask in attaining { ties = try ties.zipMap(mask) { $0 + $1 } }
            shares = try g.zipMap(ties) { $1 > 0 ? $0 / $1 : 0 }
        }
        return try values.indices.map { index throws(TensorError) -> Tensor? in
            guard index < wanted.count ? wanted[index] : true else { return nil }
            let gradient = attaining.isEmpty ? shares : try shares.zipMap(attaining[index]) { $0 * $1 }
            return try Broadcasting.reduce(gradient, toShape: values[index].shape)
        }
    }
}
