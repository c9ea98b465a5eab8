import CandorTensor

/// The window attributes `Conv`, `ConvTranspose`, `MaxPool` and `AveragePool` share —
/// `kernel_shape`, `strides`, `dilations`, `pads` and `auto_pad` — for one or two spatial
/// axes. A 1-D window is read as height 1, so [N, C, L] runs as [N, C, 1, L].
/// Reference: https://onnx.ai/onnx/operators/onnx__Conv.html
struct WindowAttributes: Sendable {
    enum AutoPad: String, Sendable { case notSet = "NOTSET", sameUpper = "SAME_UPPER", sameLower = "SAME_LOWER", valid = "VALID" }

    /// The kernel, nil when it is to be read from the weights.
    let kernel: [Int]?
    let strides: [Int]?
    let dilations: [Int]?
    let pads: [Int]?
    let autoPad: AutoPad

    /// The largest pooling window (kernel area), far above any real network's.
    static let maximumPoolingArea = 1 << 16

    init(attributes: inout NodeAttributes, node: NodeIdentity, kernelRequired: Bool) throws(ModelError) {
        func list(_ name: String) throws(ModelError) -> [Int]? {
            guard let values = try attributes.ints(name) else { return nil }
            guard values.allSatisfy({ (0...(1 << 16)).contains($0) }) else {
                throw ModelError(.unsupportedAttribute, "\(node): attribute '\(name)' has values out of range: \(values)")
            }
            return values.map { Int($0) }
        }
        kernel = try list("kernel_shape")
        strides = try list("strides")
        dilations = try list("dilations")
        pads = try list("pads")
        let name = try attributes.string("auto_pad") ?? "NOTSET"
        guard let autoPad = AutoPad(rawValue: name) else {
            throw ModelError(.unsupportedAttribute, "\(node): auto_pad '\(name)' is not NOTSET, SAME_UPPER, SAME_LOWER or VALID")
        }
        self.autoPad = autoPad
        if kernelRequired && kernel == nil { throw ModelError(.unsupportedAttribute, "\(node): kernel_shape is required") }
        // A pooling window visits every tap for every output: refuse absurd windows now.
        if kernelRequired, let kernel, kernel.reduce(1, { $0.multipliedReportingOverflow(by: $1).partialValue }) > Self.maximumPoolingArea {
            throw ModelError(
                .unsupportedAttribute,
                "\(node): a pooling window of \(kernel) is larger than the \(Self.maximumPoolingArea) taps Candor pools over")
        }
        let spatial = kernel?.count ?? strides?.count ?? dilations?.count ?? pads.map { $0.count / 2 } ?? 2
        guard (1...2).contains(spatial) else {
            throw ModelError(.unsupportedAttribute, "\(node): Candor implements 1-D and 2-D windows, not \(spatial)-D")
        }
        for (name, value) in [("kernel_shape", kernel), ("strides", strides), ("dilations", dilations)] {
            if let value, value.count != spatial || value.contains(0) {
                throw ModelError(.unsupportedAttribute, "\(node): \(name) \(value) does not describe \(spatial) positive extents")
            }
        }
        if let pads, pads.count != 2 * spatial {
            throw ModelError(.unsupportedAttribute, "\(node): pads \(pads) does not have two values per spatial axis")
        }
    }

    /// The input as [N, C, H, W] (a 1-D input gains a height of 1).
    static func asImage(_ x: Tensor) throws(TensorError) -> Tensor {
        switch x.rank {
        case 4: return x
        case 3: return try x.reshaped(to: [x.shape[0], x.shape[1], 1, x.shape[2]])
        default: throw .invalidShape("a convolution or pooling input must be [N, C, L] or [N, C, H, W], got \(x.shape)")
        }
    }

    /// Extends a 1-D list to 2-D by putting `value` first (the added height axis).
    private static func twoDimensional(_ values: [Int], _ value: Int) -> (Int, Int) {
        values.count == 1 ? (value, values[0]) : (values[0], values[1])
    }

    /// The geometry for an [N, C, H, W] input, the kernel given by the weights where the
    /// attributes leave it out.
    func geometry(kernel weightKernel: [Int]? = nil, inputSize: (height: Int, width: Int)) throws(TensorError) -> WindowGeometry {
        guard let kernelList = kernel ?? weightKernel else { throw .invalidShape("the window has no kernel shape") }
        let spatial = kernelList.count
        let kernel = Self.twoDimensional(kernelList, 1)
        let strides = Self.twoDimensional(self.strides ?? [Int](repeating: 1, count: spatial), 1)
        let dilations = Self.twoDimensional(self.dilations ?? [Int](repeating: 1, count: spatial), 1)
        var begin: (Int, Int)
        var end: (Int, Int)
        switch autoPad {
        case .notSet:
            let pads = self.pads ?? [Int](repeating: 0, count: 2 * spatial)
            begin = Self.twoDimensional(Array(pads.prefix(spatial)), 0)
            end = Self.twoDimensional(Array(pads.suffix(spatial)), 0)
        case .valid:
            begin = (0, 0)
            end = (0, 0)
        case .sameUpper, .sameLower:
            // Output extent ⌈input / stride⌉; the total padding split evenly, the odd one at
            // the end (SAME_UPPER) or the beginning (SAME_LOWER).
            func split(_ input: Int, _ kernel: Int, _ stride: Int, _ dilation: Int) -> (Int, Int) {
                let output = (input + stride - 1) / stride
                let total = max(0, (output - 1) * stride + (kernel - 1) * dilation + 1 - input)
                return autoPad == .sameUpper ? (total / 2, total - total / 2) : (total - total / 2, total / 2)
            }
            let vertical = split(inputSize.height, kernel.0, strides.0, dilations.0)
            let horizontal = split(inputSize.width, kernel.1, strides.1, dilations.1)
            begin = (vertical.0, horizontal.0)
            end = (vertical.1, horizontal.1)
        }
        let geometry = WindowGeometry(kernel: kernel, strides: strides, dilations: dilations, padsBegin: begin, padsEnd: end)
        guard geometry.isValid else { throw .invalidShape("invalid window: kernel \(kernelList), strides, dilations or pads") }
        return geometry
    }
}
