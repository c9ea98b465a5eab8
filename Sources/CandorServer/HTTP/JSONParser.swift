import CandorExplain

/// A strict RFC 8259 JSON parser into `JSONValue`, written for the request bodies Candor
/// sees most: large nested arrays of numbers (an image batch is hundreds of thousands of
/// them). Foundation's `JSONDecoder` builds the same value through `Codable` at several times
/// the cost, which made parsing, not the model, the bulk of an image explanation.
///
/// Numbers with at most 19 significant digits and a decimal exponent within ±22 convert
/// exactly in one multiplication or division (Clinger's fast path); other numbers of at most
/// 19 digits (the 17-digit text Python and JavaScript write for most doubles) by the
/// Eisel–Lemire algorithm (``eiselLemire(_:_:)``); the rest go through the standard library's
/// correctly rounded conversion, so every number reads as `Double(text)`.
/// Nesting deeper than `maximumDepth` is an error, not a stack overflow, and so is a key that
/// appears twice in one object.
struct JSONParser {
    struct Failure: Error, CustomStringConvertible {
        let offset: Int
        let reason: String
        var description: String { "\(reason) at byte \(offset)" }
    }

    static let maximumDepth = 512

    private let bytes: UnsafeRawBufferPointer
    private var position = 0

    private init(_ bytes: UnsafeRawBufferPointer) { self.bytes = bytes }

    /// Parses one JSON document (surrounding whitespace allowed).
    static func parse(_ bytes: UnsafeRawBufferPointer) throws(Failure) -> JSONValue {
        var parser = JSONParser(bytes)
        parser.skipWhitespace()
        let value = try parser.value(depth: 0)
        parser.skipWhitespace()
        guard parser.position == bytes.count else { throw parser.failure("unexpected data after the JSON value") }
        return value
    }

    private func failure(_ reason: String) -> Failure { Failure(offset: position, reason: reason) }

    private var current: UInt8? { position < bytes.count ? bytes[position] : nil }

    private mutating func skipWhitespace() {
        while position < bytes.count {
            switch bytes[position] {
            case 0x20, 0x09, 0x0A, 0x0D: position += 1
            default: return
            }
        }
    }

    private mutating func value(depth: Int) throws(Failure) -> JSONValue {
        guard let byte = current else { throw failure("unexpected end of input") }
        switch byte {
        case UInt8(ascii: "["):
            guard depth < Self.maximumDepth else { throw failure("nesting deeper than \(Self.maximumDepth) levels") }
            position += 1
            var items: [JSONValue] = []
            skipWhitespace()
            if current == UInt8(ascii: "]") {
                position += 1
                return .array(items)
            }
            while true {
                skipWhitespace()
                items.append(try value(depth: depth + 1))
                skipWhitespace()
                guard let next = current else { throw failure("unterminated array") }
                position += 1
                if next == UInt8(ascii: "]") { return .array(items) }
                guard next == UInt8(ascii: ",") else {
                    position -= 1
                    throw failure("expected ',' or ']' in an array")
                }
            }
        case UInt8(ascii: "{"):
            guard depth < Self.maximumDepth else { throw failure("nesting deeper than \(Self.maximumDepth) levels") }
            position += 1
            var members: [String: JSONValue] = [:]
            skipWhitespace()
            if current == UInt8(ascii: "}") {
                position += 1
                return .object(members)
            }
            while true {
                skipWhitespace()
                guard current == UInt8(ascii: "\"") else { throw failure("expected a string key in an object") }
                let keyOffset = position
                let key = try string()
                skipWhitespace()
                guard current == UInt8(ascii: ":") else { throw failure("expected ':' after an object key") }
                position += 1
                skipWhitespace()
                // RFC 8259 §4 leaves duplicate names' meaning to the reader; silently keeping the
                // last (as most parsers do) lets two readers of one body see different requests.
                guard members.updateValue(try value(depth: depth + 1), forKey: key) == nil else {
                    let shown = key.count > 64 ? key.prefix(64) + "…" : Substring(key)
                    throw Failure(offset: keyOffset, reason: "duplicate key '\(shown)' in an object")
                }
                skipWhitespace()
                guard let next = current else { throw failure("unterminated object") }
                position += 1
                if next == UInt8(ascii: "}") { return .object(members) }
                guard next == UInt8(ascii: ",") else {
                    position -= 1
                    throw failure("expected ',' or '}' in an object")
                }
            }
        case UInt8(ascii: "\""):
            return .string(try string())
        case UInt8(ascii: "t"):
            try literal("true")
            return .bool(true)
        case UInt8(ascii: "f"):
            try literal("false")
            return .bool(false)
        case UInt8(ascii: "n"):
            try literal("null")
            return .null
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"):
            return .number(try number())
        default:
            throw failure("unexpected character '\(Character(Unicode.Scalar(byte)))'")
        }
    }

