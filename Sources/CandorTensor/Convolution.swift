/// The geometry of a 2-D convolution or pooling window over [N, C, H, W] (1-D inputs are
/// taken as H = 1): kernel, strides, dilations and the padding on each side, and the output
/// extent they give.
public struct WindowGeometry: Sendable {
    public var kernel: (height: Int, width: Int)
    public var strides: (height: Int, width: Int)
    public var dilations: (height: Int, width: Int)
    /// Padding before (top, left) and after (bottom, right) each spatial axis.
    public var padsBegin: (height: Int, width: Int)
    public var padsEnd: (height: Int, width: Int)

    public init(
        kernel: (Int, Int), strides: (Int, Int) = (1, 1), dilations: (Int, Int) = (1, 1), padsBegin: (Int, Int) = (0, 0),
        padsEnd: (Int, Int) = (0, 0)
    ) {
        self.kernel = kernel
        self.strides = strides
        self.dilations = dilations
        self.padsBegin = padsBegin
        self.padsEnd = padsEnd
    }

    /// The extent one window covers along an axis, dilation included.
    static func span(_ kernel: Int, _ dilation: Int) -> Int { (kernel - 1) * dilation + 1 }

    /// The output extent along one axis (floor division, or ceiling with `ceilMode` — where a
    /// last window starting in the end padding is dropped, as PyTorch and onnxruntime do).
    static func outputExtent(input: Int, kernel: Int, stride: Int, dilation: Int, begin: Int, end: Int, ceilMode: Bool) -> Int {
        let room = input + begin + end - span(kernel, dilation)
        guard room >= 0 else { return 0 }
        var extent = (ceilMode ? (room + stride - 1) / stride : room / stride) + 1
        if ceilMode, (extent - 1) * stride >= input + begin { extent -= 1 }
        return extent
    }

    /// The output [height, width] for an input of [height, width].
    public func outputSize(height: Int, width: Int, ceilMode: Bool = false) -> (height: Int, width: Int) {
        (
            Self.outputExtent(
                input: height, kernel: kernel.height, stride: strides.height, dilation: dilations.height, begin: padsBegin.height,
                end: padsEnd.height, ceilMode: ceilMode),
            Self.outputExtent(
                input: width, kernel: kernel.width, stride: strides.width, dilation: dilations.width, begin: padsBegin.width,
                end: padsEnd.width, ceilMode: ceilMode)
        )
    }

    /// Whether the geometry is usable: positive kernel, strides and dilations, non-negative pads.
    public var isValid: Bool {
        kernel.height > 0 && kernel.width > 0 && strides.height > 0 && strides.width > 0 && dilations.height > 0
            && dilations.width > 0 && padsBegin.height >= 0 && padsBegin.width >= 0 && padsEnd.height >= 0 && padsEnd.width >= 0
    }
}

/// Convolution as im2col + GEMM (BLAS `sgemm`), batched over images and groups, with its
/// vector-Jacobian products; transposed convolution is the adjoint of the same two steps.
/// Layouts are ONNX's: x [N, C, H, W], weights [M, C/groups, kH, kW], y [N, M, oH, oW].
public enum Convolution {
    /// The output columns `oj` whose tap `kj` lands inside a row of `width` (the rest read
    /// padding): ⌈(padBegin − kj·d)/s⌉ ..< ⌊(width − 1 + padBegin − kj·d)/s⌋ + 1, clamped.
    @inline(__always)
    static func validColumns(_ kj: Int, width: Int, outputWidth: Int, geometry g: WindowGeometry) -> Range<Int> {
        let offset = g.padsBegin.width - kj * g.dilations.width
        let stride = g.strides.width
        let first = offset <= 0 ? 0 : (offset + stride - 1) / stride
        let lastPosition = width - 1 + offset
        let end = lastPosition < 0 ? 0 : lastPosition / stride + 1
        let lower = Swift.min(first, outputWidth)
        return lower..<Swift.max(lower, Swift.min(end, outputWidth))
    }

