/// The encoded formats CandorImage reads, named as a media subtype (`image/png`, `image/jpeg`).
public enum ImageFormat: String, Sendable {
    case png
    case jpeg
}
