import CandorTensor
import Crypto
import Foundation

extension Digest {
    /// Lower-case hexadecimal, as `sha256sum` prints it (built without `String(format:)`,
    /// which costs more than the hash on small inputs).
    var hexString: String {
        let digits = Array("0123456789abcdef".utf8)
        var characters: [UInt8] = []
        characters.reserveCapacity(Self.byteCount * 2)
        for byte in self {
            characters.append(digits[Int(byte >> 4)])
            characters.append(digits[Int(byte & 0x0f)])
        }
        return String(decoding: characters, as: UTF8.self)
    }
}

extension SHA256 {
    /// Adds tensors to the hash, each as its shape and then its values' bytes, so equal
    /// batches hash alike and a reshaped one does not (the cache keys of explanations and
    /// analyses).
    mutating func update(tensors: [Tensor]) {
        for tensor in tensors {
            update(data: Data("\(tensor.shape)".utf8))
            tensor.scalars.withUnsafeBytes { update(bufferPointer: $0) }
        }
    }
}
