/// A matplotlib colormap as the 256-entry RGB lookup table matplotlib samples it from.
///
/// The tables are generated from matplotlib by `scripts/fixtures/make_colormap_tables.py`
/// (into `ColormapTables.swift`), so a colour is the one `cmap(x, bytes=True)` gives: matplotlib's
/// `Colormap.__call__` with N = 256 picks entry `int(x · 256)`, maps x = 1 to the last entry and
/// values below 0 / above 1 to the first / last (its default under and over colours).
public struct Colormap: Sendable, Equatable {
    /// matplotlib's name for the map (Captum's "RdWhGn" for its red–white–green default).
    public let name: String
    /// 256 RGB triples, interleaved.
    let table: [UInt8]

    /// The map matplotlib registers under `name` (case-sensitive, as matplotlib's registry), or
    /// nil if it is not one of `names`.
    public static func named(_ name: String) -> Colormap? {
        tables[name].map { Colormap(name: name, table: $0) }
    }

    /// Every available map, in a stable order.
    public static var names: [String] { generatedTables.map(\.name) }

    /// A generated map known to exist (the defaults Captum and matplotlib draw with); a missing
    /// one would show black, and the table tests would fail.
    static func generated(_ name: String) -> Colormap {
        named(name) ?? Colormap(name: name, table: [UInt8](repeating: 0, count: 768))
    }

    /// The decoded tables by name.
    static let tables: [String: [UInt8]] = Dictionary(
        generatedTables.map { ($0.name, decodeHex($0.hex)) }, uniquingKeysWith: { first, _ in first })

    static func decodeHex(_ hex: String) -> [UInt8] {
        let digits = hex.utf8.compactMap { byte -> UInt8? in
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): byte - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): byte - UInt8(ascii: "a") + 10
            default: nil
            }
        }
        return stride(from: 0, to: digits.count - 1, by: 2).map { digits[$0] << 4 | digits[$0 + 1] }
    }

    /// The table entry matplotlib picks for `x`: `int(x · 256)`, 1 → 255, below 0 → 0,
    /// above 1 → 255. NaN (matplotlib's transparent "bad" colour) gives entry 0, as an RGB
    /// table has no transparency.
    @inlinable
    public static func index(_ x: Double) -> Int {
        guard x > 0 else { return 0 }
        let scaled = x * 256
        return scaled >= 256 ? 255 : Int(scaled)
    }

    /// The colour of `x`, already scaled into [0, 1] by the caller's vmin/vmax.
    public func color(_ x: Double) -> (UInt8, UInt8, UInt8) {
        let offset = 3 * Colormap.index(x)
        guard offset + 2 < table.count else { return (0, 0, 0) }
        return (table[offset], table[offset + 1], table[offset + 2])
    }
}
