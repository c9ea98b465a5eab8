import CandorTensor

/// The operators Candor implements, by ONNX `op_type` in the default domain, and how each is
/// built from a node's attributes.
enum OperatorRegistry {
    typealias Factory = @Sendable (inout NodeAttributes, OperatorContext, TensorDecoder) throws(ModelError) -> any Operator

    static let factories: [String: Factory] = [
        "Add": { _, _, _ in ElementwiseBinary(kind: .add) },
        "Sub": { _, _, _ in ElementwiseBinary(kind: .sub) },
        "Mul": { _, _, _ in ElementwiseBinary(kind: .mul) },
        "Div": { _, _, _ in ElementwiseBinary(kind: .div) },
        "Relu": { _, _, _ in ElementwiseActivation(kind: .relu) },
        "LeakyRelu": { attributes, _, _ throws(ModelError) in
            ElementwiseActivation(kind: .leakyRelu(alpha: try attributes.float("alpha", default: 0.01)))
        },
        "Sigmoid": { _, _, _ in ElementwiseActivation(kind: .sigmoid) },
        "Tanh": { _, _, _ in ElementwiseActivation(kind: .tanh) },
        "Softmax": { attributes, context, _ throws(ModelError) in
            try SoftmaxOperator(isLogarithmic: false, attributes: &attributes, context: context)
        },
        "LogSoftmax": { attributes, context, _ throws(ModelError) in
            try SoftmaxOperator(isLogarithmic: true, attributes: &attributes, context: context)
        },
        "MatMul": { _, _, _ in MatMulOperator() },
        "Gemm": { attributes, _, _ throws(ModelError) in try GemmOperator(attributes: &attributes) },
        "Identity": { _, _, _ in IdentityOperator() },
        "Flatten": { attributes, _, _ throws(ModelError) in try FlattenOperator(attributes: &attributes) },
        "Reshape": { attributes, context, _ throws(ModelError) in
            try ReshapeOperator(attributes: &attributes, context: context)
        },
        "Cast": { attributes, context, _ throws(ModelError) in try CastOperator(attributes: &attributes, context: context) },
        "Constant": { attributes, context, decoder throws(ModelError) in
            try ConstantOperator(attributes: &attributes, context: context, decode: decoder.decode)
        },
    ]

    /// Every supported operator type, sorted, for error messages and `/v1/models/{name}`.
    static let supportedOperators: [String] = factories.keys.sorted()
}
