import CandorExplain
import CandorTensor
import Foundation
import Testing

@testable import CandorServer

/// Responses come out byte for byte as `JSONEncoder.candor` writes them, whichever way a value
/// reaches the encoder.
@Suite struct ResponseJSONEncoderTests {
    static func expectSameBytes(_ value: some Encodable, sourceLocation: SourceLocation = #_sourceLocation) throws {
        let ours = try ResponseJSONEncoder.encode(value)
        let foundation = Array(try JSONEncoder.candor.encode(value))
        #expect(
            String(decoding: ours, as: UTF8.self) == String(decoding: foundation, as: UTF8.self), sourceLocation: sourceLocation)
    }

    /// Floats and doubles of every magnitude, whole, negative zero and subnormal, in tensors of
    /// rank 0 to 4, written as Foundation writes them (`1` for 1.0, `1e-05`, …).
    @Test func tensorsAndNumbersMatchFoundation() throws {
        var random = SeededRandom(seed: 5)
        var scalars: [Float] = [0, -0.0, 1, -1, 2.5, 100, 1e-5, 1e7, 16_777_216, 3.4e38, .leastNonzeroMagnitude, .greatestFiniteMagnitude]
        for _ in 0..<4_000 { scalars.append(Float(bitPattern: UInt32(truncatingIfNeeded: random.next()) & 0x7F7F_FFFF)) }
        for _ in 0..<1_000 { scalars.append(Float(random.integer(below: 2_000)) - 1_000) }
        try Self.expectSameBytes(NestedTensor(tensor: try Tensor(shape: [scalars.count], scalars: scalars)))
        try Self.expectSameBytes(NestedTensor(tensor: try Tensor(shape: [2, 3, 4, 5], scalars: Array(scalars[0..<120]))))
        try Self.expectSameBytes(NestedTensor(tensor: try Tensor(shape: [], scalars: [0.25])))
        try Self.expectSameBytes(NestedTensor(tensor: try Tensor(shape: [0, 3], scalars: [])))
        var doubles: [Double] = [0, 1, -3, 0.1, 1e-7, 1e300, 123_456_789_012, .leastNonzeroMagnitude]
        for _ in 0..<4_000 { doubles.append(Double(bitPattern: random.next() & 0x7FEF_FFFF_FFFF_FFFF)) }
        try Self.expectSameBytes(doubles)
        try Self.expectSameBytes(JSONValue.array(doubles.map(JSONValue.number)))
        try Self.expectSameBytes(scalars)
    }

    /// Strings are escaped as Foundation escapes them: quotes, backslashes and control
    /// characters; `/` and non-ASCII text unescaped.
    @Test func stringsAndKeysMatchFoundation() throws {
        let controls = String(decoding: (0..<32).map { UInt8($0) }, as: UTF8.self)
        let strings = ["", "plain", "a/b", "quote \" and \\ backslash", controls, "é ü 中文 🙂", "\u{7F}\u{2028}"]
        try Self.expectSameBytes(strings)
        let keyed = Dictionary(uniqueKeysWithValues: (strings + ["B", "a", "_x", "10", "9", "Z"]).map { ($0, $0.utf8.count) })
        try Self.expectSameBytes(keyed)
        try Self.expectSameBytes(JSONValue.object(keyed.mapValues { JSONValue.number(Double($0)) }))
        try Self.expectSameBytes([3: "three", 10: "ten"])
    }

    /// A body shaped like the service's responses: dynamic keys, nested keyed and unkeyed
    /// containers, optionals present and absent, nulls, tensors and JSON values side by side,
    /// super encoders and dates.
    @Test func nestedContainersMatchFoundation() throws {
        struct Body: Encodable {
            let tensor: NestedTensor
            let params: [String: JSONValue] = [
                "n_samples": 50, "seed": .null, "names": ["x", "y"], "nested": .object(["b": true, "a": 1.5]),
            ]
            let absent: String? = nil
            let present: Int? = 7
            let created = Date(timeIntervalSince1970: 1_796_000_000)
            let link = URL(string: "http://example.com/a b")

            func encode(to encoder: any Encoder) throws {
                var container = encoder.container(keyedBy: DynamicKey.self)
                try container.encode(tensor, forKey: DynamicKey("tensor"))
                try container.encode(params, forKey: DynamicKey("params"))
                try container.encodeIfPresent(absent, forKey: DynamicKey("absent"))
                try container.encode(absent, forKey: DynamicKey("null_member"))
                try container.encodeIfPresent(present, forKey: DynamicKey("present"))
                try container.encode(created, forKey: DynamicKey("created_at"))
                try container.encode(link, forKey: DynamicKey("link"))
                var byName = container.nestedContainer(keyedBy: DynamicKey.self, forKey: DynamicKey("by_input"))
                try byName.encode(tensor, forKey: DynamicKey("pixels"))
                try byName.encode(UInt8(3), forKey: DynamicKey("small"))
                var rows = container.nestedUnkeyedContainer(forKey: DynamicKey("rows"))
                try rows.encode(1)
                try rows.encodeNil()
                var inner = rows.nestedContainer(keyedBy: DynamicKey.self)
                try inner.encode("x", forKey: DynamicKey("k"))
                var deeper = rows.nestedUnkeyedContainer()
                try deeper.encode(Float(0.1))
                try rows.encode(params)
                try Base(level: 2).encode(to: container.superEncoder())
                try Base(level: 3).encode(to: container.superEncoder(forKey: DynamicKey("base")))
            }
        }
        struct Base: Encodable { let level: Int }
        let body = Body(tensor: NestedTensor(tensor: try Tensor(shape: [2, 2], scalars: [1, 0.5, -2, 1e-8])))
        try Self.expectSameBytes(body)
        try Self.expectSameBytes([body, body])
    }

    /// NaN and infinity cannot be said in JSON: both encoders refuse them, as an encoding error.
    @Test func nonFiniteNumbersAreRefused() {
        for value in [Float.nan, .infinity, -.infinity] {
            #expect(throws: EncodingError.self) {
                try ResponseJSONEncoder.encode(NestedTensor(tensor: try Tensor(shape: [2], scalars: [1, value])))
            }
            #expect(throws: EncodingError.self) {
                try JSONEncoder.candor.encode(NestedTensor(tensor: try Tensor(shape: [2], scalars: [1, value])))
            }
            #expect(throws: EncodingError.self) { try ResponseJSONEncoder.encode(JSONValue.array([.number(Double(value))])) }
        }
    }
}
