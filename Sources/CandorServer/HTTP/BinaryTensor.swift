import CandorExplain
import CandorTensor
import Foundation
import HTTPTypes

/// A whole batch sent as raw little-endian numbers instead of decimal text:
/// `{"dtype": "float32", "shape": [16, 3, 32, 32], "data": "<base64>"}`. Sixteen 32×32 RGB
/// images are 262 KB of base64 against about 530 KB of JSON numbers, and nothing is parsed
/// digit by digit. The shape includes the batch axis, as NumPy's `tobytes()` of the batch
/// would have it; the element count is checked against the request limit before the data is
/// decoded.
enum BinaryTensor {
    static let fields: Set<String> = ["dtype", "shape", "data"]

    /// The element types accepted, by NumPy's name, with their size in bytes.
    enum ElementType: String, CaseIterable {
        case float32, float64, int32, int64, uint8

        var byteCount: Int {
            switch self {
            case .float32, .int32: 4
            case .float64, .int64: 8
            case .uint8: 1
            }
        }
    }

    /// Whether an `inputs` object is a binary tensor rather than inputs by name: it has the
    /// `data` and `dtype` fields (no model input is named so by accident and sent both).
    static func isBinary(_ object: [String: JSONValue]) -> Bool {
        object["dtype"] != nil && object["data"] != nil
    }

    /// Decodes and checks a binary batch; `name` says which input in messages. NaN is a missing
    /// value only where `allowingMissing` (tree ensembles), as `null` is in JSON; infinity
    /// never passes.
    static func decode(
        _ object: [String: JSONValue], name: String, maxElements: Int, allowingMissing: Bool
    ) throws(Problem) -> Tensor {
        if let unknown = object.keys.sorted().first(where: { !fields.contains($0) }) {
            throw Problem.badRequest(
                "invalid-input", "\(name): unknown field '\(unknown)' in a binary tensor; it has dtype, shape and data")
        }
        guard case .string(let typeName)? = object["dtype"], let type = ElementType(rawValue: typeName) else {
            throw Problem.badRequest(
                "invalid-input",
                "\(name): 'dtype' must be one of \(ElementType.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        let shape = try Self.shape(object["shape"], name: name)
        let count = shape.reduce(1, *)
        guard count <= maxElements else {
            throw Problem(
                .contentTooLarge, code: "input-too-large",
                detail: "\(name): shape \(shape) holds \(count) elements, more than the configured limit of \(maxElements)")
        }
        guard case .string(let text)? = object["data"] else {
            throw Problem.badRequest("invalid-input", "\(name): 'data' must be a base64 string of little-endian \(type.rawValue) values")
        }
        let expectedBytes = count * type.byteCount
        // Base64 carries 3 bytes in 4 characters: a string of the wrong length is refused
        // before anything is decoded.
        guard text.utf8.count == (expectedBytes + 2) / 3 * 4, let bytes = Data(base64Encoded: text) else {
            throw Problem.badRequest(
                "invalid-input",
                "\(name): 'data' must be standard base64 (with padding) of \(expectedBytes) bytes, \(count) \(type.rawValue) values for shape \(shape)"
            )
        }
        guard bytes.count == expectedBytes else {
            throw Problem.badRequest(
                "invalid-input",
                "\(name): 'data' decodes to \(bytes.count) bytes; shape \(shape) of \(type.rawValue) needs \(expectedBytes)")
        }
        let scalars = Self.scalars(bytes, type: type, count: count)
        if let index = scalars.firstIndex(where: { !$0.isFinite && !(allowingMissing && $0.isNaN) }) {
            throw Problem.badRequest(
                "invalid-input", "\(name): element \(index) is \(scalars[index]), which is not a finite float32")
        }
        do { return try Tensor(shape: shape, scalars: scalars) } catch {
            throw Problem.badRequest("invalid-input", "\(name): \(error)")
        }
    }

    private static func shape(_ value: JSONValue?, name: String) throws(Problem) -> [Int] {
        guard case .array(let items)? = value, (1...8).contains(items.count) else {
            throw Problem.badRequest("invalid-input", "\(name): 'shape' must be an array of 1 to 8 sizes, the batch size first")
        }
        var shape: [Int] = []
        var count = 1
        for item in items {
            guard case .number(let number) = item, number == number.rounded(), number >= 1, number <= 1e9 else {
                throw Problem.badRequest("invalid-input", "\(name): 'shape' must hold whole numbers from 1 to 10⁹, got \(item)")
            }
            shape.append(Int(number))
            // Past 2⁴⁰ elements no limit can be met; checking before multiplying keeps the
            // product in range (2⁴⁰ × 10⁹ would overflow).
            guard Int(number) <= (1 << 40) / count else {
                throw Problem(.contentTooLarge, code: "input-too-large", detail: "\(name): shape \(items) holds too many elements")
            }
            count *= Int(number)
        }
        return shape
    }

    /// The values as float32, read little-endian whatever the machine's byte order.
    private static func scalars(_ bytes: Data, type: ElementType, count: Int) -> [Float] {
        bytes.withUnsafeBytes { raw in
            (0..<count).map { index in
                let offset = index * type.byteCount
                switch type {
                case .float32: return Float(bitPattern: UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: offset, as: UInt32.self)))
                case .float64:
                    return Float(Double(bitPattern: UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: offset, as: UInt64.self))))
                case .int32: return Float(Int32(littleEndian: raw.loadUnaligned(fromByteOffset: offset, as: Int32.self)))
                case .int64: return Float(Int64(littleEndian: raw.loadUnaligned(fromByteOffset: offset, as: Int64.self)))
                case .uint8: return Float(raw[offset])
                }
            }
        }
    }
}
