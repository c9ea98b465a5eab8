import CandorImage
import CandorTestSupport
import Foundation
import Testing

/// `AttributionRendering` against Captum 0.9.0's `visualize_image_attr` as matplotlib 3.11.2's
/// Agg backend draws it (`Tests/Fixtures/render/visualize_image_attr.json`, written by
/// `scripts/fixtures/make_render_fixtures.py`, which checks every RGB picture against an actual
/// Agg render): the normalised values as the same float32 numbers and every pixel exactly.
@Suite struct AttributionRenderingGoldenTests {
    struct Case {
        let name: String
        let height: Int
        let width: Int
        let channels: Int
        let channelsFirst: Bool
        let attribution: [Float]
        let original: (values: [Float], channels: Int)
        let outlierPercent: Double
        let colormap: Colormap?
        let alphaOverlay: Double
        let normalized: [String: [Double]]
        let refused: [[String]]
        let runs: [[String: Any]]
    }

    static func cases() throws -> [Case] {
        let json = try Fixtures.json("render/visualize_image_attr.json")
        let root = try #require(json as? [String: Any])
        let cases = try #require(root["cases"] as? [[String: Any]])
        return try cases.map { entry in
            let colormapName = entry["cmap"] as? String
            let originalChannels = try #require(entry["original_channels"] as? Int)
            let normalized = try #require(entry["normalized"] as? [String: Any])
            return Case(
                name: try #require(entry["name"] as? String),
                height: try #require(entry["height"] as? Int),
                width: try #require(entry["width"] as? Int),
                channels: try #require(entry["channels"] as? Int),
                channelsFirst: try #require(entry["channels_first"] as? Bool),
                attribution: jsonNumbers(entry["attribution"] as Any).map(Float.init),
                original: (jsonNumbers(entry["original"] as Any).map(Float.init), originalChannels),
                outlierPercent: try #require((entry["outlier_perc"] as? NSNumber)?.doubleValue),
                colormap: try colormapName.map { try #require(Colormap.named($0)) },
                alphaOverlay: try #require((entry["alpha_overlay"] as? NSNumber)?.doubleValue),
                normalized: normalized.mapValues(jsonNumbers),
                refused: try #require(entry["refused"] as? [[String]]),
                runs: try #require(entry["runs"] as? [[String: Any]]))
        }
    }

    @Test func normalizedValuesEqualCaptums() throws {
        for golden in try Self.cases() {
            for sign in RenderSign.allCases {
                let expected = try #require(golden.normalized[sign.rawValue])
                let actual = try AttributionRendering.normalized(
                    golden.attribution, height: golden.height, width: golden.width, channels: golden.channels,
                    channelsFirst: golden.channelsFirst, sign: sign, outlierPercent: golden.outlierPercent)
                #expect(actual.count == expected.count)
                let difference = zip(actual, expected).map { abs($0 - $1) }.max() ?? 0
                #expect(difference <= 1e-6, "\(golden.name) \(sign.rawValue): max difference \(difference)")
                // The fixture's decimals read back as the very float32 values Captum computed.
                #expect(zip(actual, expected).allSatisfy { Float($0) == Float($1) }, "\(golden.name) \(sign.rawValue)")
            }
        }
    }

    @Test func everyKindAndSignDrawsCaptumsPixels() throws {
        var checked = 0
        for golden in try Self.cases() {
            for run in golden.runs {
                let kind = try #require((run["method"] as? String).flatMap(RenderKind.init(rawValue:)))
                let sign = try #require((run["sign"] as? String).flatMap(RenderSign.init(rawValue:)))
                let expected = jsonNumbers(run["pixels"] as Any).map { UInt8($0) }
                let options = RenderOptions(
                    kind: kind, sign: sign, outlierPercent: golden.outlierPercent, colormap: golden.colormap,
                    alphaOverlay: golden.alphaOverlay)
                let image = try AttributionRendering.render(
                    golden.attribution, height: golden.height, width: golden.width, channels: golden.channels,
                    channelsFirst: golden.channelsFirst, original: golden.original, options: options)
                #expect(image.width == golden.width && image.height == golden.height)
                #expect(image.channels == run["channels"] as? Int)
                let mismatches = zip(image.pixels, expected).filter { $0 != $1 }.count
                #expect(image.pixels.count == expected.count)
                #expect(mismatches == 0, "\(golden.name) \(kind.rawValue)/\(sign.rawValue): \(mismatches) bytes differ")
                checked += 1
            }
        }
        // 3 cases × (3 kinds × 4 signs + 2 kinds × 3 signs), less alpha_scaling of the grey case.
        #expect(checked == 3 * 18 - 3)
    }

    @Test func refusesWhatCaptumRefuses() throws {
        for golden in try Self.cases() {
            #expect(golden.refused.count == 2)
            for pair in golden.refused {
                let kind = try #require(RenderKind(rawValue: pair[0]))
                let sign = try #require(RenderSign(rawValue: pair[1]))
                let error = #expect(throws: RenderError.self) {
                    try AttributionRendering.render(
                        golden.attribution, height: golden.height, width: golden.width, channels: golden.channels,
                        channelsFirst: golden.channelsFirst, original: golden.original,
                        options: RenderOptions(kind: kind, sign: sign))
                }
                #expect(error?.code == .invalidOptions)
            }
        }
    }
}
