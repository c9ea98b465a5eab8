import CImageCodecs

/// Reads PNG and JPEG files into `RasterImage`s the way Pillow does, so that a model's input
/// built in Candor matches the one its Python pipeline built from the same file.
///
/// What Pillow gives for `img.convert("L")` on greyscale files and `img.convert("RGB")` on the
/// others, checked on the corpus of `scripts/fixtures/make_image_fixtures.py`:
/// - greyscale files are PNG colour types 0 and 4 (Pillow's modes 1, L, LA, I;16) and
///   one-component JPEGs; they decode to 1 channel, everything else to 3 — except 16-bit
///   grey+alpha, which Pillow opens as RGBA and so converts to RGB (grey replicated);
/// - alpha is dropped, not composited over a background (Pillow's RGBA → RGB, LA → L), and a
///   tRNS entry is ignored;
/// - palettes are expanded; 1-, 2- and 4-bit grey is scaled to 0...255 (1 → 255);
/// - 16-bit samples keep their high byte (Pillow's `RGB;16B`, `LA;16B` raw modes), except
///   16-bit grey without alpha, which Pillow opens as I;16 and clips at 255 when converting to L
///   (values 0...255 stay, anything larger becomes 255);
/// - JPEG is decoded with libjpeg's defaults (islow IDCT, fancy upsampling), as Pillow does;
///   Pillow bundles its own libjpeg-turbo, so the two can differ by a few levels where the
///   libraries' versions differ (the tests state the measured tolerance). CMYK JPEGs are
///   `.unsupported`.
/// No gamma, ICC profile or EXIF orientation is applied (Pillow applies none on open either).
public enum ImageDecoder {
    /// Format from magic bytes, dimensions from the header only (no pixel decoding).
    public static func header(_ bytes: [UInt8]) throws(ImageCodecError) -> (format: ImageFormat, width: Int, height: Int) {
        let header = try readHeader(bytes)
        return (header.format, header.width, header.height)
    }

    /// Decodes after checking width*height <= maxPixels from the header (a decompression bomb is
    /// `.tooLarge` before any pixel buffer is allocated).
    ///
    /// Returns 1 channel for greyscale files, else 3 (RGB) — see the type's documentation for how
    /// each kind of file is reduced, as Pillow reduces it.
    public static func decode(_ bytes: [UInt8], maxPixels: Int) throws(ImageCodecError) -> RasterImage {
        try decode(bytes, maxPixels: maxPixels, keepingAlpha: false)
    }

    /// `decode(_:maxPixels:)`, but a PNG with alpha (or tRNS) keeps it as a last channel (2 or 4
    /// channels). For checking the encoder's alpha round trip.
    static func decode(_ bytes: [UInt8], maxPixels: Int, keepingAlpha: Bool) throws(ImageCodecError) -> RasterImage {
        let header = try readHeader(bytes)
        let pixelCount = header.width.multipliedReportingOverflow(by: header.height)
        guard !pixelCount.overflow, pixelCount.partialValue <= maxPixels else {
            throw ImageCodecError(
                .tooLarge,
                "the \(header.format == .png ? "PNG" : "JPEG") is \(header.width)×\(header.height) pixels, more than the \(maxPixels) allowed"
            )
        }
        let channels = (header.isGrey ? 1 : 3) + (keepingAlpha && header.hasAlpha ? 1 : 0)
        guard header.width > 0, header.height > 0,
            let count = RasterImage.sampleCount(width: header.width, height: header.height, channels: channels)
        else {
            throw ImageCodecError(.corrupt, "the image declares \(header.width)×\(header.height) pixels")
        }
        var message = [CChar](repeating: 0, count: Int(CANDOR_IMAGE_MESSAGE_SIZE))
        var pixels = [UInt8](repeating: 0, count: count)
        let status = bytes.withUnsafeBufferPointer { data in
            pixels.withUnsafeMutableBufferPointer { out in
                switch header.format {
                case .png:
                    candor_png_decode(
                        data.baseAddress, data.count, keepingAlpha ? 1 : 0, out.baseAddress, out.count, Int32(channels), &message)
                case .jpeg:
                    candor_jpeg_decode(data.baseAddress, data.count, out.baseAddress, out.count, Int32(channels), &message)
                }
            }
        }
        try check(status, message, header.format)
        return RasterImage(width: header.width, height: header.height, channels: channels, pixels: pixels)
    }

    struct Header {
        var format: ImageFormat
        var width: Int
        var height: Int
        var isGrey: Bool
        var hasAlpha: Bool
    }

    static func readHeader(_ bytes: [UInt8]) throws(ImageCodecError) -> Header {
        let format = try format(of: bytes)
        var header = candor_image_header()
        var message = [CChar](repeating: 0, count: Int(CANDOR_IMAGE_MESSAGE_SIZE))
        let status = bytes.withUnsafeBufferPointer { data in
            switch format {
            case .png: candor_png_read_header(data.baseAddress, data.count, &header, &message)
            case .jpeg: candor_jpeg_read_header(data.baseAddress, data.count, &header, &message)
            }
        }
        try check(status, message, format)
        return Header(
            format: format, width: Int(header.width), height: Int(header.height), isGrey: header.is_grey != 0,
            hasAlpha: header.has_alpha != 0)
    }

    /// The format named by the file's first bytes; other known image formats are named in the
    /// error so that a client learns what it sent.
    static func format(of bytes: [UInt8]) throws(ImageCodecError) -> ImageFormat {
        if bytes.isEmpty { throw ImageCodecError(.corrupt, "the image is empty (0 bytes)") }
        func starts(_ magic: [UInt8], at offset: Int = 0) -> Bool {
            bytes.count >= offset + magic.count && Array(bytes[offset..<offset + magic.count]) == magic
        }
        if starts([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]) { return .png }
        if starts([0xFF, 0xD8, 0xFF]) { return .jpeg }
        let others: [(name: String, matches: Bool)] = [
            ("GIF", starts(Array("GIF8".utf8))),
            ("BMP", starts(Array("BM".utf8))),
            ("WebP", starts(Array("RIFF".utf8)) && starts(Array("WEBP".utf8), at: 8)),
            ("TIFF", starts([0x49, 0x49, 0x2A, 0x00]) || starts([0x4D, 0x4D, 0x00, 0x2A])),
        ]
        if let other = others.first(where: \.matches) {
            throw ImageCodecError(.unsupported, "\(other.name) images are not supported (send PNG or JPEG)")
        }
        throw ImageCodecError(.unsupported, "the bytes are not a PNG or JPEG image (unrecognised signature)")
    }

    static func check(_ status: candor_image_status, _ message: [CChar], _ format: ImageFormat) throws(ImageCodecError) {
        let text = String(cMessage: message)
        switch status {
        case CANDOR_IMAGE_OK: return
        case CANDOR_IMAGE_UNSUPPORTED: throw ImageCodecError(.unsupported, text)
        case CANDOR_IMAGE_CORRUPT: throw ImageCodecError(.corrupt, text)
        default:
            throw ImageCodecError(.corrupt, "the \(format == .png ? "PNG" : "JPEG") could not be decoded (\(text))")
        }
    }
}
