import CandorTensor

/// `Scaler` (ai.onnx.ml): y = (x − offset) · scale along the last axis, with one value or one
/// per feature — scikit-learn's `StandardScaler`, `RobustScaler` and `MaxAbsScaler` as
/// skl2onnx writes them.
/// Reference: https://onnx.ai/onnx/operators/onnx_aionnxml_Scaler.html
struct ScalerOperator: Operator {
    var attributionRules: AttributionRules { AttributionRules(deepLift: .gradient, lrp: .noCaptumRule("ai.onnx.ml preprocessing")) }

    let offset: [Float]
    let scale: [Float]

    init(attributes: inout NodeAttributes, context: OperatorContext) throws(ModelError) {
        offset = try attributes.floats("offset") ?? [0]
        scale = try attributes.floats("scale") ?? [1]
        guard !offset.isEmpty, !scale.isEmpty else {
            throw ModelError(.unsupportedAttribute, "\(context.node): offset and scale need at least one value")
        }
    }

    /// Per-feature offset and scale for a last axis of `width` features.
    func coefficients(width: Int) throws(TensorError) -> (offset: [Float], scale: [Float]) {
        func spread(_ values: [Float], _ name: String) throws(TensorError) -> [Float] {
            if values.count == 1 { return [Float](repeating: values[0], count: width) }
            guard values.count == width else {
                throw .shapeMismatch("Scaler's \(name) has \(values.count) values for \(width) features")
            }
            return values
        }
        return (try spread(offset, "offset"), try spread(scale, "scale"))
    }

    func forward(_ inputs: [GraphValue?]) throws(TensorError) -> [GraphValue] {
        let x = try inputs.float(0, "X")
        let width = x.shape.last ?? 1
        let (offset, scale) = try coefficients(width: width)
        var y = x
        for index in y.scalars.indices {
            let feature = index % width
            y.scalars[index] = (x.scalars[index] - offset[feature]) * scale[feature]
        }
        return [.float(y)]
    }

    func backward(
        _ inputs: [GraphValue?], outputs: [GraphValue], outputGradients: [Tensor?], wanted: [Bool]
    ) throws(TensorError) -> [Tensor?] {
        var g = outputGradients.firstGradient(like: try outputs.firstFloat())
        let width = g.shape.last ?? 1
        let scale = try coefficients(width: width).scale
        for index in g.scalars.indices { g.scalars[index] *= scale[index % width] }
        return [g]
    }
}
