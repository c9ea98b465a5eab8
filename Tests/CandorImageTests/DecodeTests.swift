import Foundation
import Testing

@testable import CandorImage

/// Decoding the corpus gives what Pillow gives for `convert("L")` on greyscale files and
/// `convert("RGB")` on the others.
@Suite struct DecodeTests {
    static let decoded = ImageFixtures.expected.decode
    static let pngNames = decoded.keys.filter { $0.hasSuffix(".png") }.sorted()
    static let jpegNames = decoded.keys.filter { $0.hasSuffix(".jpg") }.sorted()

    /// Pillow 13 bundles libjpeg-turbo 3.2.0, the system libjpeg is libjpeg-turbo 2.1.5; with the
    /// islow IDCT and fancy upsampling both give identical samples on this corpus (baseline,
    /// progressive, grey, 4:2:0, 4:2:2, 4:4:4), so the tolerance is the tightest: none. Should a
    /// future pair of versions round an upsampling step differently, measure and raise it here.
    static let jpegTolerance = 0

    @Test func corpusIsPresent() {
        #expect(Self.pngNames.count >= 12)
        #expect(Self.jpegNames.count >= 5)
    }

    @Test(arguments: pngNames)
    func pngDecodesExactlyAsPillowConverts(_ name: String) throws {
        let expected = try #require(Self.decoded[name])
        let image = try ImageDecoder.decode(try ImageFixtures.bytes(name), maxPixels: 1_000)
        #expect(image.width == expected.width)
        #expect(image.height == expected.height)
        #expect(image.channels == expected.channels, "\(name): Pillow mode \(expected.pillowMode)")
        #expect(image.pixels == bytes(hex: expected.pixels), "\(name)")
    }

    @Test(arguments: jpegNames)
    func jpegDecodesWithinTheMeasuredToleranceOfPillow(_ name: String) throws {
        let expected = try #require(Self.decoded[name])
        let image = try ImageDecoder.decode(try ImageFixtures.bytes(name), maxPixels: 1_000)
        let reference = bytes(hex: expected.pixels)
        #expect(image.width == expected.width)
        #expect(image.height == expected.height)
        #expect(image.channels == expected.channels)
        try #require(image.pixels.count == reference.count)
        let difference = zip(image.pixels, reference).map { abs(Int($0) - Int($1)) }.max() ?? 0
        #expect(difference <= Self.jpegTolerance, "\(name): largest difference \(difference)")
    }

    @Test(arguments: pngNames + jpegNames)
    func headerGivesFormatAndSizeWithoutDecoding(_ name: String) throws {
        let expected = try #require(Self.decoded[name])
        let header = try ImageDecoder.header(try ImageFixtures.bytes(name))
        #expect(header.format.rawValue == expected.format)
        #expect(header.width == expected.width)
        #expect(header.height == expected.height)
    }

    /// libjpeg warns about bytes between the last scan and EOI, or between header segments
    /// (JWRN_EXTRANEOUS_DATA, common in camera files); Pillow ignores the warning and so do we.
    @Test(arguments: ["extraneous_before_eoi.jpg", "extraneous_in_header.jpg"])
    func strayBytesBeforeAMarkerAreNotCorruption(_ name: String) throws {
        let expected = try #require(Self.decoded[name])
        let image = try ImageDecoder.decode(try ImageFixtures.bytes(name), maxPixels: 1_000)
        let baseline = try ImageDecoder.decode(try ImageFixtures.bytes("baseline.jpg"), maxPixels: 1_000)
        #expect(image.pixels == bytes(hex: expected.pixels))
        #expect(image == baseline)
    }

    @Test func imageExactlyAtThePixelLimitDecodes() throws {
        let image = try ImageDecoder.decode(try ImageFixtures.bytes("rgb8.png"), maxPixels: 23 * 19)
        #expect(image.width * image.height == 23 * 19)
        #expect(throws: ImageCodecError.self) { try ImageDecoder.decode(try ImageFixtures.bytes("rgb8.png"), maxPixels: 23 * 19 - 1) }
    }

    @Test func alphaIsKeptOnRequest() throws {
        let rgba = try ImageDecoder.decode(try ImageFixtures.bytes("rgba8.png"), maxPixels: 1_000, keepingAlpha: true)
        let rgb = try ImageDecoder.decode(try ImageFixtures.bytes("rgba8.png"), maxPixels: 1_000)
        #expect(rgba.channels == 4)
        #expect(rgba.converted(toChannels: 3) == rgb)
        let greyAlpha = try ImageDecoder.decode(try ImageFixtures.bytes("greyalpha8.png"), maxPixels: 1_000, keepingAlpha: true)
        #expect(greyAlpha.channels == 2)
    }
}
