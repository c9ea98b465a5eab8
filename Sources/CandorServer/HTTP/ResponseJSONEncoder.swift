import CandorExplain
import Foundation

/// Encodes a response body as JSON bytes: the bytes ``JSONEncoder/candor`` writes (object keys
/// sorted by their UTF-8, `/` unescaped, numbers as their `description` without a trailing ".0",
/// dates in ISO 8601; `ResponseJSONEncoderTests` checks this byte for byte), without building a
/// value per number on the way: a ``NestedTensor`` and a ``JSONValue`` are written straight to
/// text.
///
/// Foundation's encoder boxes every number of a tensor in its own tree before writing it,
/// ~130 ns a number: a fifth of the server time of a 16-image Grad-CAM request, whose
/// attributions are 16,384 numbers. Responses are built once and never read back, so the
/// encoder keeps only a small tree of containers whose leaves are finished text.
enum ResponseJSONEncoder {
    static func encode(_ value: some Encodable) throws -> [UInt8] {
        let root = try Fragment.make(value, codingPath: [])
        guard root.kind != .empty else {
            throw EncodingError.invalidValue(
                value, .init(codingPath: [], debugDescription: "Top-level \(type(of: value)) did not encode any values."))
        }
        var bytes: [UInt8] = []
        root.write(into: &bytes)
        return bytes
    }
}

/// The JSON text of the values ``ResponseJSONEncoder`` writes without a container.
enum JSONText {
    /// A number as Foundation's JSONEncoder writes it: `description`, without a trailing ".0"
    /// (`1` for 1.0, `1e-05` for 0.00001). Throws for NaN and infinities, which JSON cannot say.
    static func write<Number: BinaryFloatingPoint & CustomStringConvertible>(
        _ number: Number, into bytes: inout [UInt8], codingPath: [any CodingKey] = []
    ) throws {
        guard number.isFinite else {
            throw EncodingError.invalidValue(
                number, .init(codingPath: codingPath, debugDescription: "Unable to encode \(number) directly in JSON."))
        }
        var text = number.description
        text.withUTF8 { utf8 in
            let count =
                utf8.count >= 2 && utf8[utf8.count - 2] == UInt8(ascii: ".") && utf8[utf8.count - 1] == UInt8(ascii: "0")
                ? utf8.count - 2 : utf8.count
            bytes.append(contentsOf: UnsafeBufferPointer(rebasing: utf8[..<count]))
        }
    }

    /// A string in quotes, escaping `"`, `\` and the control characters (`\b \f \n \r \t`, the
    /// others as `\u00XX`), and nothing else (RFC 8259 §7; `/` and non-ASCII stay as they are).
    static func write(_ string: String, into bytes: inout [UInt8]) {
        bytes.append(UInt8(ascii: "\""))
        for byte in string.utf8 {
            switch byte {
            case UInt8(ascii: "\""): bytes.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "\"")])
            case UInt8(ascii: "\\"): bytes.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "\\")])
            case 0x08: bytes.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "b")])
            case 0x0C: bytes.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "f")])
            case UInt8(ascii: "\n"): bytes.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "n")])
            case UInt8(ascii: "\r"): bytes.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "r")])
            case UInt8(ascii: "\t"): bytes.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "t")])
            case 0x00..<0x20:
                let hex = Array("0123456789abcdef".utf8)
                bytes.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "u"), UInt8(ascii: "0"), UInt8(ascii: "0")])
                bytes.append(contentsOf: [hex[Int(byte >> 4)], hex[Int(byte & 0xF)]])
            default: bytes.append(byte)
            }
        }
        bytes.append(UInt8(ascii: "\""))
    }

    /// A JSON value, object members in the order of their keys' UTF-8.
    static func write(_ value: JSONValue, into bytes: inout [UInt8], codingPath: [any CodingKey] = []) throws {
        switch value {
        case .null: bytes.append(contentsOf: "null".utf8)
        case .bool(let flag): bytes.append(contentsOf: (flag ? "true" : "false").utf8)
        case .number(let number): try write(number, into: &bytes, codingPath: codingPath)
        case .string(let string): write(string, into: &bytes)
        case .array(let elements):
            bytes.append(UInt8(ascii: "["))
            for (index, element) in elements.enumerated() {
                if index > 0 { bytes.append(UInt8(ascii: ",")) }
                try write(element, into: &bytes, codingPath: codingPath)
            }
            bytes.append(UInt8(ascii: "]"))
        case .object(let members):
            bytes.append(UInt8(ascii: "{"))
            for (index, member) in members.sorted(by: { $0.key.utf8.lexicographicallyPrecedes($1.key.utf8) }).enumerated() {
                if index > 0 { bytes.append(UInt8(ascii: ",")) }
                write(member.key, into: &bytes)
                bytes.append(UInt8(ascii: ":"))
                try write(member.value, into: &bytes, codingPath: codingPath)
            }
            bytes.append(UInt8(ascii: "}"))
        }
    }
}