    /// The raw buffers a backward pass of either convolution works in: x, w and ∂L/∂y read,
    /// the unfolded columns scratch, and ∂L/∂x and ∂L/∂w written (nil when not wanted).
    struct BackwardBuffers {
        let input: UnsafePointer<Float>
        let weights: UnsafePointer<Float>
        let gradient: UnsafePointer<Float>
        let columns: UnsafeMutablePointer<Float>
        let dx: UnsafeMutablePointer<Float>?
        let dw: UnsafeMutablePointer<Float>?
    }

    /// Allocates ∂L/∂x and ∂L/∂w (zeroed, empty when not wanted) and `columns` numbers of
    /// scratch, and runs `body` over them and the operands.
    private static func withBackwardBuffers(
        _ x: Tensor, _ w: Tensor, _ g: Tensor, wantsInput: Bool, wantsWeights: Bool, columns count: Int,
        _ body: (BackwardBuffers) -> Void
    ) -> (dx: [Float], dw: [Float]) {
        var dx = [Float](repeating: 0, count: wantsInput ? x.count : 0)
        var dw = [Float](repeating: 0, count: wantsWeights ? w.count : 0)
        var columns = [Float](repeating: 0, count: wantsInput || wantsWeights ? count : 0)
        x.scalars.withUnsafeBufferPointer { input in
            w.scalars.withUnsafeBufferPointer { weights in
                g.scalars.withUnsafeBufferPointer { gradient in
                    columns.withUnsafeMutableBufferPointer { columns in
                        dx.withUnsafeMutableBufferPointer { dx in
                            dw.withUnsafeMutableBufferPointer { dw in
                                guard let input = input.baseAddress, let weights = weights.baseAddress,
                                    let gradient = gradient.baseAddress, let columns = columns.baseAddress
                                else { return }
                                body(
                                    BackwardBuffers(
                                        input: input, weights: weights, gradient: gradient, columns: columns, dx: dx.baseAddress,
                                        dw: dw.baseAddress))
                            }
                        }
                    }
                }
            }
        }
        return (dx, dw)
    }

    /// ∂L/∂bias: the output gradient [batch, channels, plane] summed over all but the channels.
    private static func channelSums(_ g: Tensor, batch: Int, channels: Int, plane: Int) -> [Float] {
        var sums = [Float](repeating: 0, count: channels)
        for n in 0..<batch {
            for m in 0..<channels {
                let start = (n * channels + m) * plane
                sums[m] += g.scalars[start..<(start + plane)].reduce(0, +)
            }
        }
        return sums
    }

    /// Unfolds one image's channels `channels` into columns [channels·kH·kW, oH·oW]: column
    /// p holds the window of output position p (zeros where it reaches into padding). Each
    /// row's in-bounds run is found arithmetically, so the inner loop has no bounds tests
    /// (and is a plain copy at stride 1).
    static func im2col(
        _ image: UnsafePointer<Float>, channels: Int, height: Int, width: Int, geometry g: WindowGeometry, outputHeight: Int,
        outputWidth: Int, into columns: UnsafeMutablePointer<Float>
    ) {
        let stride = g.strides.width
        forEachWindowLine(
            channels: channels, height: height, width: width, geometry: g, outputHeight: outputHeight, outputWidth: outputWidth
        ) {
            lineOffset, imageOffset, valid in
            let line = columns + lineOffset
            guard let imageOffset, !valid.isEmpty else {
                line.update(repeating: 0, count: outputWidth)
                return
            }
            line.update(repeating: 0, count: valid.lowerBound)
            (line + valid.upperBound).update(repeating: 0, count: outputWidth - valid.upperBound)
            let source = image + imageOffset
            if stride == 1 {
                (line + valid.lowerBound).update(from: source + valid.lowerBound, count: valid.count)
            } else {
                for oj in valid { line[oj] = source[oj * stride] }
            }
        }
    }

