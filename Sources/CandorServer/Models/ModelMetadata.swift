import CandorExplain
import CandorImage
import Foundation
import Yams

/// What a model's optional sidecar `NAME.yaml` says about it: a description for people, the
/// names of its input features and output classes, per-feature training statistics (LIME's
/// discretizer and scaler), the file of background instances that KernelSHAP and LIME
/// draw absent features from, and the features' domains (integer, categorical, immutable)
/// that counterfactuals respect, how a picture becomes each image input, the method that
/// explains it when a request names none, and the tokenizer of a text model.
public struct ModelMetadata: Sendable, Equatable, Codable {
    public var description: String?
    public var featureNames: [String]?
    public var classNames: [String]?
    public var trainingStatistics: StoredFeatureStatistics?
    /// A JSON file beside the model holding reference instances (an array of them).
    public var background: String?
    /// Features that take whole numbers, by name.
    public var integerFeatures: [String]?
    /// Features that take one of listed codes, by name.
    public var categoricalFeatures: [String: [Double]]?
    /// Features a counterfactual never changes (age, a protected attribute), by name.
    public var immutableFeatures: [String]?
    /// How a PNG or JPEG becomes each image input (size, channels, scaling, normalisation,
    /// layout), by input name. A rank-4 input with 1 or 3 channels that is not listed takes
    /// pixels scaled to [0, 1] (`ImageInputs.implied`).
    public var imageInputs: [String: ImagePreprocessing]?
    /// The method (and its parameters) that explains the model where a request names none:
    /// KServe's `:explain` verb. Without it, the first of `tree_shap`, `integrated_gradients`
    /// and `kernel_shap` that applies.
    public var defaultMethod: String?
    public var defaultParams: [String: JSONValue]?
    /// A Hugging Face `tokenizer.json` beside the model: the model takes text
    /// (`TextInputs`).
    public var tokenizer: String?

    public init(description: String? = nil, featureNames: [String]? = nil, classNames: [String]? = nil) {
        self.description = description
        self.featureNames = featureNames
        self.classNames = classNames
    }

    enum CodingKeys: String, CodingKey {
        case description
        case featureNames = "feature_names"
        case classNames = "class_names"
        case trainingStatistics = "training_statistics"
        case background
        case integerFeatures = "integer_features"
        case categoricalFeatures = "categorical_features"
        case immutableFeatures = "immutable_features"
        case imageInputs = "image_inputs"
        case defaultMethod = "default_method"
        case defaultParams = "default_params"
        case tokenizer
    }

    /// Parses a sidecar; a malformed one is an error naming the file (the model is refused
    /// rather than served with silently missing names).
    static func parse(_ data: Data, file: String) throws -> ModelMetadata {
        guard data.count <= maximumBytes else {
            throw SidecarError(description: "\(file) has \(data.count) bytes, more than the \(maximumBytes) a sidecar may have")
        }
        guard let text = String(data: data, encoding: .utf8) else {
            throw SidecarError(description: "\(file) is not UTF-8 text")
        }
        // YAML aliases (`*name`) let a few bytes expand into gigabytes ("billion laughs"); a
        // sidecar never needs them.
        if text.range(of: #"(^|[\s\[\{,:-])\*[^\s,\]\}]"#, options: .regularExpression) != nil {
            throw SidecarError(description: "\(file) uses a YAML alias (*name); write the values out instead")
        }
        do {
            // A misspelt key would silently drop the names it meant to give: refuse it.
            let document = try Yams.load(yaml: text) as? [String: Any]
            if let keys = document?.keys, let unknown = keys.sorted().first(where: { CodingKeys(stringValue: $0) == nil }) {
                let known = [
                    "description", "feature_names", "class_names", "training_statistics", "background", "integer_features",
                    "categorical_features", "immutable_features", "image_inputs", "default_method", "default_params",
                    "tokenizer",
                ]
                throw SidecarError(description: "\(file) has unknown key '\(unknown)'; known keys: \(known.joined(separator: ", "))")
            }
            // Likewise inside image_inputs: a misspelt `std` would silently drop the normalisation.
            for (input, value) in (document?["image_inputs"] as? [String: Any] ?? [:]).sorted(by: { $0.key < $1.key }) {
                let known = ["width", "height", "channels", "scale", "mean", "std", "layout"]
                if let unknown = (value as? [String: Any])?.keys.sorted().first(where: { !known.contains($0) }) {
                    throw SidecarError(
                        description:
                            "\(file) has unknown key '\(unknown)' in image_inputs.\(input); known keys: \(known.joined(separator: ", "))")
                }
            }
            return try YAMLDecoder().decode(ModelMetadata.self, from: text)
        } catch let error as SidecarError {
            throw error
        } catch {
            throw SidecarError(description: "\(file) is not a valid model sidecar: \(error)")
        }
    }

    /// The largest sidecar accepted (statistics for thousands of features fit in far less).
    static let maximumBytes = 4 << 20

    struct SidecarError: Error, CustomStringConvertible {
        let description: String
    }
}
