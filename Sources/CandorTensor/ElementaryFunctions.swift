/// tanh and the logistic function for whole tensors of activations, several times faster than
/// glibc's `tanhf` (whose `expm1f` dominated the forward pass of tanh networks) and as
/// accurate in float32: both are computed in double precision from one exponential of a
/// non-positive argument, so nothing overflows and the float result is within one ulp. The
/// code has no branches and works on four lanes at a time (one by one it is latency-bound on
/// its division).
public enum ElementaryFunctions {
    /// tanh of one value (the tensor version's lanes, for a single element).
    public static func tanh(_ x: Float) -> Float { tanh(SIMD4(repeating: x))[0] }

    /// The logistic function of one value.
    public static func sigmoid(_ x: Float) -> Float { sigmoid(SIMD4(repeating: x))[0] }

    public static func tanh(_ tensor: Tensor) -> Tensor {
        apply(tensor) { tanh($0) }
    }

    public static func sigmoid(_ tensor: Tensor) -> Tensor {
        apply(tensor) { sigmoid($0) }
    }

    /// `function` over a tensor, four elements at a time (the last few padded).
    @inline(__always)
    static func apply(_ tensor: Tensor, _ function: (SIMD4<Float>) -> SIMD4<Float>) -> Tensor {
        var result = [Float](repeating: 0, count: tensor.count)
        tensor.scalars.withUnsafeBufferPointer { input in
            result.withUnsafeMutableBufferPointer { output in
                let whole = input.count / 4 * 4
                var index = 0
                while index < whole {
                    let values = function(SIMD4(input[index], input[index + 1], input[index + 2], input[index + 3]))
                    for lane in 0..<4 { output[index + lane] = values[lane] }
                    index += 4
                }
                guard whole < input.count else { return }
                var lanes = SIMD4<Float>(repeating: 0)
                for lane in 0..<(input.count - whole) { lanes[lane] = input[whole + lane] }
                let values = function(lanes)
                for lane in 0..<(input.count - whole) { output[whole + lane] = values[lane] }
            }
        }
        return Tensor(uncheckedShape: tensor.shape, scalars: result)
    }

    /// e^y for y ≤ 0, per lane (y below −700 gives about 0; NaN stays NaN): y = k·ln 2 + r
    /// with |r| ≤ ln 2 / 2, e^r by its Taylor polynomial to r⁹ (relative error below 3·10⁻¹⁰,
    /// far under float precision), times 2^k built from the exponent bits. k is rounded by
    /// adding 1.5·2⁵², which leaves it in the low bits of the sum.
    @inline(__always)
    static func exponential(ofNonPositive y: SIMD4<Double>) -> SIMD4<Double> {
        let clamped = y.replacing(with: -700, where: y .< -700)
        let shifter = SIMD4<Double>(repeating: 6_755_399_441_055_744.0)
        let shifted = clamped * 1.4426950408889634 + shifter
        let k = shifted - shifter
        // ln 2 split in two so that k · ln2High is exact.
        let r = clamped - k * 0.6931471803691238 - k * 1.9082149292705877e-10
        var p = SIMD4<Double>(repeating: 1.0 / 362_880)
        p = p * r + 1.0 / 40_320
        p = p * r + 1.0 / 5_040
        p = p * r + 1.0 / 720
        p = p * r + 1.0 / 120
        p = p * r + 1.0 / 24
        p = p * r + 1.0 / 6
        p = p * r + 0.5
        p = p * r + 1
        p = p * r + 1
        let exponent = unsafeBitCast(shifted, to: SIMD4<Int64>.self) &- unsafeBitCast(shifter, to: SIMD4<Int64>.self)
        return p * unsafeBitCast((exponent &+ 1023) &<< 52, to: SIMD4<Double>.self)
    }

    /// tanh(x) = (1 − e^(−2|x|)) / (1 + e^(−2|x|)) with the sign of x, and x − x³/3 below
    /// 10⁻⁴, where the subtraction would cancel.
    @inline(__always)
    static func tanh(_ x: SIMD4<Float>) -> SIMD4<Float> {
        let wide = SIMD4<Double>(x)
        let absolute = wide.replacing(with: -wide, where: wide .< 0)
        let magnitude = absolute.replacing(with: 9.5, where: absolute .> 9.5)
        let e = exponential(ofNonPositive: -2 * magnitude)
        let large = (1 - e) / (1 + e)
        let small = magnitude - magnitude * magnitude * magnitude / 3
        let value = large.replacing(with: small, where: magnitude .< 1e-4)
        return SIMD4<Float>(value.replacing(with: -value, where: wide .< 0))
    }

    /// The logistic function 1 / (1 + e^(−x)), through e^(−|x|) so that nothing overflows.
    @inline(__always)
    static func sigmoid(_ x: SIMD4<Float>) -> SIMD4<Float> {
        let wide = SIMD4<Double>(x)
        let absolute = wide.replacing(with: -wide, where: wide .< 0)
        let e = exponential(ofNonPositive: -absolute)
        let positive = 1 / (1 + e)
        return SIMD4<Float>(positive.replacing(with: e / (1 + e), where: wide .< 0))
    }
}
