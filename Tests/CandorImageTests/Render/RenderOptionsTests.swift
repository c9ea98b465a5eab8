import CandorImage
import Testing

@Suite struct RenderOptionsTests {
    @Test func defaultsAreCaptums() throws {
        let options = RenderOptions()
        #expect(options.kind == .heatMap)
        #expect(options.sign == .absoluteValue)
        #expect(options.outlierPercent == 2)
        #expect(options.colormap == nil)
        #expect(options.alphaOverlay == 0.5)
        #expect(options.resolvedColormap.name == "Blues")
        try options.validate()
    }

    @Test func defaultColormapsFollowTheSign() {
        #expect(RenderSign.all.defaultColormap.name == "RdWhGn")
        #expect(RenderSign.positive.defaultColormap.name == "Greens")
        #expect(RenderSign.negative.defaultColormap.name == "Reds")
        #expect(RenderSign.absoluteValue.defaultColormap.name == "Blues")
        #expect(RenderSign.all.colorRange == -1...1)
        #expect(RenderSign.negative.colorRange == 0...1)
    }

    @Test(arguments: [RenderKind.maskedImage, .alphaScaling])
    func signedValuesCannotBeMaskedOrAlphaScaled(_ kind: RenderKind) {
        let error = #expect(throws: RenderError.self) { try RenderOptions(kind: kind, sign: .all).validate() }
        #expect(error?.code == .invalidOptions)
        #expect(error?.message.contains(kind.rawValue) == true)
    }

    @Test(arguments: [-1, 100, 150, Double.nan])
    func outlierPercentOutOfRangeIsRefused(_ value: Double) {
        #expect(throws: RenderError.self) { try RenderOptions(outlierPercent: value).validate() }
    }

    @Test(arguments: [-0.1, 1.5, Double.nan])
    func alphaOutOfRangeIsRefused(_ value: Double) {
        #expect(throws: RenderError.self) { try RenderOptions(alphaOverlay: value).validate() }
    }

    @Test func boundaryValuesAreAccepted() throws {
        try RenderOptions(outlierPercent: 0, alphaOverlay: 0).validate()
        try RenderOptions(outlierPercent: 99.9, alphaOverlay: 1).validate()
    }
}
