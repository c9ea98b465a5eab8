import CandorTensor

/// `MaxPool` and `AveragePool` over 1-D or 2-D windows (`ceil_mode`, `count_include_pad`,
/// pads or `auto_pad`, dilations for MaxPool), and `GlobalAveragePool` / `GlobalMaxPool`.
/// MaxPool's optional second output (the indices) is not produced: a graph that reads it is
/// refused at load, one that does not may set `storage_order` to anything.
/// Reference: https://onnx.ai/onnx/operators/onnx__MaxPool.html,
/// https://onnx.ai/onnx/operators/onnx__AveragePool.html
public struct PoolOperator: Operator {
    public enum Kind: Sendable, Equatable {
        case max
        case average(countIncludePad: Bool)
    }
    public let kind: Kind

    /// LRP takes ε on both kinds (Captum's `EpsilonRule` for `nn.MaxPool2d` and `nn.AvgPool2d`);
    /// DeepLIFT has Captum's max-pooling rule, and average pooling's gradient is its exact
    /// multiplier.
    public var attributionRules: AttributionRules {
        switch kind {
        case .max: AttributionRules(deepLift: .maxPool(self), lrp: .epsilon)
        case .average: AttributionRules(deepLift: .gradient, lrp: .epsilon)
        }
    }

    let window: WindowAttributes
    let ceilMode: Bool

    init(kind: Kind, attributes: inout NodeAttributes, context: OperatorContext) throws(ModelError) {
        var kind = kind
        window = try WindowAttributes(attributes: &attributes, node: context.node, kernelRequired: true)
        ceilMode = try attributes.int("ceil_mode", default: 0) != 0
        if case .average = kind {
            kind = .average(countIncludePad: try attributes.int("count_include_pad", default: 0) != 0)
            if let dilations = window.dilations, dilations.contains(where: { $0 != 1 }) {
                throw ModelError(.unsupportedAttribute, "\(context.node): AveragePool with dilations is not supported")
            }
        } else {
            // `storage_order` only lays out the optional Indices output; the dynamo exporter
            // writes `storage_order: 0` on every MaxPool that has no such output.
            _ = try attributes.int("storage_order", default: 0)
            if context.consumesOutput(1) {
                throw ModelError(
                    .unsupportedFeature, "\(context.node): the graph reads MaxPool's Indices output, which Candor does not produce")
            }
        }
        self.kind = kind
    }

    /// The input as an image and the window over it.
    func operands(_ inputs: [GraphValue?]) throws(TensorError) -> (Tensor, WindowGeometry) {
        let x = try WindowAttributes.asImage(try inputs.float(0, "X"))
        return (x, try window.geometry(inputSize: (x.shape[2], x.shape[3])))
    }

    /// The pooled output, and for max pooling the input index each output came from.
    public func pool(_ x: Tensor) throws(TensorError) -> (output: Tensor, argmax: [Int]?) {
        let image = try WindowAttributes.asImage(x)
        let geometry = try window.geometry(inputSize: (image.shape[2], image.shape[3]))
        switch kind {
        case .max:
            let (output, argmax) = try Pooling.maxPool(image, geometry: geometry, ceilMode: ceilMode)
            return (x.rank == 3 ? try output.reshaped(to: [output.shape[0], output.shape[1], output.shape[3]]) : output, argmax)
        case .average(let countIncludePad):
            let output = try Pooling.averagePool(image, geometry: geometry, ceilMode: ceilMode, countIncludePad: countIncludePad)
            return (x.rank == 3 ? try output.reshaped(to: [output.shape[0], output.shape[1], output.shape[3]]) : output, nil)
        }
    }

    public func forward(_ inputs: [GraphValue?]) throws(TensorError) -> [GraphValue] {
        [.float(try pool(try inputs.float(0, "X")).output)]
    }

    public func backward(
        _ inputs: [GraphValue?], outputs: [GraphValue], outputGradients: [Tensor?], wanted: [Bool]
    ) throws(TensorError) -> [Tensor?] {
        let original = try inputs.float(0, "X")
        let (x, geometry) = try operands(inputs)
        let g = outputGradients.firstGradient(like: try outputs.firstFloat())
        let gradient: Tensor
        switch kind {
        case .max:
            let (_, argmax) = try Pooling.maxPool(x, geometry: geometry, ceilMode: ceilMode)
            gradient = try Pooling.maxPoolGradient(inputShape: x.shape, argmax: argmax, outputGradient: g)
        case .average(let countIncludePad):
            let pooledShape = try Pooling.outputShape(x.shape, geometry: geometry, ceilMode: ceilMode)
            gradient = try Pooling.averagePoolGradient(
                inputShape: x.shape, geometry: geometry, ceilMode: ceilMode, countIncludePad: countIncludePad,
                outputGradient: try g.reshaped(to: pooledShape))
        }
        return [try gradient.reshaped(to: original.shape)]
    }
}

/// `GlobalAveragePool` and `GlobalMaxPool`: one value per channel over every spatial axis.
public struct GlobalPoolOperator: Operator {
    public let isMaximum: Bool

    /// A global average is average pooling over the whole plane (Captum's `EpsilonRule` for
    /// `nn.AdaptiveAvgPool2d`); Captum has no LRP rule for a global maximum, and its `DeepLift`
    /// hooks only windowed max pooling.
    public var attributionRules: AttributionRules {
        if isMaximum {
            AttributionRules(
                deepLift: .gradient,
                lrp: .refused(reason: "Captum's LRP has rules for windowed max pooling and for average pooling, not for a global maximum"))
        } else {
            AttributionRules(deepLift: .gradient, lrp: .epsilon)
        }
    }

    /// The input as [N·C, spatial] rows.
    private func planes(_ x: Tensor) throws(TensorError) -> (count: Int, size: Int) {
        guard x.rank >= 3 else { throw .invalidShape("a global pool needs [N, C, ...] input, got \(x.shape)") }
        return (x.shape[0] * x.shape[1], x.shape.dropFirst(2).reduce(1, *))
    }

    public func forward(_ inputs: [GraphValue?]) throws(TensorError) -> [GraphValue] {
        let x = try inputs.float(0, "X")
        let (count, size) = try planes(x)
        guard size > 0 else { throw .invalidShape("a global pool over an empty plane") }
        let values: [Float] = (0..<count).map { plane in
            let slice = x.scalars[(plane * size)..<((plane + 1) * size)]
            return isMaximum ? (slice.max() ?? 0) : slice.reduce(0, +) / Float(size)
        }
        let shape = Array(x.shape.prefix(2)) + [Int](repeating: 1, count: x.rank - 2)
        return [.float(try Tensor(shape: shape, scalars: values))]
    }

    public func backward(
        _ inputs: [GraphValue?], outputs: [GraphValue], outputGradients: [Tensor?], wanted: [Bool]
    ) throws(TensorError) -> [Tensor?] {
        let x = try inputs.float(0, "X")
        let g = outputGradients.firstGradient(like: try outputs.firstFloat())
        let (count, size) = try planes(x)
        var result = Tensor(zerosLike: x)
        for plane in 0..<count {
            let range = (plane * size)..<((plane + 1) * size)
            if isMaximum {
                let slice = x.scalars[range]
                if let top = slice.indices.max(by: { slice[$0] < slice[$1] }) { result.scalars[top] = g.scalars[plane] }
            } else {
                let share = g.scalars[plane] / Float(size)
                for index in range { result.scalars[index] = share }
            }
        }
        return [result]
    }
}
