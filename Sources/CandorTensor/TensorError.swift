/// Why a tensor operation could not be carried out.
public enum TensorError: Error, Equatable, Sendable, CustomStringConvertible {
    /// Two shapes that must agree (or broadcast) do not.
    case shapeMismatch(String)
    /// A shape is malformed (negative extent, wrong rank for the operation).
    case invalidShape(String)
    /// The result would exceed ``Tensor/maximumElementCount``.
    case tooLarge(String)
    /// An axis is outside the tensor's rank.
    case invalidAxis(String)

    public var description: String {
        switch self {
        case .shapeMismatch(let detail), .invalidShape(let detail), .tooLarge(let detail),
            .invalidAxis(let detail):
            detail
        }
    }
}
