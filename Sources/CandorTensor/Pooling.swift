/// Max and average pooling over the spatial axes of [N, C, H, W], with their vector-Jacobian
/// products. Windows follow `WindowGeometry`; positions in the padding never win a maximum,
/// and an average divides by the taps inside the input, or (`countIncludePad`) inside the
/// padded input, as onnxruntime and PyTorch do.
public enum Pooling {
    /// The most window taps one pooling pass may visit (outputs × window area).
    public static let maximumTaps = 1 << 32

    /// The pooled output shape for an input shape, checked.
    public static func outputShape(_ input: [Int], geometry: WindowGeometry, ceilMode: Bool) throws(TensorError) -> [Int] {
        guard input.count == 4 else { throw .invalidShape("pooling needs [N, C, H, W] input, got \(input)") }
        guard geometry.isValid else { throw .invalidShape("invalid pooling window") }
        let (height, width) = geometry.outputSize(height: input[2], width: input[3], ceilMode: ceilMode)
        guard height > 0, width > 0 else {
            throw .invalidShape("the window \(geometry.kernel) does not fit the padded input \(input.suffix(2))")
        }
        let shape = [input[0], input[1], height, width]
        // Every output visits its whole window: bound the taps of one pass.
        let area = geometry.kernel.height.multipliedReportingOverflow(by: geometry.kernel.width)
        let taps = try shape.checkedElementCount().multipliedReportingOverflow(by: area.partialValue)
        guard !area.overflow, !taps.overflow, taps.partialValue <= maximumTaps else {
            throw .tooLarge("pooling with a \(geometry.kernel) window over \(shape) visits more than \(maximumTaps) elements")
        }
        return shape
    }

