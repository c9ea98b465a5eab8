import Foundation

/// SLIC superpixels (Achanta et al., "SLIC Superpixels Compared to State-of-the-Art
/// Superpixel Methods", TPAMI 2012) as scikit-image's `slic` computes them for a 2-D image
/// with its defaults (no smoothing, ten iterations, connectivity enforced, labels from 1):
///
/// 1. The image is rescaled to [0, 1] by its overall minimum and maximum, RGB is converted to
///    CIELAB (D65, 2° observer), and every channel is multiplied by 1/`compactness`, so the
///    distance of a pixel to a centre is Δposition²/S² + Δcolour²/m².
/// 2. Centres start on scikit-image's `regular_grid` for the requested count, with colour 0.
/// 3. Ten times: every pixel within ±2 grid steps of a centre joins its nearest centre (the
///    first on ties), then each centre moves to the mean position and colour of its pixels.
/// 4. Connected pieces are relabelled in scan order; a piece smaller than half the mean
///    segment size joins the last labelled neighbour its breadth-first search met, and a
///    piece is cut at three times the mean size.
struct SlicSegmentation {
    let height: Int
    let width: Int
    /// Channel-last pixel values, [height × width × channels].
    let pixels: [Double]
    let channels: Int

    /// Labels, row-major [height × width], numbered from 1.
    func labels(segments requested: Int, compactness: Double) -> [Int] {
        let low = pixels.min() ?? 0
        let high = pixels.max() ?? 0
        let rescaled = pixels.map { high > low ? ($0 - low) / (high - low) : $0 - low }
        let ratio = 1 / compactness
        let image = (channels == 3 ? Self.lab(fromRGB: rescaled) : rescaled).map { $0 * ratio }
        // Centres on the grid; scikit-image treats the image as a volume of depth 1.
        let grid = Self.regularGrid(shape: [1, height, width], points: requested)
        var centres: [[Double]] = []
        for y in stride(from: grid[1].start, to: height, by: grid[1].step) {
            for x in stride(from: grid[2].start, to: width, by: grid[2].step) {
                centres.append([Double(y), Double(x)] + [Double](repeating: 0, count: channels))
            }
        }
        let step = Double(max(1, grid[1].step, grid[2].step))
        // The search windows use the grid for the centres actually placed.
        let window = Self.regularGrid(shape: [1, height, width], points: centres.count)
        let spatialWeight = 1 / (step * step)
        var nearest = [Int](repeating: -1, count: height * width)
        for _ in 0..<10 {
            var distance = [Double](repeating: .greatestFiniteMagnitude, count: height * width)
            for (k, centre) in centres.enumerated() where centre.allSatisfy(\.isFinite) {
                let (cy, cx) = (centre[0], centre[1])
                let yRange = Int(max(cy - 2 * Double(window[1].step), 0))..<Int(min(cy + 2 * Double(window[1].step) + 1, Double(height)))
                let xRange = Int(max(cx - 2 * Double(window[2].step), 0))..<Int(min(cx + 2 * Double(window[2].step) + 1, Double(width)))
                for y in yRange {
                    let dy = (cy - Double(y)) * (cy - Double(y))
                    for x in xRange {
                        let offset = (y * width + x) * channels
                        var colour = 0.0
                        for c in 0..<channels {
                            let difference = image[offset + c] - centre[2 + c]
                            colour += difference * difference
                        }
                        let total = (dy + (cx - Double(x)) * (cx - Double(x))) * spatialWeight + colour
                        if distance[y * width + x] > total {
                            distance[y * width + x] = total
                            nearest[y * width + x] = k
                        }
                    }
                }
            }
            // Move each centre to the mean of its pixels (an empty one becomes NaN and drops out).
            var sums = [[Double]](repeating: [Double](repeating: 0, count: 2 + channels), count: centres.count)
            var counts = [Int](repeating: 0, count: centres.count)
            for y in 0..<height {
                for x in 0..<width {
                    let k = nearest[y * width + x]
                    guard k >= 0 else { continue }
                    counts[k] += 1
                    sums[k][0] += Double(y)
                    sums[k][1] += Double(x)
                    for c in 0..<channels { sums[k][2 + c] += image[(y * width + x) * channels + c] }
                }
            }
            for k in centres.indices { centres[k] = sums[k].map { $0 / Double(counts[k]) } }
        }
        let segmentSize = Double(height * width) / Double(max(centres.count, 1))
        return Self.enforceConnectivity(
            nearest, height: height, width: width, minimumSize: Int(0.5 * segmentSize), maximumSize: Int(3 * segmentSize))
    }

