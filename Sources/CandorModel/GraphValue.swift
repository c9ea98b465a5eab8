import CandorTensor

/// A dense tensor of 64-bit integers: shapes, indices and other integer data a graph carries.
/// Gradients never flow through these.
public struct IntegerTensor: Sendable, Equatable {
    public var shape: [Int]
    public var values: [Int64]

    public init(shape: [Int], values: [Int64]) throws(TensorError) {
        let count = try shape.checkedElementCount()
        guard count == values.count else {
            throw .shapeMismatch("shape \(shape) holds \(count) elements but \(values.count) were given")
        }
        self.shape = shape
        self.values = values
    }
}

/// A value flowing along a graph edge.
public enum GraphValue: Sendable, Equatable {
    case float(Tensor)
    case integer(IntegerTensor)

    public var shape: [Int] {
        switch self {
        case .float(let tensor): tensor.shape
        case .integer(let tensor): tensor.shape
        }
    }

    public var elementType: ElementType {
        switch self {
        case .float: .float32
        case .integer: .int64
        }
    }

    /// The float tensor, or nil for integer data.
    public var floatTensor: Tensor? {
        if case .float(let tensor) = self { return tensor }
        return nil
    }
}

/// The element types a Candor tensor can hold, named as in the API.
public enum ElementType: String, Sendable, Codable {
    case float32
    case int64
}