    /// The adjoint of `im2col`: adds every column entry back onto the image position it came
    /// from (padding entries are dropped).
    static func col2im(
        _ columns: UnsafePointer<Float>, channels: Int, height: Int, width: Int, geometry g: WindowGeometry, outputHeight: Int,
        outputWidth: Int, into image: UnsafeMutablePointer<Float>
    ) {
        let stride = g.strides.width
        forEachWindowLine(
            channels: channels, height: height, width: width, geometry: g, outputHeight: outputHeight, outputWidth: outputWidth
        ) {
            lineOffset, imageOffset, valid in
            guard let imageOffset else { return }
            let line = columns + lineOffset
            let target = image + imageOffset
            for oj in valid { target[oj * stride] += line[oj] }
        }
    }

    /// The walk `im2col` and `col2im` share: for each unfolded row (channel, ki, kj) and each
    /// output row oi, `body(lineOffset, imageOffset, valid)` with the offset of that line of
    /// oW column entries, the offset in the image at which output column oj reads
    /// `oj · strideW` (nil where image row i falls in padding), and the output columns whose
    /// window stays inside the image's width.
    @inline(__always)
    private static func forEachWindowLine(
        channels: Int, height: Int, width: Int, geometry g: WindowGeometry, outputHeight: Int, outputWidth: Int,
        _ body: (_ lineOffset: Int, _ imageOffset: Int?, _ valid: Range<Int>) -> Void
    ) {
        let positions = outputHeight * outputWidth
        var row = 0
        for channel in 0..<channels {
            let plane = channel * height * width
            for ki in 0..<g.kernel.height {
                for kj in 0..<g.kernel.width {
                    let valid = validColumns(kj, width: width, outputWidth: outputWidth, geometry: g)
                    let shift = kj * g.dilations.width - g.padsBegin.width
                    for oi in 0..<outputHeight {
                        let i = oi * g.strides.height - g.padsBegin.height + ki * g.dilations.height
                        let imageOffset = i >= 0 && i < height ? plane + i * width + shift : nil
                        body(row * positions + oi * outputWidth, imageOffset, valid)
                    }
                    row += 1
                }
            }
        }
    }

    /// The checked shapes of a convolution: x [N, C, H, W], w [M, C/groups, kH, kW].
    struct Shapes {
        let batch, channels, height, width, outputChannels, groups: Int
        let outputHeight, outputWidth: Int
        var channelsPerGroup: Int { channels / groups }
        var outputsPerGroup: Int { outputChannels / groups }
        var patch: Int
        var positions: Int { outputHeight * outputWidth }

        init(input: [Int], weights: [Int], groups: Int, geometry: WindowGeometry) throws(TensorError) {
            guard input.count == 4, weights.count == 4 else {
                throw .invalidShape("convolution needs [N, C, H, W] input and [M, C/groups, kH, kW] weights, got \(input) and \(weights)")
            }
            guard groups > 0, input[1] % groups == 0, weights[0] % groups == 0,
                weights[1].multipliedReportingOverflow(by: groups) == (input[1], false)
            else {
                throw .shapeMismatch("weights \(weights) do not fit input channels \(input[1]) in \(groups) groups")
            }
            guard weights[2] == geometry.kernel.height, weights[3] == geometry.kernel.width, geometry.isValid else {
                throw .shapeMismatch("the kernel \(weights.suffix(2)) does not match the window \(geometry.kernel)")
            }
            batch = input[0]
            channels = input[1]
            height = input[2]
            width = input[3]
            outputChannels = weights[0]
            self.groups = groups
            (outputHeight, outputWidth) = geometry.outputSize(height: height, width: width)
            guard outputHeight > 0, outputWidth > 0 else {
                throw .invalidShape("the window \(geometry.kernel) does not fit the padded input \(input.suffix(2))")
            }
            patch = weights[1] * weights[2] * weights[3]
            _ = try [batch, outputChannels, outputHeight, outputWidth].checkedElementCount()
            _ = try [patch, outputHeight * outputWidth].checkedElementCount()
        }
    }

