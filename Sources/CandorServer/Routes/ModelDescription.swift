import CandorExplain
import CandorImage
import CandorModel
import CandorTensor

/// What `GET /v1/models/{name}` (and a successful upload) says of a model.
struct ModelDescription: Encodable {
    let name: String
    /// Always true: a model is listed once it is loaded. KServe V1's model-ready check
    /// (`GET /v1/models/{name}`) reads it.
    let ready = true
    let sha256: String
    /// The file format: `onnx`, `xgboost` or `lightgbm`.
    let kind: String
    let description: String?
    /// The producing tool (for XGBoost and LightGBM models, the format's name); the opset and operators of an ONNX graph.
    let producer: String
    let opset: Int?
    let operators: [String]
    let inputs: [TensorInfo]
    let outputs: [TensorInfo]
    let layers: [TensorInfo]?
    let featureNames: [String]?
    let classNames: [String]?
    let methods: [String]?
    /// The first instance of the sidecar's background, in the form `inputs` takes one (full
    /// description only): what a client can start from, such as the web page's form.
    let example: ExampleInstance?
    /// Per feature of a single flat input, the smallest and largest value over the background
    /// rows (full description only).
    let featureRanges: [[Float?]]?
    /// How a picture becomes each image input, declared or implied (`ImageInputs`): what a
    /// client sending `{"image": ...}` instances can expect (full description only).
    let imageInputs: [String: ImagePreprocessing]?
    /// For a model whose sidecar names a tokenizer: the file, and the layer the text methods
    /// attribute at by default (full description only).
    let text: TextDescription?

    struct TextDescription: Encodable {
        let tokenizer: String
        let embeddingLayer: String?
        let maxTokens: Int?

        enum CodingKeys: String, CodingKey {
            case tokenizer
            case embeddingLayer = "embedding_layer"
            case maxTokens = "max_tokens"
        }
    }

    /// The full description, or (for the list) the summary without layers and methods.
    init(_ model: LoadedModel, catalog: MethodCatalog?) {
        name = model.name
        sha256 = model.sha256
        description = model.metadata.description
        kind = model.format.rawValue
        producer = model.onnx?.producer ?? model.format.rawValue
        opset = model.onnx?.opset
        operators = model.onnx?.operatorTypes ?? []
        inputs = model.model.inputs
        outputs = model.model.outputs
        layers = catalog == nil ? nil : model.onnx?.layers ?? []
        featureNames = model.metadata.featureNames
        classNames = model.metadata.classNames
        // A text model lists the methods that take text instances.
        methods = catalog.map { catalog in
            catalog.explainers.filter { explainer in
                let descriptor = explainer.descriptor
                guard model.text != nil else { return descriptor.requirement.isMet(by: model.model) }
                return TextExplanation.strategies[descriptor.name] != nil
                    && (descriptor.requirement == .text || descriptor.requirement.isMet(by: model.model))
            }
            .map(\.descriptor.name)
        }
        let background = catalog == nil ? nil : model.dataset.background
        example = background.flatMap { ExampleInstance(background: $0, inputs: model.model.inputs) }
        featureRanges = background.flatMap { Self.featureRanges(of: $0, inputs: model.model.inputs) }
        imageInputs = catalog == nil || model.imageInputs.isEmpty ? nil : model.imageInputs
        text =
            catalog == nil
            ? nil
            : model.text.map { TextDescription(tokenizer: $0.file, embeddingLayer: $0.embeddingLayer, maxTokens: $0.fixedLength) }
    }

    /// [min, max] of each column of a single input's [rows, features] background, skipping
    /// missing (NaN) values; nil for any other model.
    static func featureRanges(of background: [Tensor], inputs: [TensorInfo]) -> [[Float?]]? {
        guard inputs.count == 1, background.count == 1, background[0].rank == 2, background[0].shape[0] > 0 else { return nil }
        let (rows, width) = (background[0].shape[0], background[0].shape[1])
        let scalars = background[0].scalars
        return (0..<width).map { feature in
            let column = (0..<rows).map { scalars[$0 * width + feature] }.filter(\.isFinite)
            return [column.min(), column.max()]
        }
    }

    enum CodingKeys: String, CodingKey {
        case name, ready, sha256, kind, description, producer, opset, operators, inputs, outputs, layers, methods
        case featureNames = "feature_names"
        case classNames = "class_names"
        case featureRanges = "feature_ranges"
        case imageInputs = "image_inputs"
        case example, text
    }

    /// One background instance: nested arrays for a single-input model, or an object with one
    /// by input name; a missing (NaN) value is `null`, as a tree ensemble's request writes it.
    struct ExampleInstance: Encodable {
        let instances: [(name: String, tensor: Tensor)]

        /// The first row of each input's background; nil without a row.
        init?(background: [Tensor], inputs: [TensorInfo]) {
            var instances: [(name: String, tensor: Tensor)] = []
            guard background.count == inputs.count else { return nil }
            for (input, rows) in zip(inputs, background) {
                guard (rows.shape.first ?? 0) > 0, let first = try? rows.rows(0..<1).reshaped(to: Array(rows.shape.dropFirst()))
                else { return nil }
                instances.append((input.name, first))
            }
            self.instances = instances
        }

        func encode(to encoder: any Encoder) throws {
            if instances.count == 1 {
                try Self.encode(instances[0].tensor, to: encoder)
                return
            }
            var container = encoder.container(keyedBy: DynamicKey.self)
            for (name, tensor) in instances {
                try Self.encode(tensor, to: container.superEncoder(forKey: DynamicKey(name)))
            }
        }

        private static func encode(_ tensor: Tensor, to encoder: any Encoder) throws {
            guard tensor.rank > 0 else {
                var container = encoder.singleValueContainer()
                let value = tensor.scalars.first ?? 0
                if value.isFinite { try container.encode(value) } else { try container.encodeNil() }
                return
            }
            var container = encoder.unkeyedContainer()
            try encodeLevel(tensor, axis: 0, offset: 0, into: &container)
        }

        private static func encodeLevel(
            _ tensor: Tensor, axis: Int, offset: Int, into container: inout any UnkeyedEncodingContainer
        ) throws {
            let extent = tensor.shape[axis]
            if axis == tensor.rank - 1 {
                for index in 0..<extent {
                    let value = tensor.scalars[offset + index]
                    if value.isFinite { try container.encode(value) } else { try container.encodeNil() }
                }
                return
            }
            let stride = tensor.shape[(axis + 1)...].reduce(1, *)
            for index in 0..<extent {
                var nested = container.nestedUnkeyedContainer()
                try encodeLevel(tensor, axis: axis + 1, offset: offset + index * stride, into: &nested)
            }
        }
    }
}