    private mutating func literal(_ word: StaticString) throws(Failure) {
        let count = word.utf8CodeUnitCount
        guard position + count <= bytes.count else { throw failure("invalid literal") }
        for offset in 0..<count where bytes[position + offset] != word.utf8Start[offset] { throw failure("invalid literal") }
        position += count
    }

    /// w·10^q correctly rounded to a double, for a whole decimal mantissa w of at most 19
    /// digits, by Lemire's "Number Parsing at a Gigabyte per Second" (Software: Practice and
    /// Experience, 2021), Algorithm 1: w normalised times the 128 leading bits of 5^q
    /// (``PowersOfFive``, a second word only when the first leaves the rounding undecided),
    /// the binary exponent from q·log₂10 in fixed point, then round to nearest, ties to even
    /// (an exact tie is only possible for −4 ≤ q ≤ 23, where 5^q is exact in the table). Nil
    /// where it leaves the answer to `strtod`: zero, a subnormal or overflowing result, and a
    /// product whose truncation could still decide the rounding.
    static func eiselLemire(_ w: UInt64, _ q: Int) -> Double? {
        guard w != 0, q >= PowersOfFive.smallestExponent, q <= PowersOfFive.largestExponent else { return nil }
        let leadingZeros = w.leadingZeroBitCount
        let normalized = w << UInt64(leadingZeros)
        let index = 2 * (q - PowersOfFive.smallestExponent)
        var (high, low) = normalized.multipliedFullWidth(by: PowersOfFive.table[index])
        // The 9 bits below the 55 kept (53 + the round bit + one for the top bit's place) all
        // ones: the truncated part of 5^q could carry into them.
        if high & 0x1FF == 0x1FF {
            let (sum, carry) = low.addingReportingOverflow(normalized.multipliedFullWidth(by: PowersOfFive.table[index + 1]).high)
            low = sum
            if carry { high &+= 1 }
            if high & 0x1FF == 0x1FF && low == .max { return nil }
        }
        let upperBit = Int(high >> 63)
        let shift = UInt64(upperBit + 9)
        var mantissa = high >> shift
        // ⌊q·log₂10⌋ + 63 as (217706·q) >> 16, exact over the table's range; biased by 1023.
        var exponent = ((152_170 + 65_536) * q) >> 16 + 63 + upperBit - leadingZeros + 1023
        guard exponent > 0 else { return nil }
        if low <= 1, (-4...23).contains(q), mantissa & 3 == 1, mantissa << shift == high {
            mantissa &= ~1  // an exact tie: to even, not up
        }
        mantissa += mantissa & 1
        mantissa >>= 1
        if mantissa >= 2 << 52 {
            mantissa = 1 << 52
            exponent += 1
        }
        mantissa &= ~(1 << 52)
        guard exponent < 0x7FF else { return nil }
        return Double(bitPattern: UInt64(exponent) << 52 | mantissa)
    }

