import CompressNIO
import Foundation
import HTTPTypes
import Hummingbird
import NIOCore

/// Compresses a response with gzip (zlib through compress-nio) when the client says it accepts
/// it (`Accept-Encoding`, RFC 9110 §12.5.3): explanation JSON — nested arrays of decimals —
/// shrinks four- to eightfold, which matters more than the milliseconds zlib takes on a slow
/// link. Only whole bodies of a known length between 1 KiB and `maximumBytes` of a text type
/// are compressed: a smaller one gains less than gzip's framing costs, a PNG is already
/// deflated, and an event stream must reach the client event by event.
struct ResponseCompressionMiddleware: RouterMiddleware {
    typealias Context = CandorRequestContext

    static let minimumBytes = 1024
    /// Compressing holds the body and its compressed copy at once; past this the body goes as
    /// it is rather than doubling a large answer's memory.
    static let maximumBytes = 64 << 20

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        var response = try await next(request, context)
        guard Self.isCompressible(response.headers[.contentType]) else { return response }
        // Caches must keep the compressed and plain answers apart.
        response.headers[.vary] = response.headers[.vary].map { "\($0), Accept-Encoding" } ?? "Accept-Encoding"
        guard request.method != .head, response.headers[.contentEncoding] == nil,
            Self.acceptsGzip(request.headers[values: .acceptEncoding]),
            let length = response.body.contentLength, (Self.minimumBytes...Self.maximumBytes).contains(length)
        else { return response }

        let collected = CollectedBody(capacity: length)
        let body = response.body
        try await body.write(collected)
        var compressed = try collected.buffer.compress(with: .gzip())
        compressed.discardReadBytes()
        response.headers[.contentEncoding] = "gzip"
        response.headers[.contentLength] = nil
        response.body = ResponseBody(byteBuffer: compressed)
        return response
    }

    /// Text the service sends: JSON, problem details, HTML, CSS, JavaScript, SVG, YAML.
    static func isCompressible(_ contentType: String?) -> Bool {
        guard let type = contentType?.split(separator: ";").first?.trimmingCharacters(in: .whitespaces).lowercased() else {
            return false
        }
        return type.hasPrefix("text/") && type != "text/event-stream" || type.hasSuffix("json") || type.hasSuffix("+xml")
            || ["application/javascript", "application/yaml"].contains(type)
    }

    /// Whether an `Accept-Encoding` list admits gzip: `gzip`, `x-gzip` or `*` with a quality
    /// above zero (`gzip;q=0` refuses it).
    static func acceptsGzip(_ values: [String]) -> Bool {
        var gzipQuality: Double?
        var anyQuality: Double?
        for (coding, quality) in QualityList.parse(values) {
            switch coding {
            case "gzip", "x-gzip": gzipQuality = quality
            case "*": anyQuality = quality
            default: continue
            }
        }
        return (gzipQuality ?? anyQuality ?? 0) > 0
    }

    /// Gathers a response body's buffers into one.
    private final class CollectedBody: ResponseBodyWriter {
        var buffer: ByteBuffer

        init(capacity: Int) { buffer = ByteBuffer(); buffer.reserveCapacity(capacity) }

        func write(_ part: ByteBuffer) async throws {
            var part = part
            buffer.writeBuffer(&part)
        }

        func finish(_ trailingHeaders: HTTPFields?) async throws {}
    }
}
