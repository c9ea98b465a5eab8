import CandorModel
import CandorTensor

/// Conversions between nested JSON arrays of numbers and tensors.
public enum TensorJSON {
    /// A tensor from nested arrays of numbers (or a bare number), checking that the nesting is
    /// rectangular and every element finite. With `allowingMissing` (tree ensembles, whose
    /// splits route missing values), `null` is a missing value and becomes NaN.
    public static func tensor(from value: JSONValue, name: String, allowingMissing: Bool = false) throws(ExplanationError) -> Tensor {
        var shape: [Int] = []
        var probe = value
        while case .array(let items) = probe {
            shape.append(items.count)
            guard let first = items.first else { break }
            probe = first
        }
        // The shape is read off the first element at each depth; a client can make it claim
        // any size, so it is checked before anything is reserved.
        let count: Int
        do { count = try shape.checkedElementCount() } catch { throw ExplanationError(.invalidInput, "\(name): \(error)") }
        var scalars: [Float] = []
        scalars.reserveCapacity(count)
        try flatten(value, depth: 0, shape: shape, into: &scalars, name: name, allowingMissing: allowingMissing)
        do { return try Tensor(shape: shape, scalars: scalars) } catch {
            throw ExplanationError(.invalidInput, "\(name): \(error)")
        }
    }

    private static func flatten(
        _ value: JSONValue, depth: Int, shape: [Int], into scalars: inout [Float], name: String, allowingMissing: Bool
    ) throws(ExplanationError) {
        switch value {
        case .array(let items):
            guard depth < shape.count, items.count == shape[depth] else {
                throw ExplanationError(.invalidInput, "\(name) is not rectangular: expected nested arrays of shape \(shape)")
            }
            for item in items {
                try flatten(item, depth: depth + 1, shape: shape, into: &scalars, name: name, allowingMissing: allowingMissing)
            }
        case .null where allowingMissing && depth == shape.count:
            scalars.append(.nan)
        case .number(let number):
            guard depth == shape.count else {
                throw ExplanationError(.invalidInput, "\(name) is not rectangular: expected nested arrays of shape \(shape)")
            }
            let scalar = Float(number)
            guard scalar.isFinite else {
                throw ExplanationError(.invalidInput, "\(name) contains \(number), which is not a finite float32")
            }
            scalars.append(scalar)
        default:
            throw ExplanationError(.invalidInput, "\(name) must contain only numbers, found \(value.typeName)")
        }
    }

    /// Checks that `tensor` is a batch of instances of `info` (batch axis first, fixed axes equal).
    public static func checkBatch(_ tensor: Tensor, matches info: TensorInfo, name: String) throws(ExplanationError) {
        let expected = info.instanceShape
        let actual = Array(tensor.shape.dropFirst())
        let fits =
            tensor.rank == info.shape.count
            && zip(expected, actual).allSatisfy { dimension, extent in
                dimension.fixedValue.map { $0 == extent } ?? (extent > 0)
            }
        guard fits else {
            throw ExplanationError(
                .invalidInput,
                "\(name): each instance must have shape [\(expected.map(\.description).joined(separator: ", "))], got [\(actual.map(String.init).joined(separator: ", "))]"
            )
        }
    }
}

extension TensorJSON {
    /// A tensor as nested JSON arrays (a bare number at rank 0), for method fields that
    /// hold instances (`perturbed`). Each float32 is written as the shortest decimal that
    /// reads back as the same float32 (0.1, not 0.10000000149011612).
    public static func value(of tensor: Tensor) -> JSONValue {
        func number(_ scalar: Float) -> JSONValue { .number(Double("\(scalar)") ?? Double(scalar)) }
        func level(_ axis: Int, _ offset: Int) -> JSONValue {
            let extent = tensor.shape[axis]
            if axis == tensor.rank - 1 { return .array((0..<extent).map { number(tensor.scalars[offset + $0]) }) }
            let stride = tensor.shape[(axis + 1)...].reduce(1, *)
            return .array((0..<extent).map { level(axis + 1, offset + $0 * stride) })
        }
        guard tensor.rank > 0 else { return number(tensor.scalars.first ?? 0) }
        return level(0, 0)
    }
}
