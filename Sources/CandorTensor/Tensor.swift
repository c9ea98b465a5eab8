/// A dense, row-major tensor of 32-bit floats: the value every Candor kernel computes on.
///
/// A value type over a copy-on-write array, so a model's weights can be shared read-only by
/// every worker while each call's activations are its own.
public struct Tensor: Sendable, Equatable {
    /// The extent of each axis, outermost first. A scalar has an empty shape.
    public private(set) var shape: [Int]
    /// The elements in row-major order; `scalars.count == shape.elementCount`.
    public var scalars: [Float]

    /// The largest number of elements one tensor may hold (1 GiB of floats). Kernels refuse to
    /// build anything larger, so a hostile shape is an error instead of an allocation failure.
    public static let maximumElementCount = 1 << 28

    /// Wraps `scalars` with `shape`, checking that they agree and that the size is allowed.
    public init(shape: [Int], scalars: [Float]) throws(TensorError) {
        let count = try shape.checkedElementCount()
        guard count == scalars.count else {
            throw .shapeMismatch("shape \(shape) holds \(count) elements but \(scalars.count) were given")
        }
        self.shape = shape
        self.scalars = scalars
    }

    /// Wraps `scalars` with a shape the caller has already checked against them.
    @usableFromInline
    init(uncheckedShape shape: [Int], scalars: [Float]) {
        self.shape = shape
        self.scalars = scalars
    }

    /// A tensor of `shape` filled with `value`.
    public init(repeating value: Float, shape: [Int]) throws(TensorError) {
        let count = try shape.checkedElementCount()
        self.init(uncheckedShape: shape, scalars: [Float](repeating: value, count: count))
    }

    /// A rank-0 tensor holding `value`.
    public init(scalar value: Float) {
        self.init(uncheckedShape: [], scalars: [value])
    }

    /// A tensor of zeros shaped like `other`.
    public init(zerosLike other: Tensor) {
        self.init(uncheckedShape: other.shape, scalars: [Float](repeating: 0, count: other.scalars.count))
    }

    public var rank: Int { shape.count }
    public var count: Int { scalars.count }

    /// The same elements viewed with another shape of equal size.
    public func reshaped(to newShape: [Int]) throws(TensorError) -> Tensor {
        try Tensor(shape: newShape, scalars: scalars)
    }

    /// Applies `transform` to every element.
    @inlinable
    public func map(_ transform: (Float) -> Float) -> Tensor {
        Tensor(uncheckedShape: shape, scalars: scalars.map(transform))
    }

    /// Combines two tensors of the same shape element by element.
    @inlinable
    public func zipMap(_ other: Tensor, _ combine: (Float, Float) -> Float) throws(TensorError) -> Tensor {
        guard shape == other.shape else {
            throw .shapeMismatch("element-wise operation on shapes \(shape) and \(other.shape)")
        }
        var result = [Float](repeating: 0, count: count)
        scalars.withUnsafeBufferPointer { a in
            other.scalars.withUnsafeBufferPointer { b in
                for index in 0..<a.count { result[index] = combine(a[index], b[index]) }
            }
        }
        return Tensor(uncheckedShape: shape, scalars: result)
    }

    /// Whether every element is finite (neither NaN nor infinite).
    public var isFinite: Bool { scalars.allSatisfy(\.isFinite) }
}

extension Tensor {
    /// Stacks equally shaped tensors along a new leading axis: the batch axis.
    public static func stacking(_ items: [Tensor]) throws(TensorError) -> Tensor {
        guard let first = items.first else { throw .shapeMismatch("cannot stack an empty list of tensors") }
        var scalars: [Float] = []
        scalars.reserveCapacity(first.count * items.count)
        for item in items {
            guard item.shape == first.shape else {
                throw .shapeMismatch("cannot stack shapes \(first.shape) and \(item.shape)")
            }
            scalars.append(contentsOf: item.scalars)
        }
        return try Tensor(shape: [items.count] + first.shape, scalars: scalars)
    }

    /// Splits the leading (batch) axis into one tensor per row.
    public func unstacked() -> [Tensor] {
        guard let rows = shape.first, rows > 0 else { return [] }
        let rowShape = Array(shape.dropFirst())
        let rowCount = count / rows
        return (0..<rows).map { row in
            Tensor(uncheckedShape: rowShape, scalars: Array(scalars[row * rowCount..<(row + 1) * rowCount]))
        }
    }

    /// Rows `range` of the leading axis.
    public func rows(_ range: Range<Int>) -> Tensor {
        let rowCount = shape.first.map { $0 > 0 ? count / $0 : 0 } ?? 0
        var newShape = shape
        newShape[0] = range.count
        return Tensor(
            uncheckedShape: newShape,
            scalars: Array(scalars[range.lowerBound * rowCount..<range.upperBound * rowCount]))
    }

    /// Joins tensors along the leading axis; all other axes must agree.
    public static func concatenatingRows(_ parts: [Tensor]) throws(TensorError) -> Tensor {
        guard let first = parts.first, first.rank > 0 else {
            throw .shapeMismatch("cannot concatenate an empty list or scalars")
        }
        let tail = Array(first.shape.dropFirst())
        let total = parts.reduce(0) { $0 &+ $1.scalars.count }
        guard total <= Tensor.maximumElementCount else {
            throw .tooLarge("joining \(parts.count) tensors would hold \(total) elements, more than \(Tensor.maximumElementCount)")
        }
        var rows = 0
        var scalars: [Float] = []
        scalars.reserveCapacity(total)
        for part in parts {
            guard Array(part.shape.dropFirst()) == tail, part.rank == first.rank else {
                throw .shapeMismatch("cannot concatenate shapes \(first.shape) and \(part.shape)")
            }
            rows += part.shape[0]
            scalars.append(contentsOf: part.scalars)
        }
        return try Tensor(shape: [rows] + tail, scalars: scalars)
    }
}

extension Array where Element == Int {
    /// The product of the extents, refusing negative extents and sizes over
    /// ``Tensor/maximumElementCount``.
    /// The non-zero extents must also multiply to at most the limit, so that code reshaping an
    /// empty tensor (a product over some of its axes) cannot overflow either.
    public func checkedElementCount() throws(TensorError) -> Int {
        var count = 1
        var nonZeroProduct = 1
        for extent in self {
            guard extent >= 0 else { throw .invalidShape("negative extent in shape \(self)") }
            let (product, overflow) = nonZeroProduct.multipliedReportingOverflow(by: Swift.max(extent, 1))
            guard !overflow, product <= Tensor.maximumElementCount else {
                throw .tooLarge("shape \(self) exceeds the limit of \(Tensor.maximumElementCount) elements")
            }
            nonZeroProduct = product
            count = extent == 0 ? 0 : count * extent
        }
        return count
    }
}