    /// y = conv(x, w) + bias.
    public static func forward(
        _ x: Tensor, weights w: Tensor, bias: Tensor?, groups: Int, geometry: WindowGeometry
    ) throws(TensorError) -> Tensor {
        let s = try Shapes(input: x.shape, weights: w.shape, groups: groups, geometry: geometry)
        if let bias, bias.count != s.outputChannels {
            throw .shapeMismatch("the bias has \(bias.count) values for \(s.outputChannels) output channels")
        }
        var y = [Float](repeating: 0, count: s.batch * s.outputChannels * s.positions)
        var columns = [Float](repeating: 0, count: s.patch * s.positions)
        x.scalars.withUnsafeBufferPointer { input in
            w.scalars.withUnsafeBufferPointer { weights in
                y.withUnsafeMutableBufferPointer { output in
                    columns.withUnsafeMutableBufferPointer { columns in
                        guard let input = input.baseAddress, let weights = weights.baseAddress, let output = output.baseAddress,
                            let columns = columns.baseAddress
                        else { return }
                        for n in 0..<s.batch {
                            for group in 0..<s.groups {
                                im2col(
                                    input + (n * s.channels + group * s.channelsPerGroup) * s.height * s.width,
                                    channels: s.channelsPerGroup, height: s.height, width: s.width, geometry: geometry,
                                    outputHeight: s.outputHeight, outputWidth: s.outputWidth, into: columns)
                                MatrixMultiplication.gemm(
                                    m: s.outputsPerGroup, n: s.positions, k: s.patch,
                                    a: weights + group * s.outputsPerGroup * s.patch, transposeA: false,
                                    b: columns, transposeB: false,
                                    c: output + (n * s.outputChannels + group * s.outputsPerGroup) * s.positions)
                            }
                        }
                    }
                }
            }
        }
        if let bias {
            for n in 0..<s.batch {
                for m in 0..<s.outputChannels {
                    let start = (n * s.outputChannels + m) * s.positions
                    let value = bias.scalars[m]
                    for index in start..<(start + s.positions) { y[index] += value }
                }
            }
        }
        return Tensor(uncheckedShape: [s.batch, s.outputChannels, s.outputHeight, s.outputWidth], scalars: y)
    }

    /// ∂L/∂x, ∂L/∂w and ∂L/∂bias of y = conv(x, w) + bias given ∂L/∂y, each computed only
    /// when asked for.
    public static func backward(
        _ x: Tensor, weights w: Tensor, groups: Int, geometry: WindowGeometry, outputGradient g: Tensor,
        wantsInput: Bool, wantsWeights: Bool, wantsBias: Bool
    ) throws(TensorError) -> (input: Tensor?, weights: Tensor?, bias: Tensor?) {
        let s = try Shapes(input: x.shape, weights: w.shape, groups: groups, geometry: geometry)
        guard g.shape == [s.batch, s.outputChannels, s.outputHeight, s.outputWidth] else {
            throw .shapeMismatch(
                "the output gradient has shape \(g.shape), not [\(s.batch), \(s.outputChannels), \(s.outputHeight), \(s.outputWidth)]")
        }
        let (dx, dw) = withBackwardBuffers(
            x, w, g, wantsInput: wantsInput, wantsWeights: wantsWeights, columns: s.patch * s.positions
        ) { buffers in
            for n in 0..<s.batch {
                for group in 0..<s.groups {
                    let imageOffset = (n * s.channels + group * s.channelsPerGroup) * s.height * s.width
                    let outputGradient = buffers.gradient + (n * s.outputChannels + group * s.outputsPerGroup) * s.positions
                    if wantsWeights, let dw = buffers.dw {
                        im2col(
                            buffers.input + imageOffset, channels: s.channelsPerGroup, height: s.height, width: s.width,
                            geometry: geometry, outputHeight: s.outputHeight, outputWidth: s.outputWidth, into: buffers.columns)
                        MatrixMultiplication.gemm(
                            m: s.outputsPerGroup, n: s.patch, k: s.positions, a: outputGradient, transposeA: false,
                            b: buffers.columns, transposeB: true, c: dw + group * s.outputsPerGroup * s.patch, beta: 1)
                    }
                    if wantsInput, let dx = buffers.dx {
                        MatrixMultiplication.gemm(
                            m: s.patch, n: s.positions, k: s.outputsPerGroup,
                            a: buffers.weights + group * s.outputsPerGroup * s.patch, transposeA: true,
                            b: outputGradient, transposeB: false, c: buffers.columns)
                        col2im(
                            buffers.columns, channels: s.channelsPerGroup, height: s.height, width: s.width, geometry: geometry,
                            outputHeight: s.outputHeight, outputWidth: s.outputWidth, into: dx + imageOffset)
                    }
                }
            }
        }
        let db = wantsBias ? channelSums(g, batch: s.batch, channels: s.outputChannels, plane: s.positions) : []
        return (
            wantsInput ? Tensor(uncheckedShape: x.shape, scalars: dx) : nil,
            wantsWeights ? Tensor(uncheckedShape: w.shape, scalars: dw) : nil,
            wantsBias ? Tensor(uncheckedShape: [s.outputChannels], scalars: db) : nil
        )
    }

