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

    /// The element types accepted, by NumPy's name.
    static let elementTypes: [NumericElement] = [.float32, .float64, .int32, .int64, .uint8]

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
        guard case .string(let typeName)? = object["dtype"], let type = elementTypes.first(where: { $0.numpyName == typeName }) else {
            throw Problem.badRequest(
                "invalid-input", "\(name): 'dtype' must be one of \(elementTypes.map(\.numpyName).joined(separator: ", "))")
        }
        let shape = try Self.shape(object["shape"], name: name)
        let count = shape.reduce(1, *)
        guard count <= maxElements else {
            throw Problem(
                .contentTooLarge, code: "input-too-large",
                detail: "\(name): shape \(shape) holds \(count) elements, more than the configured limit of \(maxElements)")
        }
        guard case .string(let text)? = object["data"] else {
            throw Problem.badRequest("invalid-input", "\(name): 'data' must be a base64 string of little-endian \(type.numpyName) values")
        }
        let expectedBytes = count * type.byteCount
        // Base64 carries 3 bytes in 4 characters: a string of the wrong length is refused
        // before anything is decoded.
        guard text.utf8.count == (expectedBytes + 2) / 3 * 4, let bytes = Data(base64Encoded: text) else {
            throw Problem.badRequest(
                "invalid-input",
                "\(name): 'data' must be standard base64 (with padding) of \(expectedBytes) bytes, \(count) \(type.numpyName) values for shape \(shape)"
            )
        }
        guard bytes.count == expectedBytes else {
            throw Problem.badRequest(
                "invalid-input",
                "\(name): 'data' decodes to \(bytes.count) bytes; shape \(shape) of \(type.numpyName) needs \(expectedBytes)")
        }
        let scalars = bytes.withUnsafeBytes { NumericElement.floats($0, as: type, count: count) }
        return try tensor(shape: shape, scalars: scalars, name: name, allowingMissing: allowingMissing)
    }

    /// The values as a tensor, refusing non-finite ones (NaN only where `allowingMissing`):
    /// raw bytes can carry what JSON numbers cannot.
    static func tensor(shape: [Int], scalars: [Float], name: String, allowingMissing: Bool) throws(Problem) -> Tensor {
        if let index = scalars.firstIndex(where: { !$0.isFinite && !(allowingMissing && $0.isNaN) }) {
            throw Problem.badRequest(
                "invalid-input", "\(name): element \(index) is \(scalars[index]), which is not a finite float32")
        }
        do { return try Tensor(shape: shape, scalars: scalars) } catch {
            throw Problem.badRequest("invalid-input", "\(name): \(error)")
        }
    }

    /// A batch's shape: 1 to 8 sizes from 1 to 10⁹, the batch size first.
    static func shape(_ value: JSONValue?, name: String) throws(Problem) -> [Int] {
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

}
