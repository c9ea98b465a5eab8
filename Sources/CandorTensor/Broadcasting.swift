/// NumPy-style broadcasting (the rule ONNX's element-wise operators follow): shapes are aligned
/// at their trailing axes, and an axis of extent 1 stretches to match the other.
/// Reference: https://github.com/onnx/onnx/blob/main/docs/Broadcasting.md
public enum Broadcasting {
    /// The shape two operands broadcast to.
    public static func shape(_ a: [Int], _ b: [Int]) throws(TensorError) -> [Int] {
        let rank = Swift.max(a.count, b.count)
        var result = [Int](repeating: 1, count: rank)
        for axis in 0..<rank {
            let x = axis < rank - a.count ? 1 : a[axis - (rank - a.count)]
            let y = axis < rank - b.count ? 1 : b[axis - (rank - b.count)]
            if x == y || y == 1 {
                result[axis] = x
            } else if x == 1 {
                result[axis] = y
            } else {
                throw .shapeMismatch("shapes \(a) and \(b) do not broadcast")
            }
        }
        _ = try result.checkedElementCount()
        return result
    }

    /// The strides with which an operand of `shape` is read when broadcast to `target`:
    /// zero along every stretched axis.
    @usableFromInline
    static func strides(of shape: [Int], broadcastTo target: [Int]) -> [Int] {
        var strides = [Int](repeating: 0, count: target.count)
        var step = 1
        let offset = target.count - shape.count
        for axis in stride(from: shape.count - 1, through: 0, by: -1) {
            strides[axis + offset] = shape[axis] == 1 && target[axis + offset] != 1 ? 0 : step
            step *= shape[axis]
        }
        return strides
    }

    /// Visits every element of `outputShape` in row-major order with the matching flat offsets
    /// into two broadcast operands.
    @inlinable @inline(__always)
    static func forEachOffset(
        outputShape: [Int], stridesA: [Int], stridesB: [Int], _ body: (Int, Int, Int) -> Void
    ) {
        let rank = outputShape.count
        let total = outputShape.reduce(1, *)
        guard total > 0 else { return }
        guard rank > 0 else {
            body(0, 0, 0)
            return
        }
        // The innermost axis is walked in a tight loop; outer axes by an odometer.
        let inner = outputShape[rank - 1]
        let innerA = stridesA[rank - 1]
        let innerB = stridesB[rank - 1]
        var index = [Int](repeating: 0, count: rank)
        var offsetA = 0
        var offsetB = 0
        var flat = 0
        while flat < total {
            var a = offsetA
            var b = offsetB
            for _ in 0..<inner {
                body(flat, a, b)
                flat &+= 1
                a &+= innerA
                b &+= innerB
            }
            var axis = rank - 2
            while axis >= 0 {
                index[axis] += 1
                offsetA += stridesA[axis]
                offsetB += stridesB[axis]
                if index[axis] < outputShape[axis] { break }
                offsetA -= stridesA[axis] * index[axis]
                offsetB -= stridesB[axis] * index[axis]
                index[axis] = 0
                axis -= 1
            }
        }
    }

    /// Applies `combine` to two operands broadcast against each other.
    @inlinable
    public static func apply(
        _ a: Tensor, _ b: Tensor, _ combine: (Float, Float) -> Float
    ) throws(TensorError) -> Tensor {
        if a.shape == b.shape { return try a.zipMap(b, combine) }
        let outputShape = try shape(a.shape, b.shape)
        var result = [Float](repeating: 0, count: outputShape.reduce(1, *))
        let stridesA = strides(of: a.shape, broadcastTo: outputShape)
        let stridesB = strides(of: b.shape, broadcastTo: outputShape)
        a.scalars.withUnsafeBufferPointer { x in
            b.scalars.withUnsafeBufferPointer { y in
                result.withUnsafeMutableBufferPointer { out in
                    forEachOffset(outputShape: outputShape, stridesA: stridesA, stridesB: stridesB) {
                        out[$0] = combine(x[$1], y[$2])
                    }
                }
            }
        }
        return Tensor(uncheckedShape: outputShape, scalars: result)
    }

    /// Sums `gradient` (shaped like a broadcast result) back down to `shape`: the
    /// vector-Jacobian product of broadcasting an operand of that shape.
    public static func reduce(_ gradient: Tensor, toShape shape: [Int]) throws(TensorError) -> Tensor {
        if gradient.shape == shape { return gradient }
        guard shape.count <= gradient.rank, (try? Broadcasting.shape(shape, gradient.shape)) == gradient.shape
        else {
            throw .shapeMismatch("cannot reduce a gradient of shape \(gradient.shape) to \(shape)")
        }
        var result = [Float](repeating: 0, count: shape.reduce(1, *))
        let stridesTarget = strides(of: shape, broadcastTo: gradient.shape)
        let identity = strides(of: gradient.shape, broadcastTo: gradient.shape)
        gradient.scalars.withUnsafeBufferPointer { g in
            result.withUnsafeMutableBufferPointer { out in
                forEachOffset(outputShape: gradient.shape, stridesA: stridesTarget, stridesB: identity) {
                    out[$1] += g[$2]
                }
            }
        }
        return Tensor(uncheckedShape: shape, scalars: result)
    }
}