    /// The value of eight ASCII digits read as a little-endian word (the first digit in the
    /// lowest byte), or nil when a byte is not a digit: subtract '0' from every byte, then
    /// combine neighbours in three multiply-and-shift steps — pairs, then fours, then all eight
    /// (the SWAR method of Lemire's "Number Parsing at a Gigabyte per Second", §5).
    static func eightDigits(_ word: UInt64) -> UInt64? {
        let chunk = UInt64(littleEndian: word)
        let high: UInt64 = 0xF0F0_F0F0_F0F0_F0F0
        guard chunk & high == 0x3030_3030_3030_3030, (chunk &+ 0x0606_0606_0606_0606) & high == 0x3030_3030_3030_3030 else {
            return nil
        }
        var value = chunk &- 0x3030_3030_3030_3030
        value = value &* 10 &+ (value >> 8)  // each even byte: 10·d(i) + d(i+1)
        let pairs: UInt64 = 0x0000_00FF_0000_00FF
        let hundreds = (value & pairs) &* (100 + (1_000_000 << 32))
        let units = ((value >> 16) & pairs) &* (1 + (10_000 << 32))
        return (hundreds &+ units) >> 32
    }

    private static let exactPowers: [Double] = (0...22).map { exponent in
        var value = 1.0
        for _ in 0..<exponent { value *= 10 }
        return value
    }

    private mutating func number() throws(Failure) -> Double {
        let start = position
        var negative = false
        if current == UInt8(ascii: "-") {
            negative = true
            position += 1
        }
        func digit(_ byte: UInt8?) -> UInt8? {
            guard let byte, byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9") else { return nil }
            return byte - UInt8(ascii: "0")
        }
        var mantissa: UInt64 = 0
        var significant = 0
        var exponent = 0
        /// Takes eight digits at once while all of them still fit the 19 kept (only once a
        /// non-zero digit has been read, so that every one of them is significant).
        func eightDigitRuns(_ parser: inout JSONParser) -> Int {
            var runs = 0
            while significant <= 11, parser.position + 8 <= parser.bytes.count,
                let eight = Self.eightDigits(parser.bytes.loadUnaligned(fromByteOffset: parser.position, as: UInt64.self))
            {
                mantissa = mantissa * 100_000_000 + eight
                significant += 8
                parser.position += 8
                runs += 1
            }
            return runs
        }
        guard let first = digit(current) else { throw failure("invalid number") }
        position += 1
        if first != 0 {
            mantissa = UInt64(first)
            significant = 1
            _ = eightDigitRuns(&self)
            while let next = digit(current) {
                position += 1
                if significant < 19 {
                    mantissa = mantissa * 10 + UInt64(next)
                    significant += 1
                } else {
                    exponent += 1
                    significant += 1
                }
            }
        } else if digit(current) != nil {
            throw failure("invalid number: leading zero")
        }
        if current == UInt8(ascii: ".") {
            position += 1
            guard digit(current) != nil else { throw failure("invalid number: no digit after '.'") }
            while mantissa == 0, current == UInt8(ascii: "0") {
                position += 1
                exponent -= 1
            }
            if mantissa == 0, let next = digit(current) {
                position += 1
                mantissa = UInt64(next)
                significant = 1
                exponent -= 1
            }
            if mantissa != 0 { exponent -= 8 * eightDigitRuns(&self) }
            while let next = digit(current) {
                position += 1
                if significant < 19 {
                    if mantissa != 0 || next != 0 { significant += 1 }
                    mantissa = mantissa * 10 + UInt64(next)
                    exponent -= 1
                } else {
                    significant += 1
                }
            }
        }
        if current == UInt8(ascii: "e") || current == UInt8(ascii: "E") {
            position += 1
            var exponentNegative = false
            if current == UInt8(ascii: "+") || current == UInt8(ascii: "-") {
                exponentNegative = current == UInt8(ascii: "-")
                position += 1
            }
            guard digit(current) != nil else { throw failure("invalid number: no digit in the exponent") }
            var written = 0
            while let next = digit(current) {
                position += 1
                if written < 100_000 { written = written * 10 + Int(next) }
            }
            exponent += exponentNegative ? -written : written
        }
        // Clinger's fast path: both the mantissa (< 2⁵³) and 10^|e| (≤ 10²²) are exact
        // doubles, so one correctly rounded operation gives the correctly rounded result.
        if significant <= 19, mantissa < (1 << 53), abs(exponent) <= 22 {
            let magnitude = exponent >= 0 ? Double(mantissa) * Self.exactPowers[exponent] : Double(mantissa) / Self.exactPowers[-exponent]
            return negative ? -magnitude : magnitude
        }
        if significant <= 19, let magnitude = Self.eiselLemire(mantissa, exponent) { return negative ? -magnitude : magnitude }
        let text = String(decoding: UnsafeRawBufferPointer(rebasing: bytes[start..<position]), as: UTF8.self)
        guard let parsed = Double(text) else {
            position = start
            throw failure("invalid number")
        }
        return parsed
    }

