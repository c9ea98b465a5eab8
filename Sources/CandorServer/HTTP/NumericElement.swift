/// The numeric element types a client may send as raw little-endian bytes (binary tensors, the
/// Open Inference Protocol's binary data), by NumPy's name and the protocol's, with their size.
/// Candor's models compute in float32, so every type is read as float32.
enum NumericElement: CaseIterable, Sendable {
    case bool, uint8, uint16, uint32, uint64, int8, int16, int32, int64, float16, float32, float64

    var byteCount: Int {
        switch self {
        case .bool, .uint8, .int8: 1
        case .uint16, .int16, .float16: 2
        case .uint32, .int32, .float32: 4
        case .uint64, .int64, .float64: 8
        }
    }

    /// NumPy's dtype name (`float32`, …).
    var numpyName: String {
        switch self {
        case .bool: "bool"
        case .uint8: "uint8"
        case .uint16: "uint16"
        case .uint32: "uint32"
        case .uint64: "uint64"
        case .int8: "int8"
        case .int16: "int16"
        case .int32: "int32"
        case .int64: "int64"
        case .float16: "float16"
        case .float32: "float32"
        case .float64: "float64"
        }
    }

    /// The Open Inference Protocol's datatype name (`FP32`, …).
    var openInferenceName: String {
        switch self {
        case .bool: "BOOL"
        case .uint8: "UINT8"
        case .uint16: "UINT16"
        case .uint32: "UINT32"
        case .uint64: "UINT64"
        case .int8: "INT8"
        case .int16: "INT16"
        case .int32: "INT32"
        case .int64: "INT64"
        case .float16: "FP16"
        case .float32: "FP32"
        case .float64: "FP64"
        }
    }

    init?(openInferenceName name: String) {
        guard let element = Self.allCases.first(where: { $0.openInferenceName == name }) else { return nil }
        self = element
    }

    /// `count` values read little-endian from `raw`, whatever the machine's byte order, as
    /// float32 (a BOOL byte is 0 or 1, any non-zero byte true).
    static func floats(_ raw: UnsafeRawBufferPointer, as type: NumericElement, count: Int) -> [Float] {
        func load<Word: FixedWidthInteger>(_ index: Int, _: Word.Type) -> Word {
            Word(littleEndian: raw.loadUnaligned(fromByteOffset: index * MemoryLayout<Word>.size, as: Word.self))
        }
        return (0..<count).map { index in
            switch type {
            case .bool: raw[index] != 0 ? 1 : 0
            case .uint8: Float(raw[index])
            case .int8: Float(Int8(bitPattern: raw[index]))
            case .uint16: Float(load(index, UInt16.self))
            case .int16: Float(load(index, Int16.self))
            case .uint32: Float(load(index, UInt32.self))
            case .int32: Float(load(index, Int32.self))
            case .uint64: Float(load(index, UInt64.self))
            case .int64: Float(load(index, Int64.self))
            case .float16: Float(Float16(bitPattern: load(index, UInt16.self)))
            case .float32: Float(bitPattern: load(index, UInt32.self))
            case .float64: Float(Double(bitPattern: load(index, UInt64.self)))
            }
        }
    }
}
