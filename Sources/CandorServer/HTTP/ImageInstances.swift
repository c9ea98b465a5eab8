import CandorExplain
import CandorImage
import CandorTensor
import Foundation
import HTTPTypes

/// Instances sent as pictures, `{"image": "<base64 PNG or JPEG>"}` (a `data:` URL is accepted
/// too): each is decoded by libpng or libjpeg-turbo, then converted, resized and normalised by
/// the input's `ImagePreprocessing` — as Pillow and NumPy would for the same sidecar — into
/// one instance of the input. Pictures are decoded one at a time, so a request holds at most
/// one decoded picture beside the batch it builds; the pixel limit is checked from the file's
/// header before any pixel is decoded.
enum ImageInstances {
    /// Whether an instance is a picture rather than numbers.
    static func isImage(_ instance: JSONValue) -> Bool {
        if case .object(let object) = instance { return object["image"] != nil }
        return false
    }

    /// Whether a request's `inputs` hold pictures (for one input, or for any input by name).
    static func holdsPictures(_ inputs: JSONValue?) -> Bool {
        switch inputs {
        case .array(let instances)?: return instances.first.map(isImage) ?? false
        case .object(let byName)?: return byName.values.contains { holdsPictures($0) }
        default: return false
        }
    }

    static func batch(
        _ instances: [JSONValue], preprocessing: ImagePreprocessing, name: String, maxPixels: Int, elementBudget: Int
    ) throws(Problem) -> Tensor {
        let instanceShape = preprocessing.instanceShape
        let instanceCount = instanceShape.reduce(1, *)
        guard instances.count * instanceCount <= elementBudget else {
            throw Problem(
                .contentTooLarge, code: "input-too-large",
                detail: "\(instances.count) pictures of \(instanceShape) values exceed the configured limit on input elements")
        }
        var scalars: [Float] = []
        scalars.reserveCapacity(instances.count * instanceCount)
        for (index, instance) in instances.enumerated() {
            let what = "\(name), instance \(index)"
            guard case .object(let object) = instance, object.count == 1, case .string(let text)? = object["image"] else {
                throw Problem.badRequest(
                    "invalid-input",
                    "\(what): a picture is sent as {\"image\": \"<base64 PNG or JPEG>\"}, and every instance of a batch takes the same form"
                )
            }
            let image = try decode(try bytes(text, what: what), what: what, maxPixels: maxPixels)
            scalars.append(contentsOf: preprocessing.tensorValues(image))
        }
        do { return try Tensor(shape: [instances.count] + instanceShape, scalars: scalars) } catch {
            throw Problem.badRequest("invalid-input", "\(name): \(error)")
        }
    }

    /// The file's bytes from base64, with or without a `data:image/...;base64,` prefix.
    static func bytes(_ text: String, what: String) throws(Problem) -> [UInt8] {
        var payload = Substring(text)
        if payload.hasPrefix("data:"), let comma = payload.firstIndex(of: ",") {
            guard payload[..<comma].hasSuffix(";base64") else {
                throw Problem.badRequest("invalid-image", "\(what): a data URL must be base64-encoded (data:image/png;base64,...)")
            }
            payload = payload[payload.index(after: comma)...]
        }
        guard let data = Data(base64Encoded: String(payload), options: .ignoreUnknownCharacters), !data.isEmpty else {
            throw Problem.badRequest("invalid-image", "\(what): 'image' must be a PNG or JPEG file in base64")
        }
        return Array(data)
    }

    /// Decodes a file, mapping the codec's findings to answers: a picture over the pixel
    /// limit is 413, anything else wrong with the file 400.
    static func decode(_ bytes: [UInt8], what: String, maxPixels: Int) throws(Problem) -> RasterImage {
        do {
            return try ImageDecoder.decode(bytes, maxPixels: maxPixels)
        } catch {
            switch error.kind {
            case .tooLarge:
                throw Problem(.contentTooLarge, code: "image-too-large", detail: "\(what): \(error.description)")
            case .unsupported, .corrupt:
                throw Problem.badRequest("invalid-image", "\(what): \(error.description)")
            }
        }
    }
}