    private mutating func string() throws(Failure) -> String {
        position += 1  // the opening quote
        var runStart = position
        func flush(_ parser: JSONParser, upTo end: Int) throws(Failure) -> String {
            guard let text = String(validating: UnsafeRawBufferPointer(rebasing: parser.bytes[runStart..<end]), as: UTF8.self) else {
                throw parser.failure("invalid UTF-8 in a string")
            }
            return text
        }
        var result = ""
        while true {
            guard let byte = current else { throw failure("unterminated string") }
            switch byte {
            case UInt8(ascii: "\""):
                result += try flush(self, upTo: position)
                position += 1
                return result
            case UInt8(ascii: "\\"):
                result += try flush(self, upTo: position)
                position += 1
                guard let escaped = current else { throw failure("unterminated escape") }
                position += 1
                switch escaped {
                case UInt8(ascii: "\""): result += "\""
                case UInt8(ascii: "\\"): result += "\\"
                case UInt8(ascii: "/"): result += "/"
                case UInt8(ascii: "b"): result += "\u{08}"
                case UInt8(ascii: "f"): result += "\u{0C}"
                case UInt8(ascii: "n"): result += "\n"
                case UInt8(ascii: "r"): result += "\r"
                case UInt8(ascii: "t"): result += "\t"
                case UInt8(ascii: "u"):
                    var code = try hexQuad()
                    if (0xD800...0xDBFF).contains(code) {
                        guard current == UInt8(ascii: "\\"), position + 1 < bytes.count, bytes[position + 1] == UInt8(ascii: "u") else {
                            throw failure("unpaired surrogate in a string")
                        }
                        position += 2
                        let low = try hexQuad()
                        guard (0xDC00...0xDFFF).contains(low) else { throw failure("unpaired surrogate in a string") }
                        code = 0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00)
                    }
                    guard let scalar = Unicode.Scalar(code) else { throw failure("invalid \\u escape") }
                    result.unicodeScalars.append(scalar)
                default:
                    position -= 1
                    throw failure("invalid escape in a string")
                }
                runStart = position
            case 0..<0x20:
                throw failure("control character in a string")
            default:
                position += 1
            }
        }
    }

    private mutating func hexQuad() throws(Failure) -> UInt32 {
        guard position + 4 <= bytes.count else { throw failure("invalid \\u escape") }
        var code: UInt32 = 0
        for _ in 0..<4 {
            let byte = bytes[position]
            let value: UInt32
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): value = UInt32(byte - UInt8(ascii: "0"))
            case UInt8(ascii: "a")...UInt8(ascii: "f"): value = UInt32(byte - UInt8(ascii: "a") + 10)
            case UInt8(ascii: "A")...UInt8(ascii: "F"): value = UInt32(byte - UInt8(ascii: "A") + 10)
            default: throw failure("invalid \\u escape")
            }
            code = code * 16 + value
            position += 1
        }
        return code
    }
}