    /// Calls `body(output index, first tap, taps)` for every output position of every plane:
    /// the window's in-input taps as flat indices into x (row-major within the window), and
    /// how many taps lie inside the padded input (`countIncludePad`'s divisor). `taps` is a
    /// buffer reused between calls; only its first `count` entries are the window's.
    private static func forEachWindow(
        _ input: [Int], output: [Int], geometry g: WindowGeometry,
        _ body: (_ index: Int, _ taps: UnsafeMutableBufferPointer<Int>, _ count: Int, _ paddedTaps: Int) -> Void
    ) {
        let (height, width) = (input[2], input[3])
        let (outputHeight, outputWidth) = (output[2], output[3])
        // A window holds at most kernel-area taps, and no more than the plane has.
        let capacity = Swift.min(g.kernel.height.multipliedReportingOverflow(by: g.kernel.width).partialValue, height * width)
        let buffer = UnsafeMutableBufferPointer<Int>.allocate(capacity: Swift.max(capacity, 1))
        defer { buffer.deallocate() }
        var outputIndex = 0
        for plane in 0..<(input[0] * input[1]) {
            let base = plane * height * width
            for oi in 0..<outputHeight {
                for oj in 0..<outputWidth {
                    var count = 0
                    var padded = 0
                    for ki in 0..<g.kernel.height {
                        let i = oi * g.strides.height - g.padsBegin.height + ki * g.dilations.height
                        for kj in 0..<g.kernel.width {
                            let j = oj * g.strides.width - g.padsBegin.width + kj * g.dilations.width
                            if i < height + g.padsEnd.height && j < width + g.padsEnd.width { padded += 1 }
                            if i >= 0 && i < height && j >= 0 && j < width {
                                buffer[count] = base + i * width + j
                                count += 1
                            }
                        }
                    }
                    body(outputIndex, buffer, count, padded)
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
        // Direct loops over each window's in-bounds taps (the maximum needs no padded count),
        // the hot path of every max-pooling network.
        let g = geometry
        let (height, width) = (x.shape[2], x.shape[3])
        let (outputHeight, outputWidth) = (shape[2], shape[3])
        // Without padding every window lies inside the input (the output extent is floored, or
        // ceiled only up to the last window that starts inside): no bounds tests at all.
        let inside =
            g.padsBegin == (0, 0) && g.padsEnd == (0, 0)
            && (outputHeight - 1) * g.strides.height + (g.kernel.height - 1) * g.dilations.height < height
            && (outputWidth - 1) * g.strides.width + (g.kernel.width - 1) * g.dilations.width < width
        if inside {
            x.scalars.withUnsafeBufferPointer { values in
                output.withUnsafeMutableBufferPointer { output in
                    argmax.withUnsafeMutableBufferPointer { argmax in
                        guard let values = values.baseAddress, let output = output.baseAddress, let argmax = argmax.baseAddress else {
                            return
                        }
                        var index = 0
                        for plane in 0..<(shape[0] * shape[1]) {
                            let base = plane &* height &* width
                            for oi in 0..<outputHeight {
                                let top = base &+ oi &* g.strides.height &* width
                                for oj in 0..<outputWidth {
                                    let corner = top &+ oj &* g.strides.width
                                    var at = corner
                                    var best = values[corner]
                                    for ki in 0..<g.kernel.height {
                                        let row = corner &+ ki &* g.dilations.height &* width
                                        for kj in 0..<g.kernel.width {
                                            let tap = row &+ kj &* g.dilations.width
                                            if values[tap] > best {
                                                best = values[tap]
                                                at = tap
                                            }
                                        }
                                    }
                                    output[index] = best
                                    argmax[index] = at
                                    index &+= 1
                                }
                            }
                        }
                    }
                }
            }
            return (Tensor(uncheckedShape: shape, scalars: output), argmax)
        }
        x.scalars.withUnsafeBufferPointer { values in
            output.withUnsafeMutableBufferPointer { output in
                argmax.withUnsafeMutableBufferPointer { argmax in
                    var index = 0
                    for plane in 0..<(shape[0] * shape[1]) {
                        let base = plane * height * width
                        for oi in 0..<outputHeight {
                            let top = oi * g.strides.height - g.padsBegin.height
                            for oj in 0..<outputWidth {
                                let left = oj * g.strides.width - g.padsBegin.width
                                var best = -Float.infinity
                                var at = -1
                                for ki in 0..<g.kernel.height {
                                    let i = top + ki * g.dilations.height
                                    guard i >= 0, i < height else { continue }
                                    let row = base + i * width
                                    for kj in 0..<g.kernel.width {
                                        let j = left + kj * g.dilations.width
                                        guard j >= 0, j < width else { continue }
                                        let value = values[row + j]
                                        if at < 0 || value > best {
                                            best = value
                                            at = row + j
                                        }
                                    }
                                }
                                output[index] = at < 0 ? 0 : best
                                argmax[index] = at
                                index += 1
                            }
                        }
                    }
                }
            }
        }
        return (Tensor(uncheckedShape: shape, scalars: output), argmax)
    }

    /// Routes each output element's gradient to the input position that held its maximum.
    public static func maxPoolGradient(inputShape: [Int], argmax: [Int], outputGradient g: Tensor) throws(TensorError) -> Tensor {
        guard argmax.count == g.count else { throw .shapeMismatch("the gradient does not match the pooled output") }
        var result = try Tensor(repeating: 0, shape: inputShape)
        result.scalars.withUnsafeMutableBufferPointer { result in
            g.scalars.withUnsafeBufferPointer { g in
                for (index, source) in argmax.enumerated() where source >= 0 { result[source] += g[index] }
            }
        }
        return result
    }

    public static func averagePool(
        _ x: Tensor, geometry: WindowGeometry, ceilMode: Bool, countIncludePad: Bool
    ) throws(TensorError) -> Tensor {
        let shape = try outputShape(x.shape, geometry: geometry, ceilMode: ceilMode)
        var output = [Float](repeating: 0, count: try shape.checkedElementCount())
        x.scalars.withUnsafeBufferPointer { values in
            forEachWindow(x.shape, output: shape, geometry: geometry) { index, taps, count, padded in
                var total: Float = 0
                for position in 0..<count { total += values[taps[position]] }
                let divisor = countIncludePad ? padded : count
                output[index] = divisor > 0 ? total / Float(divisor) : 0
            }
        }
        return Tensor(uncheckedShape: shape, scalars: output)
    }

    public static func averagePoolGradient(
        inputShape: [Int], geometry: WindowGeometry, ceilMode: Bool, countIncludePad: Bool, outputGradient g: Tensor
    ) throws(TensorError) -> Tensor {
        let shape = try outputShape(inputShape, geometry: geometry, ceilMode: ceilMode)
        guard shape == g.shape else { throw .shapeMismatch("the gradient has shape \(g.shape), not \(shape)") }
        var result = try Tensor(repeating: 0, shape: inputShape)
        result.scalars.withUnsafeMutableBufferPointer { result in
            forEachWindow(inputShape, output: shape, geometry: geometry) { index, taps, count, padded in
                let divisor = countIncludePad ? padded : count
                guard divisor > 0 else { return }
                let share = g.scalars[index] / Float(divisor)
                for position in 0..<count { result[taps[position]] += share }
            }
        }
        return result
    }
}
