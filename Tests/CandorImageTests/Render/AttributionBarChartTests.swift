import CandorImage
import Foundation
import Testing

#if canImport(FoundationXML)
    import FoundationXML
#endif

@Suite struct AttributionBarChartTests {
    let features: [(name: String, value: Double)] = [
        ("age", 0.12), ("<a&b>", -0.5), ("income", 0.3), ("tenure", -0.01), ("zip \"code\"", 0.002),
    ]

    func parse(_ svg: String) throws -> XMLDocument {
        try XMLDocument(data: Data(svg.utf8), options: [])
    }

    /// An attribute's value. (swift-corelibs-foundation's `attribute(forName:)` finds nothing on
    /// an element in a default namespace, as every SVG element is.)
    func attribute(_ node: XMLNode?, _ name: String) -> String? {
        (node as? XMLElement)?.attributes?.first { $0.name == name }?.stringValue
    }

    /// The row groups' `<title>` texts, in document order.
    func rowTitles(_ document: XMLDocument) throws -> [String] {
        try document.nodes(forXPath: "//*[local-name()='g']/*[local-name()='title']").compactMap(\.stringValue)
    }

    @Test func isWellFormedAndAccessible() throws {
        let svg = AttributionBarChart.svg(features: features, title: "Why approved", subtitle: "target: approved, output 0.83")
        let document = try parse(svg)
        let root = try #require(document.rootElement())
        #expect(root.name == "svg")
        #expect(attribute(root, "role") == "img")
        let labelledBy = try #require(attribute(root, "aria-labelledby")).split(separator: " ")
        #expect(labelledBy.count == 2)
        let title = try #require(root.elements(forName: "title").first)
        let desc = try #require(root.elements(forName: "desc").first)
        #expect(title.stringValue == "Why approved")
        #expect(attribute(title, "id") == String(labelledBy[0]))
        #expect(attribute(desc, "id") == String(labelledBy[1]))
        #expect(desc.stringValue?.contains("target: approved, output 0.83") == true)
        #expect(desc.stringValue?.contains("<a&b>: −0.5") == true)
        let width = try #require(attribute(root, "width"))
        let height = try #require(attribute(root, "height"))
        #expect(attribute(root, "viewBox") == "0 0 \(width) \(height)")
    }

    @Test func escapesFeatureNames() throws {
        let svg = AttributionBarChart.svg(features: features, title: "a < b & \"c\"")
        #expect(svg.contains("&lt;a&amp;b&gt;"))
        #expect(!svg.contains("<a&b>"))
        let document = try parse(svg)
        #expect(try rowTitles(document).contains("<a&b>: −0.5"))
        #expect(document.rootElement()?.elements(forName: "title").first?.stringValue == "a < b & \"c\"")
    }

    @Test func controlCharactersDoNotBreakTheDocument() throws {
        let svg = AttributionBarChart.svg(features: [("bell\u{7}name", 1)], title: nil)
        #expect(try rowTitles(try parse(svg)) == ["bell\u{FFFD}name: +1"])
    }

    @Test func sortsByMagnitudeAndSumsTheRest() throws {
        let svg = AttributionBarChart.svg(features: features, title: nil, maxFeatures: 3)
        let titles = try rowTitles(try parse(svg))
        #expect(titles == ["<a&b>: −0.5", "income: +0.3", "age: +0.12", "2 other features: −0.008"])
        #expect(svg.contains("class=\"other-features\""))
        let all = try rowTitles(try parse(AttributionBarChart.svg(features: features, title: nil)))
        #expect(all.count == 5)
        #expect(!all.contains { $0.contains("other") })
    }

    @Test func colourBySignAroundOneZeroAxis() throws {
        let document = try parse(AttributionBarChart.svg(features: features, title: nil))
        let bars = try document.nodes(forXPath: "//*[local-name()='g']/*[local-name()='rect']").compactMap { $0 as? XMLElement }
        let fills = bars.compactMap { attribute($0, "fill") }
        #expect(fills == ["#0072B2", "#D55E00", "#D55E00", "#0072B2", "#D55E00"])
        let axis = try #require(try document.nodes(forXPath: "//*[local-name()='line']").first as? XMLElement)
        let zero = try #require(Double(attribute(axis, "x1") ?? ""))
        for (bar, fill) in zip(bars, fills) {
            let x = try #require(Double(attribute(bar, "x") ?? ""))
            let width = try #require(Double(attribute(bar, "width") ?? ""))
            if fill == AttributionBarChart.negativeColor {
                #expect(abs(x + width - zero) < 0.11)
            } else {
                #expect(abs(x - zero) < 0.11)
            }
        }
        // The largest magnitude spans its whole side; the others are proportional.
        let widths = bars.compactMap { Double(attribute($0, "width") ?? "") }
        #expect(abs(widths[1] / widths[2] - 0.3 / 0.12) < 0.01)
    }

    @Test func fitsTheLongestLabel() throws {
        let short = try parse(AttributionBarChart.svg(features: [("a", 1)], title: nil))
        let long = try parse(AttributionBarChart.svg(features: [(String(repeating: "x", count: 35), 1)], title: nil))
        let shortWidth = Double(attribute(short.rootElement(), "width") ?? "") ?? 0
        let longWidth = Double(attribute(long.rootElement(), "width") ?? "") ?? 0
        #expect(longWidth >= shortWidth + 34 * 7)
    }

    @Test func emptyAndOddValuesStillDraw() throws {
        let empty = try parse(AttributionBarChart.svg(features: [], title: nil))
        #expect(empty.rootElement()?.elements(forName: "desc").first?.stringValue == "No feature attributions.")
        let odd = try parse(AttributionBarChart.svg(features: [("n", .nan), ("i", .infinity), ("z", 0)], title: nil, maxFeatures: 0))
        #expect(try rowTitles(odd) == ["i: +∞", "2 other features: 0"])
    }

    @Test func formatsThreeSignificantDigits() {
        #expect(AttributionBarChart.svg(features: [("v", 0.123456)], title: nil).contains(">+0.123<"))
        #expect(AttributionBarChart.svg(features: [("v", -1234.5)], title: nil).contains(">−1230<"))
        #expect(AttributionBarChart.svg(features: [("v", 0.00001234)], title: nil).contains(">+1.23e−5<"))
        #expect(AttributionBarChart.svg(features: [("v", 2.5)], title: nil).contains(">+2.5<"))
    }
}
