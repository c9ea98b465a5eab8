import Foundation
import Testing

@testable import CandorImage

/// `ImagePreprocessing` gives the float32 bits numpy computes, validates sidecars by key and
/// inverts for display.
@Suite struct PreprocessingTests {
    @Test func everyPreprocessingGoldenIsPresent() {
        #expect(ImageFixtures.expected.preprocessing.count >= 10)
    }

    /// The declarations were decoded from the goldens' JSON, so this also checks the sidecar keys
    /// and their defaults.
    @Test(arguments: ImageFixtures.expected.preprocessing)
    func tensorValuesEqualNumpyFloat32(_ golden: Expected.Preprocessing) throws {
        let preprocessing = golden.preprocessing
        try preprocessing.validate()
        let image = try ImageDecoder.decode(try ImageFixtures.bytes(golden.source), maxPixels: 1_000)
        let values = preprocessing.tensorValues(image)
        let expected = golden.values.map { Float(bitPattern: $0) }
        #expect(preprocessing.instanceShape == golden.shape)
        try #require(values.count == expected.count)
        // Same operations in the same order in float32: the bits agree exactly.
        let mismatches = zip(values, expected).filter { $0.bitPattern != $1.bitPattern }
        #expect(mismatches.isEmpty, "\(mismatches.prefix(3))")
    }

    @Test func omittedKeysTakeTheDefaults() throws {
        let decoded = try JSONDecoder().decode(ImagePreprocessing.self, from: Data(#"{"width": 224, "height": 224}"#.utf8))
        #expect(decoded == ImagePreprocessing(width: 224, height: 224))
        #expect(decoded.channels == .rgb && decoded.scale == 255 && decoded.layout == .nchw && decoded.mean == nil)
        #expect(decoded.instanceShape == [3, 224, 224])
        let grey = ImagePreprocessing(width: 28, height: 20, channels: .grey, layout: .nhwc)
        #expect(grey.channelCount == 1 && grey.instanceShape == [20, 28, 1])
    }

    @Test func encodingUsesTheSidecarKeys() throws {
        let encoded = try JSONEncoder().encode(ImagePreprocessing(width: 4, height: 2, channels: .bgr, mean: [1, 2, 3]))
        let object = try #require(try JSONSerialization.jsonObject(with: encoded) as? [String: Any])
        #expect(Set(object.keys).isSuperset(of: ["width", "height", "channels", "scale", "mean", "layout"]))
        #expect(object["channels"] as? String == "bgr")
    }

    @Test(arguments: [
        (ImagePreprocessing(width: 0, height: 5), "width"),
        (ImagePreprocessing(width: 5, height: 4097), "height"),
        (ImagePreprocessing(width: 5, height: 5, scale: 0), "scale"),
        (ImagePreprocessing(width: 5, height: 5, scale: .infinity), "scale"),
        (ImagePreprocessing(width: 5, height: 5, mean: [0.5]), "mean"),
        (ImagePreprocessing(width: 5, height: 5, mean: [0.5, .nan, 0.5]), "mean"),
        (ImagePreprocessing(width: 5, height: 5, channels: .grey, std: [0]), "std"),
        (ImagePreprocessing(width: 5, height: 5, std: [1, 1]), "std"),
        // Valid Doubles that are not usable as the Floats they are computed in: 0, subnormal
        // (255 / 1e-40 overflows) or infinite once rounded.
        (ImagePreprocessing(width: 5, height: 5, scale: 1e-50), "scale"),
        (ImagePreprocessing(width: 5, height: 5, scale: 1e-40), "scale"),
        (ImagePreprocessing(width: 5, height: 5, scale: 1e39), "scale"),
        (ImagePreprocessing(width: 5, height: 5, mean: [0.5, 1e39, 0.5]), "mean"),
        (ImagePreprocessing(width: 5, height: 5, mean: [0.5, 0.5, -1e39]), "mean"),
        (ImagePreprocessing(width: 5, height: 5, channels: .grey, std: [1e-50]), "std"),
        (ImagePreprocessing(width: 5, height: 5, std: [1, 1e-40, 1]), "std"),
        (ImagePreprocessing(width: 5, height: 5, std: [1, 1, 1e39]), "std"),
    ])
    func invalidDeclarationIsRejectedNamingTheKey(_ preprocessing: ImagePreprocessing, _ key: String) {
        do {
            try preprocessing.validate()
            Issue.record("accepted \(preprocessing)")
        } catch let error as ImagePreprocessingError {
            #expect(error.key == key)
            #expect(error.description.contains(key))
        } catch {
            Issue.record("unexpected \(error)")
        }
    }

    @Test func floatRangeBoundsAreAccepted() throws {
        try ImagePreprocessing(width: 5, height: 5, scale: 1e-30, mean: [1e38, -1e38, 0], std: [1e-37, 1e38, 1]).validate()
        try ImagePreprocessing(width: 5, height: 5, channels: .grey, scale: 3e38, std: [Double(Float.leastNormalMagnitude)])
            .validate()
    }

    @Test(arguments: [ImagePreprocessing.Layout.nchw, .nhwc])
    func displayImageInvertsTheNormalisation(_ layout: ImagePreprocessing.Layout) throws {
        let preprocessing = ImagePreprocessing(
            width: 23, height: 19, channels: .bgr, mean: [0.4, 0.5, 0.6], std: [0.2, 0.25, 0.3], layout: layout)
        let image = try ImageDecoder.decode(try ImageFixtures.bytes("rgb8.png"), maxPixels: 1_000)
        let display = preprocessing.displayImage(preprocessing.tensorValues(image))
        #expect(display.width == 23 && display.height == 19 && display.channels == 3)
        let original = image.pixels.map { Float($0) / 255 }
        let largest = zip(display.values, original).map { abs($0 - $1) }.max() ?? 1
        #expect(largest < 1e-5)
    }

    @Test func displayImageClampsToTheUnitRange() {
        let preprocessing = ImagePreprocessing(width: 2, height: 1, channels: .grey)
        #expect(preprocessing.displayImage([-3, 7]).values == [0, 1])
    }
}
