import CandorImage
import CandorTestSupport
import Foundation
import Testing

/// The committed corpus under `Tests/Fixtures/images` (written by
/// `scripts/fixtures/make_image_fixtures.py`).
enum ImageFixtures {
    static let directory = Fixtures.url("images")

    static func bytes(_ name: String) throws -> [UInt8] {
        [UInt8](try Data(contentsOf: directory.appendingPathComponent(name)))
    }

    /// `expected.json`, parsed once (empty when missing, so that the corpus test fails).
    static let expected: Expected = {
        let decoder = JSONDecoder()
        decoder.keyDecodingStrategy = .convertFromSnakeCase
        guard let data = try? Data(contentsOf: directory.appendingPathComponent("expected.json")),
            let expected = try? decoder.decode(Expected.self, from: data)
        else { return Expected() }
        return expected
    }()
}

/// The layout of `expected.json` (see the generator's docstring).
struct Expected: Decodable, Sendable {
    struct Decoded: Decodable, Sendable {
        var format: String
        var pillowMode: String
        var width: Int
        var height: Int
        var channels: Int
        var pixels: String
    }

    struct Luma: Decodable, Sendable {
        var width = 0
        var height = 0
        var rgb = ""
        var l = ""
        var rgba = ""
    }

    struct Resize: Decodable, Sendable, CustomTestStringConvertible {
        var source: String
        var width: Int
        var height: Int
        var pixels: String
        var testDescription: String { "\(source) → \(width)×\(height)" }
    }

    struct Preprocessing: Decodable, Sendable, CustomTestStringConvertible {
        var source: String
        var preprocessing: ImagePreprocessing
        var shape: [Int]
        /// float32 bit patterns.
        var values: [UInt32]
        var testDescription: String { "\(source) \(preprocessing)" }
    }

    var decode: [String: Decoded] = [:]
    var luma = Luma()
    var resize: [Resize] = []
    var preprocessing: [Preprocessing] = []
    var hostile: [String: String] = [:]
}

/// The bytes of a lower-case hex string, as the generator writes pixels.
func bytes(hex: String) -> [UInt8] {
    var out: [UInt8] = []
    out.reserveCapacity(hex.utf8.count / 2)
    var high: UInt8?
    for character in hex.utf8 {
        let nibble = character <= 0x39 ? character - 0x30 : character - 0x57
        if let h = high {
            out.append(h << 4 | nibble)
            high = nil
        } else {
            high = nibble
        }
    }
    return out
}
