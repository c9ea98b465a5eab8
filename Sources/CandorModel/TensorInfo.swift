/// One axis of a declared tensor shape: a fixed extent or a named, free one (such as the batch).
public enum Dimension: Sendable, Hashable, Codable, CustomStringConvertible {
    case fixed(Int)
    case symbolic(String)

    public var fixedValue: Int? {
        if case .fixed(let value) = self { return value }
        return nil
    }

    public var description: String {
        switch self {
        case .fixed(let value): String(value)
        case .symbolic(let name): name
        }
    }

    /// Encoded as a number when fixed and as its name when symbolic, as ONNX tools print shapes.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        switch self {
        case .fixed(let value): try container.encode(value)
        case .symbolic(let name): try container.encode(name)
        }
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if let value = try? container.decode(Int.self) {
            self = .fixed(value)
        } else {
            self = .symbolic(try container.decode(String.self))
        }
    }
}

/// A named tensor a model declares (an input, an output or an intermediate layer).
public struct TensorInfo: Sendable, Hashable, Codable {
    public let name: String
    public let elementType: ElementType
    /// The full shape, batch axis first for inputs and outputs.
    public let shape: [Dimension]

    public init(name: String, elementType: ElementType, shape: [Dimension]) {
        self.name = name
        self.elementType = elementType
        self.shape = shape
    }

    /// The shape of one instance: everything after the batch axis.
    public var instanceShape: [Dimension] { Array(shape.dropFirst()) }

    enum CodingKeys: String, CodingKey {
        case name, shape
        case elementType = "type"
    }
}
