/// Why an image could not be read or written, in a form an HTTP layer can map to a status
/// without parsing messages: `.tooLarge` is a 413, the others a 400.
public struct ImageCodecError: Error, Sendable, CustomStringConvertible {
    public enum Kind: Sendable {
        /// Not a PNG or JPEG, or a variant of one that is not decoded (a CMYK JPEG).
        case unsupported
        /// Truncated, failing a checksum, or otherwise not a valid file of its format.
        case corrupt
        /// More pixels than the caller allows (a decompression bomb is caught from the header).
        case tooLarge
    }

    public let kind: Kind
    /// A sentence naming the problem, e.g. "the PNG is truncated (libpng: the data ends early)".
    public let description: String

    public init(_ kind: Kind, _ description: String) {
        self.kind = kind
        self.description = description
    }
}
