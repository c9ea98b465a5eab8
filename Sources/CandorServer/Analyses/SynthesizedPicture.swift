import CandorExplain
import CandorImage
import CandorModel
import CandorTensor
import Foundation

/// The picture of an instance an analysis made up (activation maximization's optimised
/// input), for a single-input model whose input is an image: the values are taken back
/// through the input's preprocessing to [0, 1] pixels (`ImagePreprocessing.displayImage`)
/// and written as a PNG `data:` URL under `image`, beside the numbers.
enum SynthesizedPicture {
    static func adding(to result: JSONValue, field: String?, model: LoadedModel) throws -> JSONValue {
        guard let field, case .object(var object) = result, let value = object[field], model.model.inputs.count == 1,
            let preprocessing = model.imageInputs[model.model.inputs[0].name]
        else { return result }
        let instance: Tensor
        do { instance = try TensorJSON.tensor(from: value, name: field) } catch { return result }
        guard instance.count == preprocessing.instanceShape.reduce(1, *) else { return result }
        let shown = preprocessing.displayImage(instance.scalars)
        let pixels = shown.values.map { UInt8(($0 * 255).rounded()) }
        let png = try PNGEncoder.encode(RasterImage(width: shown.width, height: shown.height, channels: shown.channels, pixels: pixels))
        object["image"] = .string("data:image/png;base64,\(Data(png).base64EncodedString())")
        return .object(object)
    }
}