    /// Transposed convolution (`ConvTranspose`), the adjoint of `forward` in its input: x
    /// [N, C, H, W], w [C, M/groups, kH, kW], y [N, M, oH, oW] of the given output size (which
    /// must be one whose convolution by `geometry` is H × W, output padding included).
    public static func transposedForward(
        _ x: Tensor, weights w: Tensor, bias: Tensor?, groups: Int, geometry: WindowGeometry, outputSize: (height: Int, width: Int)
    ) throws(TensorError) -> Tensor {
        let s = try transposedShapes(x, w, groups: groups, geometry: geometry, outputSize: outputSize)
        if let bias, bias.count != s.channels {
            throw .shapeMismatch("the bias has \(bias.count) values for \(s.channels) output channels")
        }
        // Seen as the convolution y → x: `s` describes that convolution (its input is y).
        var y = [Float](repeating: 0, count: s.batch * s.channels * s.height * s.width)
        var columns = [Float](repeating: 0, count: s.patch * s.positions)
        x.scalars.withUnsafeBufferPointer { input in
            w.scalars.withUnsafeBufferPointer { weights in
                y.withUnsafeMutableBufferPointer { output in
                    columns.withUnsafeMutableBufferPointer { columns in
                        guard let input = input.baseAddress, let weights = weights.baseAddress, let output = output.baseAddress,
                            let columns = columns.baseAddress
                        else { return }
                        for n in 0..<s.batch {
                            for group in 0..<s.groups {
                                MatrixMultiplication.gemm(
                                    m: s.patch, n: s.positions, k: s.outputsPerGroup,
                                    a: weights + group * s.outputsPerGroup * s.patch, transposeA: true,
                                    b: input + (n * s.outputChannels + group * s.outputsPerGroup) * s.positions, transposeB: false,
                                    c: columns)
                                col2im(
                                    columns, channels: s.channelsPerGroup, height: s.height, width: s.width, geometry: geometry,
                                    outputHeight: s.outputHeight, outputWidth: s.outputWidth,
                                    into: output + (n * s.channels + group * s.channelsPerGroup) * s.height * s.width)
                            }
                        }
                    }
                }
            }
        }
        if let bias {
            let plane = s.height * s.width
            for n in 0..<s.batch {
                for m in 0..<s.channels {
                    let start = (n * s.channels + m) * plane
                    for index in start..<(start + plane) { y[index] += bias.scalars[m] }
                }
            }
        }
        return Tensor(uncheckedShape: [s.batch, s.channels, s.height, s.width], scalars: y)
    }

