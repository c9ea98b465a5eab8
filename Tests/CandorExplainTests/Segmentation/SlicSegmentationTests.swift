import CandorTestSupport
import Foundation
import Testing

@testable import CandorExplain

/// SLIC against scikit-image 0.26's `slic` on the same images (`scripts/fixtures/make_slic_fixtures.py`):
/// the label maps must be identical, connectivity quirks included.
@Suite struct SlicSegmentationTests {
    struct Case: Sendable, CustomTestStringConvertible {
        let name: String
        let height: Int
        let width: Int
        let channels: Int
        let pixels: [Double]
        let segments: Int
        let compactness: Double
        let labels: [Int]
        var testDescription: String { name }
    }

    static let cases: [Case] = {
        guard let root = try? Fixtures.json("golden/slic.json") as? [String: Any], let images = root["images"] as? [String: [String: Any]],
            let cases = root["cases"] as? [[String: Any]]
        else { return [] }
        return cases.compactMap { item in
            guard let image = images[item["image"] as? String ?? ""], let shape = image["shape"] as? [Int],
                let params = item["params"] as? [String: Any], let labels = item["labels"] as? [[Int]]
            else { return nil }
            func flatten(_ value: Any) -> [Double] {
                if let array = value as? [Any] { return array.flatMap(flatten) }
                return [(value as? NSNumber)?.doubleValue ?? .nan]
            }
            return Case(
                name: item["name"] as? String ?? "", height: shape[0], width: shape[1], channels: shape.count > 2 ? shape[2] : 1,
                pixels: flatten(image["pixels"] ?? []), segments: params["n_segments"] as? Int ?? 0,
                compactness: (params["compactness"] as? NSNumber)?.doubleValue ?? 0, labels: labels.flatMap { $0 })
        }
    }()

    @Test func theFixtureHasEveryCase() {
        #expect(Self.cases.count >= 8)
    }

    @Test(arguments: cases)
    func labelsAreScikitImages(_ golden: Case) {
        let slic = SlicSegmentation(height: golden.height, width: golden.width, pixels: golden.pixels, channels: golden.channels)
        let labels = slic.labels(segments: golden.segments, compactness: golden.compactness)
        let differing = zip(labels, golden.labels).filter { $0 != $1 }.count
        #expect(differing == 0, "\(differing) of \(labels.count) pixels differ")
    }

    @Test func labToRGBIsScikitImages() throws {
        let root = try #require(try Fixtures.json("golden/slic.json") as? [String: Any])
        let check = try #require(root["rgb2lab"] as? [String: Any])
        let image = try #require((root["images"] as? [String: [String: Any]])?[check["image"] as? String ?? ""])
        let pixels = ((image["pixels"] as? [[[Double]]]) ?? []).flatMap { $0.flatMap { $0 } }
        let low = pixels.min() ?? 0
        let high = pixels.max() ?? 1
        let lab = SlicSegmentation.lab(fromRGB: pixels.map { ($0 - low) / (high - low) })
        let expected = ((check["lab"] as? [[[Double]]]) ?? []).flatMap { $0.flatMap { $0 } }
        #expect(lab.count == expected.count)
        #expect(zip(lab, expected).allSatisfy { abs($0 - $1) < 1e-8 })
    }
}
