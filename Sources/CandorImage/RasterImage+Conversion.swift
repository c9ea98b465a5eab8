extension RasterImage {
    /// Pillow's `Image.convert("L")` for 3 or 4 channels, grey → RGB replication for 1, so that
    /// a model fed grey or colour input gets the values its Python pipeline computed.
    ///
    /// Luma is ITU-R 601-2, L = R·299/1000 + G·587/1000 + B·114/1000, in the 16-bit fixed point
    /// Pillow uses: (R·19595 + G·38470 + B·7471 + 0x8000) >> 16 (the weights are the fractions
    /// times 65536, rounded; the sum is rounded half up). Alpha is ignored (Pillow's RGBA → L),
    /// and dropped for RGBA → RGB. 1 → 4 and 3 → 4 add an opaque alpha. A target outside 1, 3
    /// and 4 returns the image unchanged.
    public func converted(toChannels target: Int) -> RasterImage {
        guard target != channels, [1, 3, 4].contains(target), [1, 3, 4].contains(channels) else { return self }
        let count = width * height
        guard pixels.count == count * channels else { return self }
        var out = [UInt8](repeating: 255, count: count * target)
        pixels.withUnsafeBufferPointer { source in
            out.withUnsafeMutableBufferPointer { destination in
                for index in 0..<count {
                    let from = index * channels
                    let to = index * target
                    if target == 1 {
                        let luma = UInt32(source[from]) * 19595 + UInt32(source[from + 1]) * 38470 + UInt32(source[from + 2]) * 7471
                        destination[to] = UInt8(truncatingIfNeeded: (luma + 0x8000) >> 16)
                    } else if channels == 1 {
                        destination[to] = source[from]
                        destination[to + 1] = source[from]
                        destination[to + 2] = source[from]
                    } else {
                        destination[to] = source[from]
                        destination[to + 1] = source[from + 1]
                        destination[to + 2] = source[from + 2]
                    }
                }
            }
        }
        return RasterImage(width: width, height: height, channels: target, pixels: out)
    }
}
