import Foundation
import HTTPTypes
import MultipartKit
import NIOCore

/// `multipart/form-data` (RFC 7578) read whole, through MultipartKit's parser: the parts'
/// names, file names and bytes. For bodies already bounded in size (a request body under its
/// limit); a model upload streams its parts to files instead (`UploadReceiver`).
enum MultipartForm {
    struct Part {
        let name: String
        let filename: String?
        var bytes: [UInt8]
    }

    /// The `boundary` parameter of a multipart content type: 1–70 characters (RFC 2046).
    /// `code` names the problem in the answer to a missing or malformed one.
    static func boundary(_ contentType: String, code: String) throws -> String {
        let boundary = contentType.split(separator: ";").lazy.map { $0.trimmingCharacters(in: .whitespaces) }
            .first { $0.lowercased().hasPrefix("boundary=") }
            .map { String($0.dropFirst("boundary=".count)).trimmingCharacters(in: CharacterSet(charactersIn: "\"")) }
        guard let boundary, (1...70).contains(boundary.utf8.count) else {
            throw Problem.badRequest(code, "multipart/form-data needs a boundary of 1 to 70 characters")
        }
        return boundary
    }

    /// Every part, in order; a body cut short inside a part is refused.
    static func parse(_ body: ByteBuffer, boundary: String, code: String) throws -> [Part] {
        let parser = MultipartParser(boundary: boundary)
        var parts: [Part] = []
        var current = Part(name: "", filename: nil, bytes: [])
        var open = false
        parser.onHeader = { name, value in
            open = true
            guard name.lowercased() == "content-disposition" else { return }
            for item in value.split(separator: ";").map({ $0.trimmingCharacters(in: .whitespaces) }) {
                let pair = item.split(separator: "=", maxSplits: 1).map(String.init)
                guard pair.count == 2 else { continue }
                let unquoted = pair[1].trimmingCharacters(in: CharacterSet(charactersIn: "\""))
                if pair[0] == "name" { current = Part(name: unquoted, filename: current.filename, bytes: current.bytes) }
                if pair[0] == "filename" { current = Part(name: current.name, filename: unquoted, bytes: current.bytes) }
            }
        }
        parser.onBody = { chunk in
            open = true
            current.bytes.append(contentsOf: chunk.readableBytesView)
        }
        parser.onPartComplete = {
            parts.append(current)
            current = Part(name: "", filename: nil, bytes: [])
            open = false
        }
        do { try parser.execute(body) } catch {
            throw Problem.badRequest(code, "the multipart body is malformed: \(error)")
        }
        guard !open else { throw Problem.badRequest(code, "the multipart body ends inside its '\(current.name)' part") }
        return parts
    }
}