/// One value of the tree ``ResponseJSONEncoder`` builds: finished text, or a container whose
/// members are filled in while their encoders run.
private final class Fragment {
    enum Kind { case empty, text, object, array }
    var kind = Kind.empty
    var text: [UInt8] = []
    var members: [String: Fragment] = [:]
    var elements: [Fragment] = []

    init() {}
    init(text: [UInt8]) {
        kind = .text
        self.text = text
    }

    /// The fragment of one value: written directly for the types with a fixed JSON form (as
    /// Foundation does for dates, URLs and data), else by the value's own `encode(to:)`.
    static func make<Value: Encodable>(_ value: Value, codingPath: [any CodingKey]) throws -> Fragment {
        var bytes: [UInt8] = []
        switch value {
        case let tensor as NestedTensor: try tensor.write(into: &bytes, codingPath: codingPath)
        case let json as JSONValue: try JSONText.write(json, into: &bytes, codingPath: codingPath)
        case let string as String: JSONText.write(string, into: &bytes)
        case let flag as Bool: bytes.append(contentsOf: (flag ? "true" : "false").utf8)
        case let number as Double: try JSONText.write(number, into: &bytes, codingPath: codingPath)
        case let number as Float: try JSONText.write(number, into: &bytes, codingPath: codingPath)
        case let number as any BinaryInteger: bytes.append(contentsOf: String(describing: number).utf8)
        case let date as Date: JSONText.write(date.formatted(.iso8601), into: &bytes)
        case let url as URL: JSONText.write(url.absoluteString, into: &bytes)
        case let data as Data: JSONText.write(data.base64EncodedString(), into: &bytes)
        default:
            let fragment = Fragment()
            try value.encode(to: FragmentEncoder(fragment: fragment, codingPath: codingPath))
            return fragment
        }
        return Fragment(text: bytes)
    }

    func becomeObject() {
        if kind != .object { (kind, text, elements) = (.object, [], []) }
    }

    func becomeArray() {
        if kind != .array { (kind, text, members) = (.array, [], [:]) }
    }

    /// Takes the content of `other` (a single-value container's value).
    func assign(_ other: Fragment) {
        (kind, text, members, elements) = (other.kind, other.text, other.members, other.elements)
    }

    func write(into bytes: inout [UInt8]) {
        switch kind {
        case .text: bytes.append(contentsOf: text)
        case .empty: bytes.append(contentsOf: "{}".utf8)
        case .object:
            bytes.append(UInt8(ascii: "{"))
            for (index, member) in members.sorted(by: { $0.key.utf8.lexicographicallyPrecedes($1.key.utf8) }).enumerated() {
                if index > 0 { bytes.append(UInt8(ascii: ",")) }
                JSONText.write(member.key, into: &bytes)
                bytes.append(UInt8(ascii: ":"))
                member.value.write(into: &bytes)
            }
            bytes.append(UInt8(ascii: "}"))
        case .array:
            bytes.append(UInt8(ascii: "["))
            for (index, element) in elements.enumerated() {
                if index > 0 { bytes.append(UInt8(ascii: ",")) }
                element.write(into: &bytes)
            }
            bytes.append(UInt8(ascii: "]"))
        }
    }
}

