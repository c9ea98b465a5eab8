import CandorTensor

/// `Conv`: 1-D and 2-D convolution with strides, dilations, pads or `auto_pad`, and groups
/// (depthwise included), as im2col + GEMM. Inputs X, W and an optional bias B.
/// Reference: https://onnx.ai/onnx/operators/onnx__Conv.html
struct ConvOperator: Operator {
    var attributionRules: AttributionRules { AttributionRules(deepLift: .gradient, lrp: .weightLayer) }

    let window: WindowAttributes
    let groups: Int

    init(attributes: inout NodeAttributes, context: OperatorContext) throws(ModelError) {
        window = try WindowAttributes(attributes: &attributes, node: context.node, kernelRequired: false)
        groups = try attributes.int("group", default: 1)
        guard (1...(1 << 20)).contains(groups) else {
            throw ModelError(.unsupportedAttribute, "\(context.node): group must be between 1 and 2^20")
        }
    }

    /// X and W as [N, C, H, W] and [M, C/group, kH, kW], with the window geometry.
    private func operands(_ inputs: [GraphValue?]) throws(TensorError) -> (x: Tensor, w: Tensor, geometry: WindowGeometry) {
        let x = try inputs.float(0, "X")
        let w = try inputs.float(1, "W")
        guard x.rank == w.rank else { throw .shapeMismatch("Conv's X \(x.shape) and W \(w.shape) differ in rank") }
        let image = try WindowAttributes.asImage(x)
        let weights = try WindowAttributes.asImage(w)
        let geometry = try window.geometry(kernel: Array(w.shape.dropFirst(2)), inputSize: (image.shape[2], image.shape[3]))
        return (image, weights, geometry)
    }

    func forward(_ inputs: [GraphValue?]) throws(TensorError) -> [GraphValue] {
        let original = try inputs.float(0, "X")
        let (x, w, geometry) = try operands(inputs)
        let y = try Convolution.forward(x, weights: w, bias: try inputs.optionalFloat(2, "B"), groups: groups, geometry: geometry)
        return [.float(original.rank == 3 ? try y.reshaped(to: [y.shape[0], y.shape[1], y.shape[3]]) : y)]
    }

    func backward(
        _ inputs: [GraphValue?], outputs: [GraphValue], outputGradients: [Tensor?], wanted: [Bool]
    ) throws(TensorError) -> [Tensor?] {
        let original = try inputs.float(0, "X")
        let (x, w, geometry) = try operands(inputs)
        var g = outputGradients.firstGradient(like: try outputs.firstFloat())
        if g.rank == 3 { g = try g.reshaped(to: [g.shape[0], g.shape[1], 1, g.shape[2]]) }
        let (dx, dw, db) = try Convolution.backward(
            x, weights: w, groups: groups, geometry: geometry, outputGradient: g, wantsInput: wanted.first ?? true,
            wantsWeights: wanted.count > 1 && wanted[1], wantsBias: wanted.count > 2 && wanted[2] && inputs.count > 2 && inputs[2] != nil)
        return [
            try dx.map { gradient throws(TensorError) in try gradient.reshaped(to: original.shape) },
            try dw.map { gradient throws(TensorError) in try gradient.reshaped(to: try inputs.float(1, "W").shape) }, db,
        ]
    }
}

/// `ConvTranspose`: the adjoint of `Conv` in its input (a "deconvolution" layer), with
/// `output_padding` or an explicit `output_shape`. W is [C, M/group, kH, kW].
/// Reference: https://onnx.ai/onnx/operators/onnx__ConvTranspose.html
struct ConvTransposeOperator: Operator {
    var attributionRules: AttributionRules {
        AttributionRules(
            deepLift: .gradient,
            lrp: .refused(
                reason:
                    "Captum's LRP has weight-layer rules for nn.Linear and nn.Conv2d (Gemm, MatMul, Conv), not for a transposed convolution"
            ))
    }

    let window: WindowAttributes
    let groups: Int
    let outputPadding: [Int]?
    let outputShape: [Int]?

    init(attributes: inout NodeAttributes, context: OperatorContext) throws(ModelError) {
        window = try WindowAttributes(attributes: &attributes, node: context.node, kernelRequired: false)
        guard window.autoPad == .notSet || window.autoPad == .valid else {
            throw ModelError(
                .unsupportedAttribute, "\(context.node): ConvTranspose with auto_pad \(window.autoPad.rawValue) is not supported; give pads"
            )
        }
        groups = try attributes.int("group", default: 1)
        guard (1...(1 << 20)).contains(groups) else {
            throw ModelError(.unsupportedAttribute, "\(context.node): group must be between 1 and 2^20")
        }
        outputPadding = try attributes.ints("output_padding").map { $0.map { Int(clamping: $0) } }
        outputShape = try attributes.ints("output_shape").map { $0.map { Int(clamping: $0) } }
        // ONNX: 0 ≤ output_padding < max(stride, dilation); an output extent is positive.
        let strides = window.strides ?? [], dilations = window.dilations ?? []
        for (axis, padding) in (outputPadding ?? []).enumerated() {
            let limit = Swift.max(axis < strides.count ? strides[axis] : 1, axis < dilations.count ? dilations[axis] : 1)
            guard padding >= 0, padding < limit else {
                throw ModelError(
                    .unsupportedAttribute,
                    "\(context.node): output_padding \(outputPadding ?? []) must be at least 0 and below the stride or dilation")
            }
        }
        if let outputShape, !outputShape.allSatisfy({ (1...(1 << 24)).contains($0) }) {
            throw ModelError(.unsupportedAttribute, "\(context.node): output_shape \(outputShape) must hold positive extents")
        }
    }

