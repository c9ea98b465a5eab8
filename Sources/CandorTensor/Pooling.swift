/// Max and average pooling over the spatial axes of [N, C, H, W], with their vector-Jacobian
/// products. Windows follow `WindowGeometry`; positions in the padding never win a maximum,
/// and an average divides by the taps inside the input, or (`countIncludePad`) inside the
/// padded input, as onnxruntime and PyTorch do.
public enum Pooling {
    /// The pooled output shape for an input shape, checked.
    public static func outputShape(_ input: [Int], geometry: WindowGeometry, ceilMode: Bool) throws(TensorError) -> [Int] {
        guard input.count == 4 else { throw .invalidShape("pooling needs [N, C, H, W] input, got \(input)") }
        guard geometry.isValid else { throw .invalidShape("invalid pooling window") }
        let (height, width) = geometry.outputSize(height: input[2], width: input[3], ceilMode: ceilMode)
        guard height > 0, width > 0 else {
            throw .invalidShape("the window \(geometry.kernel) does not fit the padded input \(input.suffix(2))")
        }
        return [input[0], input[1], height, width]
    }

    /// Calls `body(output index, window taps)` for every output position of every plane, the
    /// taps given as flat indices into x (nil for a tap in the padding or beyond it).
    private static func forEachWindow(
        _ input: [Int], output: [Int], geometry g: WindowGeometry, _ body: (Int, _ taps: [Int?], _ paddedTaps: Int) -> Void
    ) {
        let (height, width) = (input[2], input[3])
        let (outputHeight, outputWidth) = (output[2], output[3])
        var taps = [Int?](repeating: nil, count: g.kernel.height * g.kernel.width)
        var outputIndex = 0
        for plane in 0..<(input[0] * input[1]) {
            let base = plane * height * width
            for oi in 0..<outputHeight {
                for oj in 0..<outputWidth {
                    var padded = 0
                    for ki in 0..<g.kernel.height {
                        let i = oi * g.strides.height - g.padsBegin.height + ki * g.dilations.height
                        for kj in 0..<g.kernel.width {
                            let j = oj * g.strides.width - g.padsBegin.width + kj * g.dilations.width
                            let inside = i >= 0 && i < height && j >= 0 && j < width
                            taps[ki * g.kernel.width + kj] = inside ? base + i * width + j : nil
                            if i < height + g.padsEnd.height && j < width + g.padsEnd.width { padded += 1 }
                        }
                    }
                    body(outputIndex, taps, padded)
                    outputIndex += 1
                }
            }
        }
    }

    /// The maxima and, per output element, the flat input index that holds it (the first
    /// such tap; −1, with output 0, for a window that lies entirely in the padding).
    public static func maxPool(
        _ x: Tensor, geometry: WindowGeometry, ceilMode: Bool
    ) throws(TensorError) -> (output: Tensor, argmax: [Int]) {
        let shape = try outputShape(x.shape, geometry: geometry, ceilMode: ceilMode)
        let count = try shape.checkedElementCount()
        var output = [Float](repeating: 0, count: count)
        var argmax = [Int](repeating: -1, count: count)
        forEachWindow(x.shape, output: shape, geometry: geometry) { index, taps, _ in
            var best = -Float.infinity
            var at = -1
            for case let tap? in taps where at < 0 || x.scalars[tap] > best {
                best = x.scalars[tap]
                at = tap
            }
            output[index] = at < 0 ? 0 : best
            argmax[index] = at
        }
        return (Tensor(uncheckedShape: shape, scalars: output), argmax)
    }

    /// Routes each output element's gradient to the input position that held its maximum.
    public static func maxPoolGradient(inputShape: [Int], argmax: [Int], outputGradient g: Tensor) throws(TensorError) -> Tensor {
        guard argmax.count == g.count else { throw .shapeMismatch("the gradient does not match the pooled output") }
        var result = try Tensor(repeating: 0, shape: inputShape)
        for (index, source) in argmax.enumerated() where source >= 0 { result.scalars[source] += g.scalars[index] }
        return result
    }

    public static func averagePool(
        _ x: Tensor, geometry: WindowGeometry, ceilMode: Bool, countIncludePad: Bool
    ) throws(TensorError) -> Tensor {
        let shape = try outputShape(x.shape, geometry: geometry, ceilMode: ceilMode)
        var output = [Float](repeating: 0, count: try shape.checkedElementCount())
        forEachWindow(x.shape, output: shape, geometry: geometry) { index, taps, padded in
            var total: Float = 0
            var inside = 0
            for case let tap? in taps {
                total += x.scalars[tap]
                inside += 1
            }
            let divisor = countIncludePad ? padded : inside
            output[index] = divisor > 0 ? total / Float(divisor) : 0
        }
        return Tensor(uncheckedShape: shape, scalars: output)
    }

    public static func averagePoolGradient(
        inputShape: [Int], geometry: WindowGeometry, ceilMode: Bool, countIncludePad: Bool, outputGradient g: Tensor
    ) throws(TensorError) -> Tensor {
        let shape = try outputShape(inputShape, geometry: geometry, ceilMode: ceilMode)
        guard shape == g.shape else { throw .shapeMismatch("the gradient has shape \(g.shape), not \(shape)") }
        var result = try Tensor(repeating: 0, shape: inputShape)
        forEachWindow(inputShape, output: shape, geometry: geometry) { index, taps, padded in
            let inside = taps.reduce(0) { $1 == nil ? $0 : $0 + 1 }
            let divisor = countIncludePad ? padded : inside
            guard divisor > 0 else { return }
            let share = g.scalars[index] / Float(divisor)
            for case let tap? in taps { result.scalars[tap] += share }
        }
        return result
    }
}