    /// ∂L/∂x, ∂L/∂w and ∂L/∂bias of a transposed convolution given ∂L/∂y: a convolution of
    /// the output gradient, and its weight gradient with the roles of x and y swapped.
    public static func transposedBackward(
        _ x: Tensor, weights w: Tensor, groups: Int, geometry: WindowGeometry, outputGradient g: Tensor,
        wantsInput: Bool, wantsWeights: Bool, wantsBias: Bool
    ) throws(TensorError) -> (input: Tensor?, weights: Tensor?, bias: Tensor?) {
        let s = try transposedShapes(
            x, w, groups: groups, geometry: geometry, outputSize: (g.shape.count == 4 ? g.shape[2] : 0, g.shape.count == 4 ? g.shape[3] : 0)
        )
        guard g.shape == [s.batch, s.channels, s.height, s.width] else {
            throw .shapeMismatch("the output gradient has shape \(g.shape), not [\(s.batch), \(s.channels), \(s.height), \(s.width)]")
        }
        let (dx, dw) = withBackwardBuffers(
            x, w, g, wantsInput: wantsInput, wantsWeights: wantsWeights, columns: s.patch * s.positions
        ) { buffers in
            for n in 0..<s.batch {
                for group in 0..<s.groups {
                    let inputOffset = (n * s.outputChannels + group * s.outputsPerGroup) * s.positions
                    im2col(
                        buffers.gradient + (n * s.channels + group * s.channelsPerGroup) * s.height * s.width,
                        channels: s.channelsPerGroup, height: s.height, width: s.width, geometry: geometry,
                        outputHeight: s.outputHeight, outputWidth: s.outputWidth, into: buffers.columns)
                    if wantsInput, let dx = buffers.dx {
                        MatrixMultiplication.gemm(
                            m: s.outputsPerGroup, n: s.positions, k: s.patch,
                            a: buffers.weights + group * s.outputsPerGroup * s.patch, transposeA: false,
                            b: buffers.columns, transposeB: false, c: dx + inputOffset)
                    }
                    if wantsWeights, let dw = buffers.dw {
                        MatrixMultiplication.gemm(
                            m: s.outputsPerGroup, n: s.patch, k: s.positions, a: buffers.input + inputOffset, transposeA: false,
                            b: buffers.columns, transposeB: true, c: dw + group * s.outputsPerGroup * s.patch, beta: 1)
                    }
                }
            }
        }
        let db = wantsBias ? channelSums(g, batch: s.batch, channels: s.channels, plane: s.height * s.width) : []
        return (
            wantsInput ? Tensor(uncheckedShape: x.shape, scalars: dx) : nil,
            wantsWeights ? Tensor(uncheckedShape: w.shape, scalars: dw) : nil,
            wantsBias ? Tensor(uncheckedShape: [s.channels], scalars: db) : nil
        )
    }

    /// The shapes of the convolution whose adjoint a transposed convolution is: its input is
    /// the transposed convolution's output y [N, M, oH, oW], its output x [N, C, H, W], and
    /// its weights are w [C, M/groups, kH, kW] read as [C, (M/groups)·kH·kW] per group.
    private static func transposedShapes(
        _ x: Tensor, _ w: Tensor, groups: Int, geometry: WindowGeometry, outputSize: (height: Int, width: Int)
    ) throws(TensorError) -> Shapes {
        guard x.rank == 4, w.rank == 4, groups > 0, x.shape[1] == w.shape[0], w.shape[0] % groups == 0 else {
            throw .shapeMismatch("ConvTranspose needs [N, C, H, W] input and [C, M/groups, kH, kW] weights, got \(x.shape) and \(w.shape)")
        }
        let (channels, overflow) = w.shape[1].multipliedReportingOverflow(by: groups)
        guard !overflow else { throw .tooLarge("ConvTranspose has too many output channels") }
        // The output itself must fit: it is allocated whole.
        _ = try [x.shape[0], channels, outputSize.height, outputSize.width].checkedElementCount()
        let s = try Shapes(
            input: [x.shape[0], channels, outputSize.height, outputSize.width],
            weights: [w.shape[0], w.shape[1], w.shape[2], w.shape[3]], groups: groups, geometry: geometry)
        guard s.outputHeight == x.shape[2], s.outputWidth == x.shape[3] else {
            throw .shapeMismatch("an output of \(outputSize) does not convolve back to the input's \(x.shape.suffix(2))")
        }
        return s
    }
}
