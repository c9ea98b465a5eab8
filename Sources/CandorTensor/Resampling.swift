/// Resizing the spatial axes of [N, C, h, w] maps to [N, C, H, W], as PyTorch's
/// `F.interpolate` does it (and so Captum's `LayerAttribution.interpolate`, with which
/// Grad-CAM maps are brought to the input's size).
public enum Resampling {
    public enum Mode: String, Sendable, CaseIterable {
        /// Legacy nearest neighbour: source index ⌊dst · in/out⌋, capped at in − 1.
        case nearest
        /// Bilinear with `align_corners=False`: source coordinate (dst + ½)·in/out − ½,
        /// clamped at 0, between its two neighbours.
        case bilinear
    }

    public static func resize(_ x: Tensor, height: Int, width: Int, mode: Mode) throws(TensorError) -> Tensor {
        guard x.rank == 4 else { throw .invalidShape("resizing needs [N, C, h, w], got \(x.shape)") }
        let (inHeight, inWidth) = (x.shape[2], x.shape[3])
        guard inHeight > 0, inWidth > 0, height > 0, width > 0 else { throw .invalidShape("cannot resize an empty map") }
        let shape = [x.shape[0], x.shape[1], height, width]
        let planes = x.shape[0] * x.shape[1]
        var output = [Float](repeating: 0, count: try shape.checkedElementCount())
        /// For each output index along an axis: the two source indices and the second's weight.
        func taps(_ count: Int, _ size: Int) -> [(Int, Int, Float)] {
            let scale = Float(size) / Float(count)
            return (0..<count).map { destination in
                switch mode {
                case .nearest:
                    let source = Swift.min(Int((Float(destination) * scale).rounded(.down)), size - 1)
                    return (source, source, 0)
                case .bilinear:
                    let source = Swift.max((Float(destination) + 0.5) * scale - 0.5, 0)
                    let low = Swift.min(Int(source.rounded(.down)), size - 1)
                    return (low, Swift.min(low + 1, size - 1), source - Float(low))
                }
            }
        }
        let rows = taps(height, inHeight)
        let columns = taps(width, inWidth)
        for plane in 0..<planes {
            let source = plane * inHeight * inWidth
            let destination = plane * height * width
            for (i, (top, bottom, vertical)) in rows.enumerated() {
                for (j, (left, right, horizontal)) in columns.enumerated() {
                    let upper =
                        x.scalars[source + top * inWidth + left] * (1 - horizontal) + x.scalars[source + top * inWidth + right] * horizontal
                    let lower =
                        x.scalars[source + bottom * inWidth + left] * (1 - horizontal) + x.scalars[source + bottom * inWidth + right]
                        * horizontal
                    output[destination + i * width + j] = upper * (1 - vertical) + lower * vertical
                }
            }
        }
        return Tensor(uncheckedShape: shape, scalars: output)
    }
}
