import CandorExplain
import CandorModel

/// What `GET /v1/models/{name}` (and a successful upload) says of a model.
struct ModelDescription: Encodable {
    let name: String
    let sha256: String
    let kind = "onnx"
    let description: String?
    let producer: String
    let opset: Int
    let operators: [String]
    let inputs: [TensorInfo]
    let outputs: [TensorInfo]
    let layers: [TensorInfo]?
    let featureNames: [String]?
    let classNames: [String]?
    let methods: [String]?

    /// The full description, or (for the list) the summary without layers and methods.
    init(_ model: LoadedModel, catalog: MethodCatalog?) {
        name = model.name
        sha256 = model.sha256
        description = model.metadata.description
        producer = model.model.producer
        opset = model.model.opset
        operators = model.model.operatorTypes
        inputs = model.model.inputs
        outputs = model.model.outputs
        layers = catalog == nil ? nil : model.model.layers
        featureNames = model.metadata.featureNames
        classNames = model.metadata.classNames
        methods = catalog.map { catalog in
            catalog.explainers.filter { $0.descriptor.requirement == .any || model.model is any DifferentiableModel }
                .map(\.descriptor.name)
        }
    }

    enum CodingKeys: String, CodingKey {
        case name, sha256, kind, description, producer, opset, operators, inputs, outputs, layers, methods
        case featureNames = "feature_names"
        case classNames = "class_names"
    }
}
