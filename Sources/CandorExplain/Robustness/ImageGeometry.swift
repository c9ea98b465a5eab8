import Foundation

/// The geometric image perturbations of `min_perturbation`, on one [height, width] plane of
/// float32 values, computed in double and rounded to float32 as SciPy's `scipy.ndimage`
/// does for a float32 array (SciPy 1.17; the goldens compare with it):
///
/// - ``rotated(by:fill:)`` is `rotate(plane, angle, order=1, reshape=False, mode="constant",
///   cval=fill)`;
/// - ``shifted(rows:columns:fill:)`` is `shift(plane, (rows, columns), order=1,
///   mode="constant", cval=fill)`;
/// - ``blurred(sigma:)`` is `gaussian_filter(plane, sigma, mode="reflect", truncate=4.0)`.
///
/// Bilinear sampling in SciPy's `"constant"` mode does not interpolate beyond the edges: an
/// output pixel whose source point lies outside [0, n − 1] on either axis (by any amount)
/// takes the fill value; inside, it interpolates the four neighbours.
struct ImagePlane {
    let height: Int
    let width: Int
    var values: [Float]

    init(height: Int, width: Int, values: [Float]) {
        self.height = height
        self.width = width
        self.values = values
    }

    /// The value at source point (y, x) by bilinear interpolation, or `fill` outside.
    private func sample(_ y: Double, _ x: Double, fill: Double) -> Double {
        guard y >= 0, x >= 0, y <= Double(height - 1), x <= Double(width - 1) else { return fill }
        let top = Int(y.rounded(.down))
        let left = Int(x.rounded(.down))
        let dy = y - Double(top)
        let dx = x - Double(left)
        let bottom = min(top + 1, height - 1)
        let right = min(left + 1, width - 1)
        let upper = (1 - dx) * Double(values[top * width + left]) + dx * Double(values[top * width + right])
        let lower = (1 - dx) * Double(values[bottom * width + left]) + dx * Double(values[bottom * width + right])
        return (1 - dy) * upper + dy * lower
    }

    /// The plane rotated by `degrees` about its centre ((height − 1)/2, (width − 1)/2), as
    /// SciPy's `rotate` maps it: output pixel o samples the input at R·o + (c − R·c), with
    /// R = [[cos, sin], [−sin, cos]] of the angle (exact at multiples of 90°, as SciPy's
    /// `cosdg`/`sindg` are) and c the centre.
    func rotated(by degrees: Double, fill: Float) -> ImagePlane {
        let (cosine, sine) = Self.cosineAndSine(degrees: degrees)
        let centreY = Double(height - 1) / 2
        let centreX = Double(width - 1) / 2
        let offsetY = centreY - (cosine * centreY + sine * centreX)
        let offsetX = centreX - (-sine * centreY + cosine * centreX)
        var result = [Float](repeating: 0, count: values.count)
        for row in 0..<height {
            for column in 0..<width {
                let y = cosine * Double(row) + sine * Double(column) + offsetY
                let x = -sine * Double(row) + cosine * Double(column) + offsetX
                result[row * width + column] = Float(sample(y, x, fill: Double(fill)))
            }
        }
        return ImagePlane(height: height, width: width, values: result)
    }

    /// The plane moved by `rows` down and `columns` right (fractional amounts interpolate):
    /// output pixel (i, j) samples the input at (i − rows, j − columns).
    func shifted(rows: Double, columns: Double, fill: Float) -> ImagePlane {
        var result = [Float](repeating: 0, count: values.count)
        for row in 0..<height {
            for column in 0..<width {
                result[row * width + column] = Float(sample(Double(row) - rows, Double(column) - columns, fill: Double(fill)))
            }
        }
        return ImagePlane(height: height, width: width, values: result)
    }

    /// The plane smoothed by a Gaussian of standard deviation `sigma` pixels: the normalised
    /// kernel exp(−x²/2σ²) on x = −r…r, r = ⌊4σ + 0.5⌋, correlated along the rows' axis and
    /// then the columns' (the first pass stored as float32, as SciPy stores it in the
    /// float32 output), the plane extended by reflection (d c b a | a b c d | d c b a).
    /// σ ≤ 1e-15 leaves the plane as it is (SciPy skips such axes).
    func blurred(sigma: Double) -> ImagePlane {
        guard sigma > 1e-15 else { return self }
        let weights = Self.gaussianKernel(sigma: sigma)
        var result = self
        result.correlate(weights, alongRows: true)
        result.correlate(weights, alongRows: false)
        return result
    }

    /// One pass of the symmetric kernel `weights` (centre first, then radius 1, 2, …) along
    /// the columns of each row (`alongRows` false) or down each column (`alongRows` true).
    /// Each line is first extended by `radius` reflected values on both sides, so the sums
    /// run over contiguous memory.
    private mutating func correlate(_ weights: [Double], alongRows: Bool) {
        let length = alongRows ? height : width
        let lines = alongRows ? width : height
        let stride = alongRows ? width : 1
        let lineStride = alongRows ? 1 : width
        let radius = weights.count - 1
        let source = (0..<(length + 2 * radius)).map { Self.reflect($0 - radius, length) }
        var extended = [Double](repeating: 0, count: length + 2 * radius)
        weights.withUnsafeBufferPointer { weights in
            values.withUnsafeMutableBufferPointer { values in
                extended.withUnsafeMutableBufferPointer { extended in
                    for lineIndex in 0..<lines {
                        let start = lineIndex * lineStride
                        for (position, index) in source.enumerated() {
                            extended[position] = Double(values[start + index * stride])
                        }
                        for index in 0..<length {
                            let centre = index + radius
                            var sum = extended[centre] * weights[0]
                            var offset = 1
                            while offset <= radius {
                                sum += (extended[centre - offset] + extended[centre + offset]) * weights[offset]
                                offset += 1
                            }
                            values[start + index * stride] = Float(sum)
                        }
                    }
                }
            }
        }
    }

    /// Index `index` of a line of `length` values extended by reflection about its edges
    /// (period 2·length).
    static func reflect(_ index: Int, _ length: Int) -> Int {
        let period = 2 * length
        var folded = index % period
        if folded < 0 { folded += period }
        return folded < length ? folded : period - 1 - folded
    }

    /// The centre-and-right half of SciPy's Gaussian kernel (`_gaussian_kernel1d` at order
    /// 0), normalised over all 2r + 1 taps.
    static func gaussianKernel(sigma: Double) -> [Double] {
        let radius = Int(4 * sigma + 0.5)
        let scale = -0.5 / (sigma * sigma)
        let half = (0...radius).map { exp(scale * Double($0 * $0)) }
        let total = half.dropFirst().reduce(0, +) * 2 + half[0]
        return half.map { $0 / total }
    }

    /// (cos, sin) of an angle in degrees, exact at multiples of 90° (as SciPy's `cosdg` and
    /// `sindg`): the angle is reduced to the nearest multiple of 90° plus a rest in
    /// [−45°, 45°], exactly, and only the rest goes through radians.
    static func cosineAndSine(degrees: Double) -> (Double, Double) {
        var reduced = degrees.truncatingRemainder(dividingBy: 360)
        if reduced < 0 { reduced += 360 }
        let quarter = (reduced / 90).rounded()
        let rest = (reduced - quarter * 90) * .pi / 180
        let (cosine, sine) = (cos(rest), sin(rest))
        switch Int(quarter) % 4 {
        case 1: return (-sine, cosine)
        case 2: return (-cosine, -sine)
        case 3: return (sine, -cosine)
        default: return (cosine, sine)
        }
    }
}
