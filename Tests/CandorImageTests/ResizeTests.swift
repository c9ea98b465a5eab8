import Foundation
import Testing

@testable import CandorImage

/// `resizedBilinear` and `converted(toChannels:)` are bit-exact against Pillow.
@Suite struct ResizeTests {
    static let luma = ImageFixtures.expected.luma

    static var rgb: RasterImage {
        RasterImage(width: luma.width, height: luma.height, channels: 3, pixels: bytes(hex: luma.rgb))
    }

    @Test func rgbToGreyIsPillowsLuma() {
        let grey = Self.rgb.converted(toChannels: 1)
        #expect(grey.channels == 1)
        #expect(grey.pixels == bytes(hex: Self.luma.l))
    }

    @Test func lumaOfPrimariesIsTheRoundedITU601Weight() {
        let primaries = RasterImage(width: 4, height: 1, channels: 3, pixels: [255, 0, 0, 0, 255, 0, 0, 0, 255, 255, 255, 255])
        #expect(primaries.converted(toChannels: 1).pixels == [76, 150, 29, 255])
    }

    @Test func greyToRGBReplicatesAndBackIsIdentity() {
        let grey = RasterImage(width: 3, height: 1, channels: 1, pixels: [0, 17, 255])
        let rgb = grey.converted(toChannels: 3)
        #expect(rgb.pixels == [0, 0, 0, 17, 17, 17, 255, 255, 255])
        #expect(rgb.converted(toChannels: 1) == grey)
    }

    @Test func everyResizeGoldenIsPresent() {
        #expect(ImageFixtures.expected.resize.count >= 30)
    }

    @Test(arguments: ImageFixtures.expected.resize)
    func bilinearResizeIsBitExactWithPillow(_ expected: Expected.Resize) {
        let rgba = RasterImage(width: Self.luma.width, height: Self.luma.height, channels: 4, pixels: bytes(hex: Self.luma.rgba))
        let source = ["rgb": Self.rgb, "grey": Self.rgb.converted(toChannels: 1), "rgba": rgba][expected.source] ?? Self.rgb
        let resized = source.resizedBilinear(width: expected.width, height: expected.height)
        #expect(resized.width == expected.width)
        #expect(resized.height == expected.height)
        #expect(resized.pixels == bytes(hex: expected.pixels))
    }

    @Test func resizeToTheSameSizeIsTheSameImage() {
        #expect(Self.rgb.resizedBilinear(width: Self.rgb.width, height: Self.rgb.height) == Self.rgb)
    }

    @Test func resizeToANonPositiveSizeIsEmptyNotACrash() {
        #expect(Self.rgb.resizedBilinear(width: 0, height: 5).pixels.isEmpty)
        #expect(Self.rgb.resizedBilinear(width: -3, height: -1).pixels.isEmpty)
    }
}
