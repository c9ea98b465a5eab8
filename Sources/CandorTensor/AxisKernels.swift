import Foundation

/// Kernels that work along one axis of a tensor viewed as [outer, extent, inner]:
/// softmax and log-softmax, and their vector-Jacobian products.
///
/// Viewing the axis this way covers both ONNX softmax semantics: opset ≥ 13 normalises along
/// one axis (inner = product of the trailing extents), opset < 13 flattens everything from the
/// axis on into one row (inner = 1).
public struct AxisView: Sendable, Equatable {
    public var outer: Int
    public var extent: Int
    public var inner: Int

    public init(outer: Int, extent: Int, inner: Int) {
        self.outer = outer
        self.extent = extent
        self.inner = inner
    }

    /// The view of `shape` along `axis` (already normalised to 0..<rank).
    public init(shape: [Int], axis: Int) {
        self.init(
            outer: shape[..<axis].reduce(1, *),
            extent: shape[axis],
            inner: shape[(axis + 1)...].reduce(1, *))
    }

    /// Calls `body` with the flat offset of the first element of every line along the axis.
    @inlinable
    func forEachLine(_ body: (Int) -> Void) {
        for o in 0..<outer {
            for i in 0..<inner { body(o * extent * inner + i) }
        }
    }
}

public enum AxisKernels {
    /// softmax(x)ᵢ = exp(xᵢ − max x) / Σⱼ exp(xⱼ − max x), along the view's axis.
    public static func softmax(_ x: Tensor, view: AxisView) -> Tensor {
        mapLines(x, view: view) { y, start, stride, maximum in
            var sum: Float = 0
            for j in 0..<view.extent {
                let e = expf(y[start + j * stride] - maximum)
                y[start + j * stride] = e
                sum += e
            }
            for j in 0..<view.extent { y[start + j * stride] /= sum }
        }
    }

    /// log softmax(x)ᵢ = xᵢ − max x − log Σⱼ exp(xⱼ − max x), computed without forming softmax.
    public static func logSoftmax(_ x: Tensor, view: AxisView) -> Tensor {
        mapLines(x, view: view) { y, start, stride, maximum in
            var sum: Float = 0
            for j in 0..<view.extent { sum += expf(y[start + j * stride] - maximum) }
            let shift = maximum + logf(sum)
            for j in 0..<view.extent { y[start + j * stride] -= shift }
        }
    }

    /// A copy of x rewritten line by line along the view's axis: `body(y, start, stride,
    /// maximum)` gets each line's first index, its stride and its maximum (the shift that
    /// keeps exp from overflowing in both softmax forms).
    @inline(__always)
    private static func mapLines(
        _ x: Tensor, view: AxisView, _ body: (UnsafeMutableBufferPointer<Float>, Int, Int, Float) -> Void
    ) -> Tensor {
        var result = x.scalars
        let stride = view.inner
        result.withUnsafeMutableBufferPointer { y in
            view.forEachLine { start in
                var maximum = -Float.infinity
                for j in 0..<view.extent { maximum = max(maximum, y[start + j * stride]) }
                body(y, start, stride, maximum)
            }
        }
        return Tensor(uncheckedShape: x.shape, scalars: result)
    }

    /// VJP of softmax from its output y: ∂L/∂x = y ⊙ (g − Σⱼ gⱼyⱼ).
    public static func softmaxGradient(output y: Tensor, outputGradient g: Tensor, view: AxisView) -> Tensor {
        lineGradient(output: y, outputGradient: g, view: view, term: { y, g in g * y }, gradient: { y, g, dot in y * (g - dot) })
    }

    /// VJP of log-softmax from its output z: ∂L/∂x = g − exp(z) Σⱼ gⱼ.
    public static func logSoftmaxGradient(output z: Tensor, outputGradient g: Tensor, view: AxisView) -> Tensor {
        lineGradient(output: z, outputGradient: g, view: view, term: { _, g in g }, gradient: { z, g, sum in g - expf(z) * sum })
    }

    /// The form both softmax VJPs take: per line along the axis one sum s = Σⱼ term(yⱼ, gⱼ),
    /// then each element's gradient from (yᵢ, gᵢ, s).
    @inline(__always)
    private static func lineGradient(
        output y: Tensor, outputGradient g: Tensor, view: AxisView, term: (Float, Float) -> Float,
        gradient: (Float, Float, Float) -> Float
    ) -> Tensor {
        var result = [Float](repeating: 0, count: y.count)
        let stride = view.inner
        y.scalars.withUnsafeBufferPointer { y in
            g.scalars.withUnsafeBufferPointer { g in
                view.forEachLine { start in
                    var sum: Float = 0
                    for j in 0..<view.extent { sum += term(y[start + j * stride], g[start + j * stride]) }
                    for j in 0..<view.extent {
                        let at = start + j * stride
                        result[at] = gradient(y[at], g[at], sum)
                    }
                }
            }
        }
        return Tensor(uncheckedShape: y.shape, scalars: result)
    }
}
