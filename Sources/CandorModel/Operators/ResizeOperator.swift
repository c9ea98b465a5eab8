import CandorTensor

/// `Resize` (opset 11+) in `nearest` and `linear` modes: what PyTorch's exporters write for
/// `F.interpolate`/`nn.Upsample` (nearest: `asymmetric` coordinates, `floor` rounding;
/// bilinear: `half_pixel` or `pytorch_half_pixel`, or `align_corners`) and tf2onnx for Keras'
/// `UpSampling2D`.
///
/// Both modes are separable: each resized axis is a linear map in which every output element
/// reads one input element (nearest) or blends two neighbours (linear), so the operator is
/// applied axis by axis and its VJP is the transposed map, scattering g back along the same
/// taps. Being linear in X, DeepLIFT passes through it (as Captum, which does not hook
/// `nn.Upsample`); LRP has no rule for it (Captum raises for `nn.Upsample`) and refuses
/// models that use it.
///
/// Refused at load: `cubic`, `tf_crop_and_resize`, `antialias` and a `keep_aspect_ratio_policy`
/// other than `stretch` (the defaults are accepted when written out); opset 10's Resize.
/// Reference: https://onnx.ai/onnx/operators/onnx__Resize.html
struct ResizeOperator: Operator {
    var attributionRules: AttributionRules {
        AttributionRules(deepLift: .gradient, lrp: .noCaptumRule("upsampling (it raises for nn.Upsample)"))
    }

    enum Coordinates: String, Sendable {
        case halfPixel = "half_pixel", pytorchHalfPixel = "pytorch_half_pixel", alignCorners = "align_corners"
        case asymmetric, halfPixelSymmetric = "half_pixel_symmetric"
    }
    enum Rounding: String, Sendable { case roundPreferFloor = "round_prefer_floor", roundPreferCeil = "round_prefer_ceil", floor, ceil }

    let isLinear: Bool
    let coordinates: Coordinates
    let rounding: Rounding
    let axes: [Int]?

    init(attributes: inout NodeAttributes, context: OperatorContext) throws(ModelError) {
        let node = context.node
        guard context.opset >= 11 else {
            throw ModelError(.unsupportedFeature, "\(node): Resize before opset 11 is not supported; export at opset 11 or later")
        }
        let mode = try attributes.string("mode") ?? "nearest"
        guard mode == "nearest" || mode == "linear" else {
            throw ModelError(.unsupportedAttribute, "\(node): Resize mode '\(mode)' is not supported; Candor resizes nearest and linear")
        }
        isLinear = mode == "linear"
        let transformation = try attributes.string("coordinate_transformation_mode") ?? "half_pixel"
        guard let coordinates = Coordinates(rawValue: transformation) else {
            throw ModelError(.unsupportedAttribute, "\(node): coordinate_transformation_mode '\(transformation)' is not supported")
        }
        self.coordinates = coordinates
        let nearest = try attributes.string("nearest_mode") ?? "round_prefer_floor"
        guard let rounding = Rounding(rawValue: nearest) else {
            throw ModelError(.unsupportedAttribute, "\(node): nearest_mode '\(nearest)' is not supported")
        }
        self.rounding = rounding
        // Defaults that change nothing here: cubic's coefficient and exclusion, the crop's fill.
        _ = try attributes.float("cubic_coeff_a", default: -0.75)
        _ = try attributes.int("exclude_outside", default: 0)
        _ = try attributes.float("extrapolation_value", default: 0)
        if try attributes.int("antialias", default: 0) != 0 {
            throw ModelError(.unsupportedAttribute, "\(node): Resize with antialias is not supported")
        }
        let policy = try attributes.string("keep_aspect_ratio_policy") ?? "stretch"
        guard policy == "stretch" else {
            throw ModelError(.unsupportedAttribute, "\(node): keep_aspect_ratio_policy '\(policy)' is not supported; Candor stretches")
        }
        axes = try attributes.ints("axes").map { $0.map { Int(clamping: $0) } }
    }

    /// Per resized axis: the output extent and the scale the coordinates use.
    private func plan(_ inputs: [GraphValue?], shape: [Int]) throws(TensorError) -> [(axis: Int, extent: Int, scale: Float)] {
        let axes = try (axes ?? Array(0..<shape.count)).map { axis throws(TensorError) in try normalizedAxis(axis, rank: shape.count) }
        let scales = try inputs.optionalFloat(2, "scales").flatMap { $0.count == 0 ? nil : $0.scalars }
        let sizes = try inputs.integers(3, "sizes")
        var plan: [(Int, Int, Float)] = []
        for (position, axis) in axes.enumerated() {
            let input = shape[axis]
            if let sizes, !sizes.isEmpty {
                guard sizes.count == axes.count, sizes[position] > 0 else { throw .invalidShape("Resize sizes \(sizes) for axes \(axes)") }
                plan.append((axis, sizes[position], Float(sizes[position]) / Float(input)))
            } else if let scales {
                guard scales.count == axes.count, scales[position] > 0, scales[position].isFinite else {
                    throw .invalidShape("Resize scales \(scales) for axes \(axes)")
                }
                let extent = Float(input) * scales[position]
                guard extent < Float(Tensor.maximumElementCount) else { throw .tooLarge("Resize to \(extent) elements along axis \(axis)") }
                plan.append((axis, Int(extent.rounded(.down)), scales[position]))
            } else {
                throw .shapeMismatch("Resize needs scales or sizes")
            }
        }
        return plan.filter { $0.1 != shape[$0.0] || $0.2 != 1 }
    }