private struct FragmentEncoder: Encoder {
    let fragment: Fragment
    let codingPath: [any CodingKey]
    var userInfo: [CodingUserInfoKey: Any] { [:] }

    func container<Key: CodingKey>(keyedBy type: Key.Type) -> KeyedEncodingContainer<Key> {
        fragment.becomeObject()
        return KeyedEncodingContainer(FragmentKeyedContainer(fragment: fragment, codingPath: codingPath))
    }

    func unkeyedContainer() -> any UnkeyedEncodingContainer {
        fragment.becomeArray()
        return FragmentUnkeyedContainer(fragment: fragment, codingPath: codingPath)
    }

    func singleValueContainer() -> any SingleValueEncodingContainer {
        FragmentSingleValueContainer(fragment: fragment, codingPath: codingPath)
    }
}

/// The index key of an array element in a coding path, as Foundation names it.
private struct IndexKey: CodingKey {
    let intValue: Int?
    var stringValue: String { "Index \(intValue ?? 0)" }
    init(_ index: Int) { intValue = index }
    init?(stringValue: String) { nil }
    init?(intValue: Int) { self.intValue = intValue }
}

private struct FragmentKeyedContainer<Key: CodingKey>: KeyedEncodingContainerProtocol {
    let fragment: Fragment
    let codingPath: [any CodingKey]

    private func put(_ value: some Encodable, _ key: Key) throws {
        fragment.members[key.stringValue] = try Fragment.make(value, codingPath: codingPath + [key])
    }

    mutating func encodeNil(forKey key: Key) throws { fragment.members[key.stringValue] = Fragment(text: Array("null".utf8)) }
    mutating func encode(_ value: Bool, forKey key: Key) throws { try put(value, key) }
    mutating func encode(_ value: String, forKey key: Key) throws { try put(value, key) }
    mutating func encode(_ value: Double, forKey key: Key) throws { try put(value, key) }
    mutating func encode(_ value: Float, forKey key: Key) throws { try put(value, key) }
    mutating func encode(_ value: Int, forKey key: Key) throws { try put(value, key) }
    mutating func encode(_ value: Int8, forKey key: Key) throws { try put(value, key) }
    mutating func encode(_ value: Int16, forKey key: Key) throws { try put(value, key) }
    mutating func encode(_ value: Int32, forKey key: Key) throws { try put(value, key) }
    mutating func encode(_ value: Int64, forKey key: Key) throws { try put(value, key) }
    mutating func encode(_ value: UInt, forKey key: Key) throws { try put(value, key) }
    mutating func encode(_ value: UInt8, forKey key: Key) throws { try put(value, key) }
    mutating func encode(_ value: UInt16, forKey key: Key) throws { try put(value, key) }
    mutating func encode(_ value: UInt32, forKey key: Key) throws { try put(value, key) }
    mutating func encode(_ value: UInt64, forKey key: Key) throws { try put(value, key) }
    mutating func encode<T: Encodable>(_ value: T, forKey key: Key) throws { try put(value, key) }

    mutating func nestedContainer<NestedKey: CodingKey>(
        keyedBy keyType: NestedKey.Type, forKey key: Key
    ) -> KeyedEncodingContainer<NestedKey> {
        let child = Fragment()
        fragment.members[key.stringValue] = child
        return FragmentEncoder(fragment: child, codingPath: codingPath + [key]).container(keyedBy: keyType)
    }

    mutating func nestedUnkeyedContainer(forKey key: Key) -> any UnkeyedEncodingContainer {
        let child = Fragment()
        fragment.members[key.stringValue] = child
        return FragmentEncoder(fragment: child, codingPath: codingPath + [key]).unkeyedContainer()
    }

