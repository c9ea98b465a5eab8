import CandorTensor
import Foundation

/// Turns ONNX `TensorProto`s (initializers and `Constant` values) into graph values, reading
/// the elements from `raw_data`, the typed repeated fields, or an external data file.
struct TensorDecoder: Sendable {
    let externalData: ExternalDataResolver

    func decode(_ proto: Onnx_TensorProto) throws(ModelError) -> GraphValue {
        let name = proto.name.isEmpty ? "(unnamed tensor)" : "'\(proto.name)'"
        var shape: [Int] = []
        for dim in proto.dims {
            guard let extent = Int(exactly: dim), extent >= 0 else {
                throw ModelError(.invalidModel, "tensor \(name) has invalid dimension \(dim)")
            }
            shape.append(extent)
        }
        let count: Int
        do { count = try shape.checkedElementCount() } catch {
            throw ModelError(.tooLarge, "tensor \(name): \(error)")
        }
        let type = Onnx_TensorProto.DataType(rawValue: Int(proto.dataType)) ?? .undefined
        let raw: Data? =
            if proto.dataLocation == .external {
                try externalData.bytes(for: proto.externalData, tensor: name)
            } else if proto.hasRawData {
                proto.rawData
            } else {
                nil
            }

        func make(_ build: () throws(TensorError) -> GraphValue) throws(ModelError) -> GraphValue {
            do { return try build() } catch { throw ModelError(.invalidModel, "tensor \(name): \(error)") }
        }

        switch type {
        case .float:
            let scalars =
                try raw.map { raw throws(ModelError) in try Self.littleEndian(raw, count: count, tensor: name, as: Float.self) }
                ?? proto.floatData
            return try make { () throws(TensorError) in .float(try Tensor(shape: shape, scalars: scalars)) }
        case .double:
            let values =
                try raw.map { raw throws(ModelError) in try Self.littleEndian(raw, count: count, tensor: name, as: Double.self) }
                ?? proto.doubleData
            return try make { () throws(TensorError) in .float(try Tensor(shape: shape, scalars: values.map { Float($0) })) }
        case .int64:
            let values =
                try raw.map { raw throws(ModelError) in try Self.littleEndian(raw, count: count, tensor: name, as: Int64.self) }
                ?? proto.int64Data
            return try make { () throws(TensorError) in .integer(try IntegerTensor(shape: shape, values: values)) }
        case .int32:
            let values =
                try raw.map { raw throws(ModelError) in
                    try Self.littleEndian(raw, count: count, tensor: name, as: Int32.self).map(Int64.init)
                } ?? proto.int32Data.map(Int64.init)
            return try make { () throws(TensorError) in .integer(try IntegerTensor(shape: shape, values: values)) }
        default:
            throw ModelError(
                .unsupportedFeature, "tensor \(name) has element type \(type), but Candor reads only float, double, int32 and int64 tensors"
            )
        }
    }

    /// Reinterprets little-endian bytes as `count` values of `T`.
    private static func littleEndian<T: FixedWidthInteger>(_ data: Data, count: Int, tensor: String, as: T.Type) throws(ModelError) -> [T] {
        try checkLength(data, count: count, size: MemoryLayout<T>.size, tensor: tensor)
        return data.withUnsafeBytes { bytes in
            (0..<count).map { T(littleEndian: bytes.loadUnaligned(fromByteOffset: $0 * MemoryLayout<T>.size, as: T.self)) }
        }
    }

    private static func littleEndian<T: BinaryFloatingPoint & BitPatternConvertible>(_ data: Data, count: Int, tensor: String, as: T.Type)
        throws(ModelError) -> [T]
    {
        try checkLength(data, count: count, size: MemoryLayout<T>.size, tensor: tensor)
        return data.withUnsafeBytes { bytes in
            (0..<count).map {
                T(
                    bitPattern: T.BitPattern(
                        littleEndian: bytes.loadUnaligned(fromByteOffset: $0 * MemoryLayout<T>.size, as: T.BitPattern.self)))
            }
        }
    }

    private static func checkLength(_ data: Data, count: Int, size: Int, tensor: String) throws(ModelError) {
        guard data.count == count * size else {
            throw ModelError(.invalidModel, "tensor \(tensor) needs \(count * size) bytes of data but has \(data.count)")
        }
    }
}

/// Floating-point types whose bits can be read as an unsigned integer (for endianness).
protocol BitPatternConvertible {
    associatedtype BitPattern: FixedWidthInteger
    init(bitPattern: BitPattern)
}
extension Float: BitPatternConvertible {}
extension Double: BitPatternConvertible {}
