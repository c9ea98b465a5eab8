import Testing

@testable import CandorImage

/// PNGs written by `PNGEncoder` decode back to the same pixels.
@Suite struct PNGEncoderTests {
    static func pattern(channels: Int, width: Int = 17, height: Int = 9) -> RasterImage {
        let pixels = (0..<width * height * channels).map { UInt8(truncatingIfNeeded: $0 &* 37 &+ $0 / 5) }
        return RasterImage(width: width, height: height, channels: channels, pixels: pixels)
    }

    @Test(arguments: [1, 3])
    func encodedPNGDecodesToTheSamePixels(_ channels: Int) throws {
        let image = Self.pattern(channels: channels)
        let png = try PNGEncoder.encode(image)
        #expect(try ImageDecoder.header(png).format == .png)
        #expect(try ImageDecoder.decode(png, maxPixels: 1_000) == image)
    }

    @Test(arguments: [2, 4])
    func alphaSurvivesTheRoundTrip(_ channels: Int) throws {
        let image = Self.pattern(channels: channels)
        let png = try PNGEncoder.encode(image)
        #expect(try ImageDecoder.decode(png, maxPixels: 1_000, keepingAlpha: true) == image)
    }

    @Test func mismatchedPixelCountIsAnErrorNotACrash() {
        #expect(throws: ImageCodecError.self) {
            try PNGEncoder.encode(RasterImage(width: 4, height: 4, channels: 3, pixels: [1, 2, 3]))
        }
        #expect(throws: ImageCodecError.self) {
            try PNGEncoder.encode(RasterImage(width: 0, height: 4, channels: 3, pixels: []))
        }
        #expect(throws: ImageCodecError.self) {
            try PNGEncoder.encode(RasterImage(width: 1, height: 1, channels: 5, pixels: [1, 2, 3, 4, 5]))
        }
    }
}
