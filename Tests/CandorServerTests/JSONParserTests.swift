import CandorExplain
import CandorTensor
import Foundation
import Testing

@testable import CandorServer

/// The request parser reads every document as Foundation's `JSONDecoder` does and refuses
/// what RFC 8259 refuses.
@Suite struct JSONParserTests {
    static func parse(_ text: String) throws -> JSONValue {
        try Data(text.utf8).withUnsafeBytes { bytes in try JSONParser.parse(bytes) }
    }

    static func foundation(_ text: String) throws -> JSONValue {
        try JSONDecoder().decode(JSONValue.self, from: Data(text.utf8))
    }

    /// Every number reads as `Double(text)`, bit for bit, whichever path converts it: 17-digit
    /// text of random doubles (the Eisel–Lemire path), 1 to 19 random digits at every decimal
    /// exponent the power table covers and beyond, exact ties between doubles (round to even),
    /// and the edges of the double range (subnormals and overflow go to `strtod`).
    @Test func everyNumberReadsAsDoubleOfItsText() throws {
        var random = SeededRandom(seed: 23)
        var texts: [String] = []
        for _ in 0..<20_000 {
            let double = Double(bitPattern: random.next() & 0x7FEF_FFFF_FFFF_FFFF)
            texts.append(String(format: "%.17g", double))
            texts.append(String(format: "%.17g", Double(Float(bitPattern: UInt32(truncatingIfNeeded: random.next()) & 0x7F7F_FFFF))))
            var mantissa = UInt64(1 + random.integer(below: 9))
            for _ in 0..<random.integer(below: 19) { mantissa = mantissa * 10 + UInt64(random.integer(below: 10)) }
            texts.append("\(mantissa)e\(random.integer(below: 691) - 360)")
            // Long digit runs on both sides of the point, fractions with leading zeros: the
            // eight-digits-at-a-time reads, and where they must stop (19 kept digits).
            let whole =
                random.integer(below: 3) == 0 ? "0" : String(1 + random.integer(below: 9)) + Self.digits(random.integer(below: 24), &random)
            let fraction = String(repeating: "0", count: random.integer(below: 12)) + Self.digits(random.integer(below: 30), &random)
            texts.append(fraction.isEmpty ? whole : "\(whole).\(fraction)")
        }
        for bits in 53...63 {
            for odd in stride(from: 1, to: 400, by: 2) {
                let tie = (UInt64(1) << UInt64(bits)) &+ (UInt64(1) << UInt64(bits - 53)) * UInt64(odd)
                texts += ["\(tie)", "\(tie / 10)e1", "\(tie)e-4"]
            }
        }
        texts += [
            "4.9e-324", "2.2250738585072011e-308", "2.2250738585072014e-308", "1.7976931348623157e308", "1.7976931348623159e308",
            "9007199254740993", "9999999999999999999", "1e-342", "1e-343", "1e308", "1e309", "0e400",
        ]
        for text in texts {
            let expected = try #require(Double(text))
            guard case .number(let parsed) = try Self.parse(text), parsed.bitPattern == expected.bitPattern else {
                Issue.record("\(text): \(try Self.parse(text)) instead of \(expected)")
                continue
            }
        }
    }

    static func digits(_ count: Int, _ random: inout SeededRandom) -> String {
        String((0..<count).map { _ in Character(String(random.integer(below: 10))) })
    }

    /// Eight ASCII bytes read as one word give their decimal value, and nil as soon as one of
    /// them is not a digit (the bytes around '0' and '9' included).
    @Test func eightDigitsReadsOnlyDigits() {
        var random = SeededRandom(seed: 31)
        let nearDigits: [UInt8] =
            Array(UInt8(ascii: "0")...UInt8(ascii: "9")) + [0x2F, 0x3A, 0x00, 0xFF, 0xF9, 0xFA, UInt8(ascii: "."), UInt8(ascii: "e")]
        for _ in 0..<50_000 {
            let bytes = (0..<8).map { _ in
                random.integer(below: 4) == 0
                    ? nearDigits[random.integer(below: nearDigits.count)] : UInt8(ascii: "0") + UInt8(random.integer(below: 10))
            }
            let word = bytes.withUnsafeBytes { $0.loadUnaligned(as: UInt64.self) }
            let expected =
                bytes.allSatisfy { (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) }
                ? UInt64(String(decoding: bytes, as: UTF8.self)) : nil
            #expect(JSONParser.eightDigits(word) == expected, "\(bytes)")
        }
    }

