import CandorExplain
import CandorModel
import Foundation

/// `candor inspect`: what the service would say of a model file, without a server.
public enum ModelInspection {
    public static func describe(file: URL) throws -> String {
        let name = file.deletingPathExtension().lastPathComponent
        let onnx = try Data(contentsOf: file)
        let sidecarURL = file.deletingPathExtension().appendingPathExtension("yaml")
        let sidecar = try? Data(contentsOf: sidecarURL)
        let model = try LoadedModel.load(
            name: name, onnx: onnx, externalData: .directory(file.deletingLastPathComponent()), sidecar: sidecar)
        let encoder = JSONEncoder.candor
        encoder.outputFormatting.insert(.prettyPrinted)
        return String(decoding: try encoder.encode(ModelDescription(model, catalog: .standard)), as: UTF8.self)
    }
}
