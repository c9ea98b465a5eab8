import CandorExplain
import Foundation
import HTTPTypes
import Hummingbird
import MultipartKit
import NIOCore

/// A predict or explain request sent as `multipart/form-data`, as a browser form or
/// `curl -F image=@cat.png -F 'request={"method":"saliency"};type=application/json'` sends
/// it: an optional `request` part holding the JSON request without `inputs`, and one file part
/// per picture. A single-input model takes every file part, in order, whatever its name; a
/// multi-input model takes file parts named after its inputs; an empty file part (a file input
/// left empty) is skipped. The result is the JSON request
/// with `inputs` of `{"image": base64}` instances, checked like any other.
enum ImageForm {
    static func isForm(_ request: Request) -> Bool {
        request.headers[.contentType]?.lowercased().hasPrefix("multipart/form-data") ?? false
    }

    static func jsonObject(
        _ request: Request, limit: Int, allowedKeys: Set<String>, inputNames: [String]
    ) async throws -> [String: JSONValue] {
        try RequestBody.refuseDeclaredLength(of: request, over: limit)
        let boundary = try MultipartForm.boundary(request.headers[.contentType] ?? "", code: "invalid-form")
        var request = request
        let buffer = try await request.collectBody(upTo: limit)
        let parts = try MultipartForm.parse(buffer, boundary: boundary, code: "invalid-form")

        // `-F request=@req.json` gives the request part a file name: it is still the request.
        let requestParts = parts.filter { $0.name == "request" }
        guard requestParts.count <= 1 else { throw Problem.badRequest("invalid-form", "the form holds more than one 'request' part") }
        var body: [String: JSONValue] = [:]
        if let part = requestParts.first {
            body = try RequestBody.jsonObject(Data(part.bytes), allowedKeys: allowedKeys)
            if body["inputs"] != nil {
                throw Problem.badRequest("invalid-form", "the 'request' part must not hold 'inputs': the file parts are the inputs")
            }
        }
        var pictures: [String: [JSONValue]] = [:]
        for part in parts where part.name != "request" {
            guard part.filename != nil else {
                throw Problem.badRequest(
                    "invalid-form", "unknown form field '\(part.name)'; send a 'request' part (JSON) and file parts (the pictures)")
            }
            // A browser sends an empty file part for a file input left empty.
            if part.bytes.isEmpty { continue }
            let input = inputNames.count == 1 ? inputNames[0] : part.name
            guard inputNames.contains(input) else {
                throw Problem.badRequest(
                    "invalid-form",
                    "file part '\(part.name)' names no input of this model; name file parts after its inputs: \(inputNames.joined(separator: ", "))"
                )
            }
            pictures[input, default: []].append(.object(["image": .string(Data(part.bytes).base64EncodedString())]))
        }
        guard !pictures.isEmpty else {
            throw Problem.badRequest("invalid-form", "the form holds no file part: send each picture as a file part")
        }
        body["inputs"] = inputNames.count == 1 ? .array(pictures[inputNames[0]] ?? []) : .object(pictures.mapValues { .array($0) })
        return body
    }
}