    @Test(arguments: [
        #"{"method":"saliency","inputs":[[5.1,3.5,-1.4e-3,0.2]],"params":{"abs":false,"n":null},"target":[0,2]}"#,
        #"["a\"b\\c\/d\b\f\n\r\t", "\u00e9\u4e2d\ud83d\ude00", "plain é 中 😀", ""]"#,
        #"[0, -0, 1, -1, 12345678901234567890, 123456789012345678901234, 1e22, 1e23, 9007199254740993, 0.1, 0.30000000000000004]"#,
        #"[5e-324, 2.2250738585072014e-308, 1.7976931348623157e308, 123.456e-7, 1E+2, 1e-2, 0.000001234, 3.14159265358979323846264338]"#,
        "  \n\t{ \"a\" : [ [ ] , { } , true , false ] }  \r\n",
    ])
    func parsesAsFoundationDoes(_ text: String) throws {
        #expect(try Self.parse(text) == Self.foundation(text))
    }

    /// Random doubles and floats in their shortest decimal forms round-trip exactly.
    @Test func numbersAreCorrectlyRounded() throws {
        var random = SeededRandom(seed: 11)
        var doubles: [Double] = []
        for _ in 0..<2000 {
            let scale = pow(10, Double(random.integer(below: 40)) - 20)
            doubles.append((random.uniform() - 0.5) * scale)
            doubles.append(Double(Float((random.uniform() - 0.5) * scale)))
        }
        let text = "[" + doubles.map { "\($0)" }.joined(separator: ",") + "," + doubles.map { "\(Float($0))" }.joined(separator: ",") + "]"
        guard case .array(let values) = try Self.parse(text) else {
            Issue.record("not an array")
            return
        }
        #expect(values.count == 2 * doubles.count)
        for (index, value) in values.enumerated() {
            let expected = index < doubles.count ? doubles[index] : Double("\(Float(doubles[index - doubles.count]))") ?? .nan
            #expect(value == .number(expected), "\(index)")
        }
    }

    @Test(arguments: [
        "", "[1,]", "[01]", "[1.]", "[.5]", "[+1]", "[1e]", "[-]", "{\"a\" 1}", "{\"a\":1,}", "{1:2}", "[1] x", "[\"a\u{01}\"]",
        #"["\x"]"#, #"["\ud800"]"#, #"["\u12"]"#, "[tru]", "nul", "[\"unterminated", "{\"a\":[1,2}",
    ])
    func refusesInvalidDocuments(_ text: String) {
        #expect(throws: JSONParser.Failure.self) { _ = try Self.parse(text) }
    }

    @Test func refusesDeepNestingAndInvalidUTF8() {
        let deep = String(repeating: "[", count: 100_000) + String(repeating: "]", count: 100_000)
        #expect(throws: JSONParser.Failure.self) { _ = try Self.parse(deep) }
        let invalid = Data([0x5B, 0x22, 0xFF, 0xFE, 0x22, 0x5D])
        #expect(throws: JSONParser.Failure.self) { _ = try invalid.withUnsafeBytes { bytes in try JSONParser.parse(bytes) } }
    }

    /// A body naming one field twice would mean one request to this reader and another to a
    /// proxy that keeps the first: refused, naming the key and where it repeats.
    @Test func refusesDuplicateKeysAtAnyDepth() throws {
        for text in [#"{"inputs":[[1,2,3]],"inputs":[[5.1,3.5,1.4,0.2]]}"#, #"{"params":{"n_steps":5,"n_steps":50}}"#] {
            #expect {
                _ = try Self.parse(text)
            } throws: { error in
                (error as? JSONParser.Failure)?.reason.contains("duplicate key") == true
            }
        }
        let failure = #expect(throws: JSONParser.Failure.self) { _ = try Self.parse(#"{"a":1,"b":2,"a":3}"#) }
        #expect(failure?.offset == 13)  // the second "a"
        #expect(failure?.reason == "duplicate key 'a' in an object")
        // Equal keys in different objects are not duplicates.
        #expect(try Self.parse(#"[{"a":1},{"a":2}]"#) == Self.foundation(#"[{"a":1},{"a":2}]"#))
    }
}
