import Foundation
import Testing

@testable import CandorImage

/// Hostile and broken inputs fail with the kind an HTTP layer maps to 400 or 413, never crash.
@Suite struct HostileInputTests {
    static let hostile = ImageFixtures.expected.hostile

    func kind(of bytes: [UInt8], maxPixels: Int = 1_000_000) -> ImageCodecError.Kind? {
        do {
            _ = try ImageDecoder.decode(bytes, maxPixels: maxPixels)
            return nil
        } catch {
            return error.kind
        }
    }

    @Test(arguments: hostile.keys.sorted())
    func hostileFixtureFailsWithTheExpectedKind(_ name: String) throws {
        let expected = try #require(Self.hostile[name])
        let kind = kind(of: try ImageFixtures.bytes(name))
        #expect(kind.map { "\($0)" } == expected, "\(name)")
    }

    @Test func emptyBytesAreCorrupt() {
        #expect(kind(of: []) == .corrupt)
        #expect(throws: ImageCodecError.self) { try ImageDecoder.header([]) }
    }

    @Test func randomBytesAreUnsupported() {
        var generator = SystemRandomNumberGenerator()
        for length in [1, 2, 7, 100, 5000] {
            let bytes = (0..<length).map { _ in UInt8.random(in: 1...255, using: &generator) }
            // Random bytes might start with 0xFF 0xD8 0xFF or the PNG signature only by a very
            // rare chance; either way they must fail and not crash.
            #expect(kind(of: bytes) != nil)
        }
        #expect(kind(of: Array("hello, world".utf8)) == .unsupported)
    }

    @Test func truncatedPNGIsCorruptNotACrash() throws {
        let bytes = try ImageFixtures.bytes("rgb8.png")
        for cut in stride(from: 1, to: bytes.count, by: 7) {
            let prefix = Array(bytes[..<cut])
            // Cut inside the signature the bytes are no longer recognisably a PNG.
            let kind = kind(of: prefix)
            #expect(cut < 8 ? kind != nil : kind == .corrupt, "cut at \(cut)")
        }
        let error = try #require(throws: ImageCodecError.self) {
            try ImageDecoder.decode(try ImageFixtures.bytes("bad_truncated.png"), maxPixels: 1_000)
        }
        #expect(error.description.hasPrefix("the PNG is truncated"), "\(error)")
    }

    @Test func truncatedJPEGIsCorruptNotGreyPadding() throws {
        let bytes = try ImageFixtures.bytes("baseline.jpg")
        for cut in stride(from: 3, to: bytes.count - 2, by: 11) {
            #expect(kind(of: Array(bytes[..<cut])) == .corrupt, "cut at \(cut)")
        }
        let error = try #require(throws: ImageCodecError.self) {
            try ImageDecoder.decode(try ImageFixtures.bytes("bad_truncated.jpg"), maxPixels: 1_000)
        }
        #expect(error.description.contains("JPEG"), "\(error)")
    }

    @Test func truncatedProgressiveJPEGIsCorrupt() throws {
        // A progressive file's scans are all read in jpeg_start_decompress, before the first
        // scanline: a truncation found there counts as one found while reading scanlines.
        let bytes = try ImageFixtures.bytes("progressive.jpg")
        for cut in stride(from: 3, to: bytes.count - 2, by: 13) {
            #expect(kind(of: Array(bytes[..<cut])) == .corrupt, "cut at \(cut)")
        }
    }

    /// libpng would inflate each of the 200 text chunks (2 MiB apiece, 400 MiB in all, from a
    /// 400 KB file, most of it inside png_read_info before the pixel check) and keep them;
    /// CandorImage skips them unread. Measured with the C shim alone: peak RSS 375 MB and 4.4 s
    /// before, 2.8 MB and under 10 ms after.
    @Test func compressedTextChunksAreSkippedNotInflated() throws {
        let png = try ImageFixtures.bytes("text_chunks.png")
        let clock = ContinuousClock()
        var image: RasterImage?
        let elapsed = try clock.measure { image = try ImageDecoder.decode(png, maxPixels: 1_000) }
        let expected = try #require(ImageFixtures.expected.decode["rgb8.png"])
        #expect(image?.channels == 3)
        #expect(image?.pixels == bytes(hex: expected.pixels))
        #expect(try ImageDecoder.header(png).width == 23)
        // Inflating 400 MiB takes seconds; skipping takes milliseconds.
        #expect(elapsed < .seconds(1), "\(elapsed)")
    }

    @Test func progressiveJPEGWithTooManyScansIsCorrupt() throws {
        let error = try #require(throws: ImageCodecError.self) {
            try ImageDecoder.decode(try ImageFixtures.bytes("bad_600_scans.jpg"), maxPixels: 1_000)
        }
        #expect(error.kind == .corrupt)
        #expect(error.description == "the JPEG has more than 500 progressive scans", "\(error)")
        // 400 scans is under the limit: the same construction decodes (to mid-grey).
        let image = try ImageDecoder.decode(try ImageFixtures.bytes("progressive_400_scans.jpg"), maxPixels: 1_000)
        #expect(image.channels == 1 && image.pixels == [UInt8](repeating: 128, count: 64))
    }

    @Test func pngWithABadCRCIsCorrupt() throws {
        #expect(kind(of: try ImageFixtures.bytes("bad_crc_ihdr.png")) == .corrupt)
        #expect(kind(of: try ImageFixtures.bytes("bad_crc_idat.png")) == .corrupt)
        // A flipped data bit with the old CRC: caught by the CRC or zlib's check, whichever first.
        #expect(kind(of: try ImageFixtures.bytes("bad_data_idat.png")) == .corrupt)
    }

    @Test func decompressionBombIsTooLargeFromTheHeader() throws {
        let png = try ImageFixtures.bytes("bomb_100000.png")
        let header = try ImageDecoder.header(png)
        #expect(header.width == 100_000 && header.height == 100_000)
        #expect(kind(of: png, maxPixels: 4096 * 4096) == .tooLarge)
        let jpeg = try ImageFixtures.bytes("bomb_60000.jpg")
        #expect(try ImageDecoder.header(jpeg).width == 60_000)
        #expect(kind(of: jpeg, maxPixels: 4096 * 4096) == .tooLarge)
    }

    @Test func otherImageFormatsAreUnsupportedAndNamed() throws {
        let error = try #require(throws: ImageCodecError.self) { try ImageDecoder.header(try ImageFixtures.bytes("other.gif")) }
        #expect(error.kind == .unsupported)
        #expect(error.description.contains("GIF"))
    }

    @Test func everySingleByteCorruptionOfAPNGFailsOrDecodesWithoutCrashing() throws {
        let bytes = try ImageFixtures.bytes("palette.png")
        for index in bytes.indices {
            var damaged = bytes
            damaged[index] ^= 0x5A
            _ = kind(of: damaged, maxPixels: 4096)
        }
        let jpeg = try ImageFixtures.bytes("progressive.jpg")
        for index in stride(from: 0, to: jpeg.count, by: 3) {
            var damaged = jpeg
            damaged[index] ^= 0x5A
            _ = kind(of: damaged, maxPixels: 4096)
        }
    }
}
