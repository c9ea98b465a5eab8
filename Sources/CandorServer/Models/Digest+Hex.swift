import Crypto

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
