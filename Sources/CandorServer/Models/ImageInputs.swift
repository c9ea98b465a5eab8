import CandorImage
import CandorModel

/// Which of a model's inputs take pictures, and how a picture becomes each of them: the
/// sidecar's `image_inputs` where it declares them, otherwise the reading every exporter's
/// tutorial uses for a rank-4 input with 1 or 3 channels — pixels scaled to [0, 1], in the
/// input's own size and layout.
enum ImageInputs {
    /// The preprocessing of every image input by name, checked against the model's inputs.
    static func resolve(
        declared: [String: ImagePreprocessing], inputs: [TensorInfo], sidecar: String
    ) throws -> [String: ImagePreprocessing] {
        var resolved: [String: ImagePreprocessing] = [:]
        for (name, preprocessing) in declared.sorted(by: { $0.key < $1.key }) {
            guard let info = inputs.first(where: { $0.name == name }) else {
                throw ModelMetadata.SidecarError(
                    description:
                        "\(sidecar): image_inputs names '\(name)', which is not an input of the model (its inputs: \(inputs.map(\.name).joined(separator: ", ")))"
                )
            }
            do { try preprocessing.validate() } catch {
                throw ModelMetadata.SidecarError(description: "\(sidecar): image_inputs.\(name): \(error)")
            }
            let expected = preprocessing.instanceShape
            let fits =
                info.instanceShape.count == expected.count
                && zip(info.instanceShape, expected).allSatisfy { dimension, extent in dimension.fixedValue.map { $0 == extent } ?? true }
            guard fits else {
                throw ModelMetadata.SidecarError(
                    description:
                        "\(sidecar): image_inputs.\(name) makes instances of shape \(expected), but the input takes [\(info.instanceShape.map(\.description).joined(separator: ", "))]"
                )
            }
            resolved[name] = preprocessing
        }
        for info in inputs where resolved[info.name] == nil {
            resolved[info.name] = implied(info)
        }
        return resolved
    }

    /// An undeclared input of fixed shape [N, C, H, W] (or [N, H, W, C]) with C = 1 or 3 reads
    /// pictures as pixels / 255, channels first when the second axis can be channels.
    static func implied(_ info: TensorInfo) -> ImagePreprocessing? {
        let shape = info.instanceShape.map(\.fixedValue)
        guard shape.count == 3, let first = shape[0], let second = shape[1], let third = shape[2] else { return nil }
        let (channels, height, width, layout): (Int, Int, Int, ImagePreprocessing.Layout) =
            [1, 3].contains(first) ? (first, second, third, .nchw) : (third, first, second, .nhwc)
        guard [1, 3].contains(channels), (1...4096).contains(height), (1...4096).contains(width) else { return nil }
        return ImagePreprocessing(
            width: width, height: height, channels: channels == 1 ? .grey : .rgb, scale: 255, mean: nil, std: nil, layout: layout)
    }
}