    /// scikit-image's `_enforce_label_connectivity_cython` for one slice: `segments` hold
    /// cluster numbers, −1 where no centre reached (left 0 in the result).
    static func enforceConnectivity(_ segments: [Int], height: Int, width: Int, minimumSize: Int, maximumSize: Int) -> [Int] {
        var connected = [Int](repeating: 0, count: segments.count)
        var newLabel = 1
        let neighbours = [(0, 1), (0, -1), (1, 0), (-1, 0)]  // (dy, dx): x+1, x−1, y+1, y−1
        var queue = [Int](repeating: 0, count: max(maximumSize, 1))
        for start in segments.indices where segments[start] >= 0 && connected[start] == 0 {
            // A small piece with no labelled neighbour keeps the next label (scikit-image's quirk).
            var adjacent = newLabel
            let label = segments[start]
            connected[start] = newLabel
            var size = 1
            var visited = 0
            queue[0] = start
            search: while visited < size, size < maximumSize {
                let (y, x) = (queue[visited] / width, queue[visited] % width)
                for (dy, dx) in neighbours {
                    let (ny, nx) = (y + dy, x + dx)
                    guard (0..<height).contains(ny), (0..<width).contains(nx) else { continue }
                    let index = ny * width + nx
                    if segments[index] == label && connected[index] == 0 {
                        connected[index] = newLabel
                        queue[size] = index
                        size += 1
                        if size >= maximumSize { break search }
                    } else if connected[index] > 0 && connected[index] != newLabel {
                        adjacent = connected[index]
                    }
                }
                visited += 1
            }
            if size < minimumSize {
                for position in 0..<size { connected[queue[position]] = adjacent }
            } else {
                newLabel += 1
            }
        }
        return connected
    }

    /// One axis of scikit-image's `regular_grid`: the first index and the (rounded) step.
    struct GridAxis {
        let start: Int
        let step: Int
    }

    /// scikit-image's `util.regular_grid`: about `points` positions spread evenly over `shape`,
    /// steps equal on every axis unless an axis is too short for them.
    static func regularGrid(shape: [Int], points: Int) -> [GridAxis] {
        let order = shape.indices.sorted { shape[$0] < shape[$1] }
        let sorted = order.map { shape[$0] }
        var size = Double(sorted.reduce(1, *))
        guard size > Double(points) else { return shape.map { _ in GridAxis(start: 0, step: 1) } }
        var steps = [Double](repeating: pow(size / Double(points), 1 / Double(shape.count)), count: shape.count)
        if zip(sorted, steps).contains(where: { Double($0) < $1 }) {
            for dimension in 0..<shape.count {
                steps[dimension] = Double(sorted[dimension])
                size = Double(sorted[(dimension + 1)...].reduce(1, *))
                let remaining = shape.count - dimension - 1
                for later in (dimension + 1)..<shape.count { steps[later] = pow(size / Double(points), 1 / Double(remaining)) }
                if zip(sorted, steps).allSatisfy({ Double($0) >= $1 }) { break }
            }
        }
        var axes = [GridAxis](repeating: GridAxis(start: 0, step: 1), count: shape.count)
        for (position, axis) in order.enumerated() {
            let exact = steps[position]
            axes[axis] = GridAxis(start: Int((exact / 2).rounded(.down)), step: Int(exact.rounded(.toNearestOrEven)))
        }
        return axes
    }

    /// scikit-image's `rgb2lab` (sRGB, D65 white, 2° observer) on channel-last pixels.
    static func lab(fromRGB rgb: [Double]) -> [Double] {
        var result = [Double](repeating: 0, count: rgb.count)
        func linear(_ value: Double) -> Double { value > 0.04045 ? pow((value + 0.055) / 1.055, 2.4) : value / 12.92 }
        func f(_ t: Double) -> Double { t > 0.008856 ? cbrt(t) : 7.787 * t + 16.0 / 116.0 }
        for pixel in stride(from: 0, to: rgb.count - 2, by: 3) {
            let (r, g, b) = (linear(rgb[pixel]), linear(rgb[pixel + 1]), linear(rgb[pixel + 2]))
            let x = (0.412453 * r + 0.357580 * g + 0.180423 * b) / 0.95047
            let y = (0.212671 * r + 0.715160 * g + 0.072169 * b) / 1.0
            let z = (0.019334 * r + 0.119193 * g + 0.950227 * b) / 1.08883
            let (fx, fy, fz) = (f(x), f(y), f(z))
            result[pixel] = 116 * fy - 16
            result[pixel + 1] = 500 * (fx - fy)
            result[pixel + 2] = 200 * (fy - fz)
        }
        return result
    }
}