    mutating func superEncoder() -> any Encoder { superEncoder(named: "super", path: []) }
    mutating func superEncoder(forKey key: Key) -> any Encoder { superEncoder(named: key.stringValue, path: [key]) }

    private func superEncoder(named name: String, path: [any CodingKey]) -> any Encoder {
        let child = Fragment()
        fragment.members[name] = child
        return FragmentEncoder(fragment: child, codingPath: codingPath + path)
    }
}

private struct FragmentUnkeyedContainer: UnkeyedEncodingContainer {
    let fragment: Fragment
    let codingPath: [any CodingKey]
    var count: Int { fragment.elements.count }

    private func append(_ value: some Encodable) throws {
        fragment.elements.append(try Fragment.make(value, codingPath: codingPath + [IndexKey(count)]))
    }

    mutating func encodeNil() throws { fragment.elements.append(Fragment(text: Array("null".utf8))) }
    mutating func encode(_ value: Bool) throws { try append(value) }
    mutating func encode(_ value: String) throws { try append(value) }
    mutating func encode(_ value: Double) throws { try append(value) }
    mutating func encode(_ value: Float) throws { try append(value) }
    mutating func encode(_ value: Int) throws { try append(value) }
    mutating func encode(_ value: Int8) throws { try append(value) }
    mutating func encode(_ value: Int16) throws { try append(value) }
    mutating func encode(_ value: Int32) throws { try append(value) }
    mutating func encode(_ value: Int64) throws { try append(value) }
    mutating func encode(_ value: UInt) throws { try append(value) }
    mutating func encode(_ value: UInt8) throws { try append(value) }
    mutating func encode(_ value: UInt16) throws { try append(value) }
    mutating func encode(_ value: UInt32) throws { try append(value) }
    mutating func encode(_ value: UInt64) throws { try append(value) }
    mutating func encode<T: Encodable>(_ value: T) throws { try append(value) }

    mutating func nestedContainer<NestedKey: CodingKey>(keyedBy keyType: NestedKey.Type) -> KeyedEncodingContainer<NestedKey> {
        nestedEncoder().container(keyedBy: keyType)
    }

    mutating func nestedUnkeyedContainer() -> any UnkeyedEncodingContainer { nestedEncoder().unkeyedContainer() }
    mutating func superEncoder() -> any Encoder { nestedEncoder() }

    private func nestedEncoder() -> FragmentEncoder {
        let child = Fragment()
        let path = codingPath + [IndexKey(count)]
        fragment.elements.append(child)
        return FragmentEncoder(fragment: child, codingPath: path)
    }
}

private struct FragmentSingleValueContainer: SingleValueEncodingContainer {
    let fragment: Fragment
    let codingPath: [any CodingKey]

    private func set(_ value: some Encodable) throws { fragment.assign(try Fragment.make(value, codingPath: codingPath)) }

    mutating func encodeNil() throws { fragment.assign(Fragment(text: Array("null".utf8))) }
    mutating func encode(_ value: Bool) throws { try set(value) }
    mutating func encode(_ value: String) throws { try set(value) }
    mutating func encode(_ value: Double) throws { try set(value) }
    mutating func encode(_ value: Float) throws { try set(value) }
    mutating func encode(_ value: Int) throws { try set(value) }
    mutating func encode(_ value: Int8) throws { try set(value) }
    mutating func encode(_ value: Int16) throws { try set(value) }
    mutating func encode(_ value: Int32) throws { try set(value) }
    mutating func encode(_ value: Int64) throws { try set(value) }
    mutating func encode(_ value: UInt) throws { try set(value) }
    mutating func encode(_ value: UInt8) throws { try set(value) }
    mutating func encode(_ value: UInt16) throws { try set(value) }
    mutating func encode(_ value: UInt32) throws { try set(value) }
    mutating func encode(_ value: UInt64) throws { try set(value) }
    mutating func encode<T: Encodable>(_ value: T) throws { try set(value) }
}