    /// For each output index along an axis of `input` elements resized to `output`: the two
    /// input indices read and the second one's weight.
    private func taps(input: Int, output: Int, scale: Float) throws(TensorError) -> [(Int, Int, Float)] {
        guard input > 0 else { throw .invalidShape("Resize of an empty axis") }
        return (0..<output).map { index in
            let destination = Float(index)
            var source: Float
            switch coordinates {
            case .halfPixel: source = (destination + 0.5) / scale - 0.5
            case .pytorchHalfPixel: source = output > 1 ? (destination + 0.5) / scale - 0.5 : 0
            case .alignCorners: source = output > 1 ? destination * Float(input - 1) / Float(output - 1) : 0
            case .asymmetric: source = destination / scale
            case .halfPixelSymmetric:
                let adjustment = Float(output) / (scale * Float(input))
                let offset = Float(input) / 2 * (1 - adjustment)
                source = offset + (destination + 0.5) / scale - 0.5
            }
            if !isLinear {
                var nearest: Float
                switch rounding {
                case .floor: nearest = source.rounded(.down)
                case .ceil: nearest = source.rounded(.up)
                case .roundPreferFloor: nearest = source - source.rounded(.down) == 0.5 ? source.rounded(.down) : source.rounded()
                case .roundPreferCeil: nearest = source - source.rounded(.down) == 0.5 ? source.rounded(.up) : source.rounded()
                }
                let clamped = Swift.min(Swift.max(Int(nearest), 0), input - 1)
                return (clamped, clamped, 0)
            }
            source = Swift.min(Swift.max(source, 0), Float(input - 1))
            let low = Int(source.rounded(.down))
            return (low, Swift.min(low + 1, input - 1), source - Float(low))
        }
    }

    /// Along `axis`: each output reads its taps of `x` (forward), or each input gathers the
    /// gradient its taps received (`transposed`, the VJP).
    private func apply(_ x: Tensor, axis: Int, taps: [(Int, Int, Float)], inputExtent: Int, transposed: Bool) throws(TensorError) -> Tensor
    {
        var shape = x.shape
        shape[axis] = transposed ? inputExtent : taps.count
        let outer = shape[..<axis].reduce(1, *)
        let inner = shape[(axis + 1)...].reduce(1, *)
        var result = [Float](repeating: 0, count: try shape.checkedElementCount())
        let sourceExtent = x.shape[axis]
        for block in 0..<outer {
            for (index, (low, high, weight)) in taps.enumerated() {
                for offset in 0..<inner {
                    if transposed {
                        let g = x.scalars[(block * sourceExtent + index) * inner + offset]
                        result[(block * inputExtent + low) * inner + offset] += g * (1 - weight)
                        result[(block * inputExtent + high) * inner + offset] += g * weight
                    } else {
                        let base = block * sourceExtent
                        let value =
                            x.scalars[(base + low) * inner + offset] * (1 - weight) + x.scalars[(base + high) * inner + offset] * weight
                        result[(block * taps.count + index) * inner + offset] = value
                    }
                }
            }
        }
        return try Tensor(shape: shape, scalars: result)
    }

    func forward(_ inputs: [GraphValue?]) throws(TensorError) -> [GraphValue] {
        var y = try inputs.float(0, "X")
        for (axis, extent, scale) in try plan(inputs, shape: y.shape) {
            let input = y.shape[axis]
            y = try apply(y, axis: axis, taps: try taps(input: input, output: extent, scale: scale), inputExtent: input, transposed: false)
        }
        return [.float(y)]
    }

    func backward(
        _ inputs: [GraphValue?], outputs: [GraphValue], outputGradients: [Tensor?], wanted: [Bool]
    ) throws(TensorError) -> [Tensor?] {
        let x = try inputs.float(0, "X")
        var g = outputGradients.firstGradient(like: try outputs.firstFloat())
        // The forward applied the axes in order; the VJP undoes them in reverse.
        var shape = x.shape
        var steps: [(axis: Int, taps: [(Int, Int, Float)], input: Int)] = []
        for (axis, extent, scale) in try plan(inputs, shape: x.shape) {
            steps.append((axis, try taps(input: shape[axis], output: extent, scale: scale), shape[axis]))
            shape[axis] = extent
        }
        for step in steps.reversed() {
            g = try apply(g, axis: step.axis, taps: step.taps, inputExtent: step.input, transposed: true)
        }
        return [g, nil, nil, nil]
    }
}
