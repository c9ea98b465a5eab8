import CandorImage
import Testing

/// The edges Captum asserts or crashes on, and the input checks.
@Suite struct AttributionRenderingTests {
    @Test func allZeroAttributionsNormaliseToZeros() throws {
        for sign in RenderSign.allCases {
            let norm = try AttributionRendering.normalized(
                [0, 0, 0, 0], height: 2, width: 2, channels: 1, channelsFirst: true, sign: sign, outlierPercent: 2)
            #expect(norm == [0, 0, 0, 0])
        }
    }

    @Test func negativeSignWithoutNegativesIsZeros() throws {
        let norm = try AttributionRendering.normalized(
            [1, 2, 3, 4], height: 2, width: 2, channels: 1, channelsFirst: false, sign: .negative, outlierPercent: 2)
        #expect(norm == [0, 0, 0, 0])
    }

    @Test func negativeSignGivesMagnitudesInZeroToOne() throws {
        let norm = try AttributionRendering.normalized(
            [-1, -2, 3, -4], height: 2, width: 2, channels: 1, channelsFirst: false, sign: .negative, outlierPercent: 0)
        #expect(norm == [0.25, 0.5, 0, 1])
    }

    @Test func nonFiniteAttributionsCountAsZero() throws {
        let norm = try AttributionRendering.normalized(
            [.nan, 2, .infinity, 4], height: 2, width: 2, channels: 1, channelsFirst: false, sign: .all, outlierPercent: 0)
        #expect(norm == [0, 0.5, 0, 1])
    }

    @Test func channelLayoutsSumTheSameValues() throws {
        let chw: [Float] = [1, 2, 3, 4, 10, 20, 30, 40]  // 2 channels of 2×2
        let hwc: [Float] = [1, 10, 2, 20, 3, 30, 4, 40]
        let first = try AttributionRendering.normalized(
            chw, height: 2, width: 2, channels: 2, channelsFirst: true, sign: .all, outlierPercent: 0)
        let last = try AttributionRendering.normalized(
            hwc, height: 2, width: 2, channels: 2, channelsFirst: false, sign: .all, outlierPercent: 0)
        #expect(first == last)
        #expect(first == [0.25, 0.5, 0.75, 1])
    }

    @Test func mismatchedSizesThrow() {
        #expect(throws: RenderError.self) {
            try AttributionRendering.normalized(
                [1, 2, 3], height: 2, width: 2, channels: 1, channelsFirst: true, sign: .all, outlierPercent: 2)
        }
        #expect(throws: RenderError.self) {
            try AttributionRendering.normalized(
                [], height: 0, width: 2, channels: 1, channelsFirst: true, sign: .all, outlierPercent: 2)
        }
        #expect(throws: RenderError.self) {
            try AttributionRendering.normalized(
                [1], height: Int.max, width: 2, channels: 1, channelsFirst: true, sign: .all, outlierPercent: 2)
        }
        #expect(throws: RenderError.self) {
            try AttributionRendering.render(
                [1, 2], height: 1, width: 2, channels: 1, channelsFirst: true, original: ([0.5], 1),
                options: RenderOptions(kind: .originalImage))
        }
        #expect(throws: RenderError.self) {
            try AttributionRendering.render(
                [1, 2], height: 1, width: 2, channels: 1, channelsFirst: true, original: ([0.5, 0.5, 0.5, 0.5], 2),
                options: RenderOptions(kind: .originalImage))
        }
    }

    @Test func onlyHeatMapDrawsWithoutTheOriginal() throws {
        let heat = try AttributionRendering.render(
            [1, 2], height: 1, width: 2, channels: 1, channelsFirst: true, original: nil, options: RenderOptions())
        #expect(heat.channels == 3 && heat.pixels.count == 6)
        for kind in RenderKind.allCases where kind != .heatMap {
            let error = #expect(throws: RenderError.self) {
                try AttributionRendering.render(
                    [1, 2], height: 1, width: 2, channels: 1, channelsFirst: true, original: nil,
                    options: RenderOptions(kind: kind))
            }
            #expect(error?.code == .missingOriginal)
        }
    }

    /// Captum cannot show alpha_scaling of a 1-channel image; Candor repeats the grey into RGB.
    @Test func alphaScalingOfAGreyImageRepeatsTheGrey() throws {
        let image = try AttributionRendering.render(
            [0, 1], height: 1, width: 2, channels: 1, channelsFirst: true, original: ([0.5, 1], 1),
            options: RenderOptions(kind: .alphaScaling, sign: .positive, outlierPercent: 0))
        #expect(image.channels == 4)
        #expect(image.pixels == [127, 127, 127, 0, 255, 255, 255, 255])
    }

    @Test func originalValuesOutsideTheUnitRangeAreClamped() throws {
        let image = try AttributionRendering.render(
            [1, 1], height: 1, width: 2, channels: 1, channelsFirst: true, original: ([-3, .nan, 0.5, 7, 1, .infinity], 3),
            options: RenderOptions(kind: .originalImage))
        #expect(image.pixels == [0, 0, 127, 255, 255, 255])
    }
}
