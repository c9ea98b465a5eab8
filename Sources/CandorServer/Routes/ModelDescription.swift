import CandorExplain
import CandorModel

/// What `GET /v1/models/{name}` (and a successful upload) says of a model.
struct ModelDescription: Encodable {
    let name: String
    let sha256: String
    /// The file format: `onnx`, `xgboost` or `lightgbm`.
    let kind: String
    let description: String?
    /// The producing tool (for XGBoost models, "xgboost"); the opset and operators of an ONNX graph.
    let producer: String
    let opset: Int?
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
        kind = model.format.rawValue
        producer = model.onnx?.producer ?? model.format.rawValue
        opset = model.onnx?.opset
        operators = model.onnx?.operatorTypes ?? []
        inputs = model.model.inputs
        outputs = model.model.outputs
        layers = catalog == nil ? nil : model.onnx?.layers ?? []
        featureNames = model.metadata.featureNames
        classNames = model.metadata.classNames
        methods = catalog.map { catalog in
            catalog.explainers.filter { $0.descriptor.requirement.isMet(by: model.model) }
                .map(\.descriptor.name)
        }
    }

    enum CodingKeys: String, CodingKey {
        case name, sha256, kind, description, producer, opset, operators, inputs, outputs, layers, methods
        case featureNames = "feature_names"
        case classNames = "class_names"
    }
}
