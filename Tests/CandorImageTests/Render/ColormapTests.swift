import CandorImage
import CandorTestSupport
import Foundation
import Testing

/// The generated tables against matplotlib's own colours (`Tests/Fixtures/render/colormap_samples.json`,
/// written with the tables by `scripts/fixtures/make_colormap_tables.py`).
@Suite struct ColormapTests {
    @Test func sampledColoursEqualMatplotlibs() throws {
        let json = try Fixtures.json("render/colormap_samples.json")
        let root = try #require(json as? [String: Any])
        let xs = jsonNumbers(root["x"] as Any)
        let samples = try #require(root["rgb"] as? [String: [[Int]]])
        #expect(Set(samples.keys) == Set(Colormap.names))
        for (name, colours) in samples {
            let colormap = try #require(Colormap.named(name), "\(name) missing")
            for (x, expected) in zip(xs, colours) {
                let (r, g, b) = colormap.color(x)
                #expect([Int(r), Int(g), Int(b)] == expected, "\(name) at \(x)")
            }
        }
    }

    @Test func theMapsPeoplePassAreThere() {
        for name in [
            "RdWhGn", "Greens", "Reds", "Blues", "gray", "viridis", "plasma", "inferno", "magma", "cividis", "coolwarm", "bwr",
            "seismic", "RdBu_r", "RdYlGn", "hot", "jet",
        ] {
            #expect(Colormap.named(name) != nil, "\(name)")
        }
        #expect(Colormap.named("no-such-map") == nil)
        #expect(Colormap.named("blues") == nil)  // matplotlib's names are case-sensitive
    }

    @Test func outOfRangeValuesTakeTheEndColours() throws {
        let gray = try #require(Colormap.named("gray"))
        func rgb(_ x: Double) -> [UInt8] {
            let (r, g, b) = gray.color(x)
            return [r, g, b]
        }
        #expect(rgb(-0.5) == [0, 0, 0])
        #expect(rgb(.nan) == [0, 0, 0])
        #expect(rgb(1) == [255, 255, 255])
        #expect(rgb(7) == [255, 255, 255])
        #expect(Colormap.index(0.5) == 128)
        #expect(Colormap.index(0.99999) == 255)
        #expect(Colormap.index(0.00390624) == 0)
    }
}
