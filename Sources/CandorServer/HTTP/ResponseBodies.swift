import CandorExplain
import CandorModel
import CandorTensor
import Foundation
import HTTPTypes
import Hummingbird
import NIOCore

/// A tensor encoded as nested JSON arrays following its shape (a bare number for a scalar).
struct NestedTensor: Encodable {
    let tensor: Tensor

    func encode(to encoder: any Encoder) throws {
        if tensor.rank == 0 {
            var container = encoder.singleValueContainer()
            try container.encode(tensor.scalars.first ?? 0)
            return
        }
        var container = encoder.unkeyedContainer()
        try encodeLevel(0, offset: 0, into: &container)
    }

    private func encodeLevel(_ axis: Int, offset: Int, into container: inout any UnkeyedEncodingContainer) throws {
        let extent = tensor.shape[axis]
        if axis == tensor.rank - 1 {
            for index in 0..<extent { try container.encode(tensor.scalars[offset + index]) }
            return
        }
        let stride = tensor.shape[(axis + 1)...].reduce(1, *)
        for index in 0..<extent {
            var nested = container.nestedUnkeyedContainer()
            try encodeLevel(axis + 1, offset: offset + index * stride, into: &nested)
        }
    }
}

extension NestedTensor {
    /// The tensor's JSON text, the same as `encode(to:)` gives through ``JSONEncoder/candor``,
    /// written number by number (``ResponseJSONEncoder``'s fast path).
    func write(into bytes: inout [UInt8], codingPath: [any CodingKey]) throws {
        if tensor.rank == 0 {
            try JSONText.write(tensor.scalars.first ?? 0, into: &bytes, codingPath: codingPath)
            return
        }
        bytes.reserveCapacity(bytes.count + 12 * tensor.scalars.count)
        try writeLevel(0, offset: 0, into: &bytes, codingPath: codingPath)
    }

    private func writeLevel(_ axis: Int, offset: Int, into bytes: inout [UInt8], codingPath: [any CodingKey]) throws {
        let extent = tensor.shape[axis]
        let stride = tensor.shape[(axis + 1)...].reduce(1, *)
        bytes.append(UInt8(ascii: "["))
        for index in 0..<extent {
            if index > 0 { bytes.append(UInt8(ascii: ",")) }
            if axis == tensor.rank - 1 {
                try JSONText.write(tensor.scalars[offset + index], into: &bytes, codingPath: codingPath)
            } else {
                try writeLevel(axis + 1, offset: offset + index * stride, into: &bytes, codingPath: codingPath)
            }
        }
        bytes.append(UInt8(ascii: "]"))
    }
}

/// A JSON key chosen at run time (method-specific fields beside `attributions`).
struct DynamicKey: CodingKey {
    let stringValue: String
    var intValue: Int? { nil }
    init(_ string: String) { stringValue = string }
    init?(stringValue: String) { self.stringValue = stringValue }
    init?(intValue: Int) { nil }
}

/// Builds JSON responses with the service's encoder.
enum JSONResponse {
    static func make(_ value: some Encodable, status: HTTPResponse.Status = .ok, headers: HTTPFields = [:]) throws -> Response {
        try make(bytes: ResponseJSONEncoder.encode(value), status: status, headers: headers)
    }

    static func make(bytes: [UInt8], status: HTTPResponse.Status = .ok, headers: HTTPFields = [:]) -> Response {
        var headers = headers
        headers[.contentType] = "application/json"
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: bytes)))
    }
}
