import CImageCodecs

/// Writes `RasterImage`s as PNG (through libpng and zlib), for heatmaps and overlays a client
/// can display.
public enum PNGEncoder {
    /// A non-interlaced 8-bit PNG: grey for 1 channel, RGB for 3, RGBA for 4 (and grey+alpha
    /// for 2).
    public static func encode(_ image: RasterImage) throws(ImageCodecError) -> [UInt8] {
        guard (1...4).contains(image.channels) else {
            throw ImageCodecError(.unsupported, "a PNG is written from 1 to 4 channels, not \(image.channels)")
        }
        guard image.width > 0, image.height > 0, image.width <= Int(Int32.max), image.height <= Int(Int32.max) else {
            throw ImageCodecError(.unsupported, "a PNG of \(image.width)×\(image.height) pixels cannot be written")
        }
        guard RasterImage.sampleCount(width: image.width, height: image.height, channels: image.channels) == image.pixels.count
        else {
            throw ImageCodecError(
                .corrupt, "the image has \(image.pixels.count) samples, not \(image.width)×\(image.height)×\(image.channels)")
        }
        var output: UnsafeMutablePointer<UInt8>?
        var outputSize = 0
        var message = [CChar](repeating: 0, count: Int(CANDOR_IMAGE_MESSAGE_SIZE))
        let status = image.pixels.withUnsafeBufferPointer { pixels in
            candor_png_encode(
                pixels.baseAddress, UInt32(image.width), UInt32(image.height), Int32(image.channels), &output, &outputSize,
                &message)
        }
        defer { candor_image_free(output) }
        guard status == CANDOR_IMAGE_OK, let output else {
            throw ImageCodecError(.corrupt, "the PNG could not be written (libpng: \(String(cMessage: message)))")
        }
        return Array(UnsafeBufferPointer(start: output, count: outputSize))
    }
}

extension String {
    /// The text of a NUL-terminated message buffer the C shim filled.
    init(cMessage: [CChar]) {
        let bytes = cMessage.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }
        self = String(decoding: bytes, as: UTF8.self)
    }
}