    /// X and W as images, the geometry and the output [height, width].
    private func operands(_ inputs: [GraphValue?]) throws(TensorError) -> (Tensor, Tensor, WindowGeometry, (Int, Int)) {
        let x = try WindowAttributes.asImage(try inputs.float(0, "X"))
        let w = try WindowAttributes.asImage(try inputs.float(1, "W"))
        var geometry = try window.geometry(kernel: Array(try inputs.float(1, "W").shape.dropFirst(2)), inputSize: (x.shape[2], x.shape[3]))
        let padding = outputPadding.map { $0.count == 1 ? (0, $0[0]) : ($0.first ?? 0, $0.last ?? 0) } ?? (0, 0)
        func natural(_ input: Int, _ stride: Int, _ kernel: Int, _ dilation: Int, _ extra: Int) -> Int {
            stride * (input - 1) + extra + (kernel - 1) * dilation + 1
        }
        let full = (
            natural(x.shape[2], geometry.strides.height, geometry.kernel.height, geometry.dilations.height, padding.0),
            natural(x.shape[3], geometry.strides.width, geometry.kernel.width, geometry.dilations.width, padding.1)
        )
        if let outputShape {
            // An explicit output shape (its last one or two extents) sets the pads: the surplus
            // split evenly, the odd one at the beginning (the ONNX rule without SAME_UPPER).
            guard let last = outputShape.last else { throw .invalidShape("output_shape is empty") }
            let target =
                outputShape.count == 1 || x.shape[2] == 1 && (try? inputs.float(0, "X").rank) == 3
                ? (1, last) : (outputShape[outputShape.count - 2], last)
            let total = (full.0 - target.0, full.1 - target.1)
            guard total.0 >= 0, total.1 >= 0 else { throw .invalidShape("output_shape \(outputShape) is larger than the input allows") }
            geometry.padsBegin = (total.0 - total.0 / 2, total.1 - total.1 / 2)
            geometry.padsEnd = (total.0 / 2, total.1 / 2)
            return (x, w, geometry, target)
        }
        let size = (
            full.0 - geometry.padsBegin.height - geometry.padsEnd.height, full.1 - geometry.padsBegin.width - geometry.padsEnd.width
        )
        guard size.0 > 0, size.1 > 0 else { throw .invalidShape("the pads leave ConvTranspose no output") }
        return (x, w, geometry, size)
    }

    func forward(_ inputs: [GraphValue?]) throws(TensorError) -> [GraphValue] {
        let rank = try inputs.float(0, "X").rank
        let (x, w, geometry, size) = try operands(inputs)
        let y = try Convolution.transposedForward(
            x, weights: w, bias: try inputs.optionalFloat(2, "B"), groups: groups, geometry: geometry, outputSize: size)
        return [.float(rank == 3 ? try y.reshaped(to: [y.shape[0], y.shape[1], y.shape[3]]) : y)]
    }

    func backward(
        _ inputs: [GraphValue?], outputs: [GraphValue], outputGradients: [Tensor?], wanted: [Bool]
    ) throws(TensorError) -> [Tensor?] {
        let originalX = try inputs.float(0, "X")
        let originalW = try inputs.float(1, "W")
        let (x, w, geometry, _) = try operands(inputs)
        var g = outputGradients.firstGradient(like: try outputs.firstFloat())
        if g.rank == 3 { g = try g.reshaped(to: [g.shape[0], g.shape[1], 1, g.shape[2]]) }
        let (dx, dw, db) = try Convolution.transposedBackward(
            x, weights: w, groups: groups, geometry: geometry, outputGradient: g, wantsInput: wanted.first ?? true,
            wantsWeights: wanted.count > 1 && wanted[1], wantsBias: wanted.count > 2 && wanted[2] && inputs.count > 2 && inputs[2] != nil)
        return [
            try dx.map { gradient throws(TensorError) in try gradient.reshaped(to: originalX.shape) },
            try dw.map { gradient throws(TensorError) in try gradient.reshaped(to: originalW.shape) }, db,
        ]
    }
}
