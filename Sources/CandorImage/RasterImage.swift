/// Interleaved 8-bit pixels, row-major, top row first.
///
/// The one pixel type CandorImage decodes to and works on: the layout numpy gives for
/// `np.asarray(pil_image)` (height × width × channels), so that goldens computed with Pillow
/// and numpy compare byte for byte.
public struct RasterImage: Sendable, Equatable {
    public var width: Int
    public var height: Int
    /// 1 (grey), 3 (RGB) or 4 (RGBA).
    public var channels: Int
    /// `width * height * channels` samples.
    public var pixels: [UInt8]

    public init(width: Int, height: Int, channels: Int, pixels: [UInt8]) {
        self.width = width
        self.height = height
        self.channels = channels
        self.pixels = pixels
    }
}

extension RasterImage {
    /// `width * height * channels`, or nil when a factor is negative or the product overflows.
    static func sampleCount(width: Int, height: Int, channels: Int) -> Int? {
        guard width >= 0, height >= 0, channels >= 0 else { return nil }
        let (area, areaOverflow) = width.multipliedReportingOverflow(by: height)
        let (count, countOverflow) = area.multipliedReportingOverflow(by: channels)
        return areaOverflow || countOverflow ? nil : count
    }
}
