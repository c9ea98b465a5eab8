import CandorTensor

/// The operators Candor implements, by ONNX `op_type` in the default domain, and how each is
/// built from a node's attributes.
enum OperatorRegistry {
    typealias Factory = @Sendable (inout NodeAttributes, OperatorContext, TensorDecoder) throws(ModelError) -> any Operator

    /// An element-wise operator with NumPy broadcasting, which before opset 7 took the
    /// `broadcast` attributes (see ``NodeAttributes/legacyBroadcast(opset:)``).
    static func broadcasting(_ make: @escaping @Sendable () -> any Operator) -> Factory {
        { attributes, context, _ throws(ModelError) in
            try attributes.legacyBroadcast(opset: context.opset)
            return make()
        }
    }

    static let factories: [String: Factory] = [
        "Add": broadcasting { ElementwiseBinary(kind: .add) },
        "Sub": broadcasting { ElementwiseBinary(kind: .sub) },
        "Mul": broadcasting { ElementwiseBinary(kind: .mul) },
        "Div": broadcasting { ElementwiseBinary(kind: .div) },
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
        "Conv": { attributes, context, _ throws(ModelError) in try ConvOperator(attributes: &attributes, context: context) },
        "ConvTranspose": { attributes, context, _ throws(ModelError) in
            try ConvTransposeOperator(attributes: &attributes, context: context)
        },
        "MaxPool": { attributes, context, _ throws(ModelError) in try PoolOperator(kind: .max, attributes: &attributes, context: context) },
        "AveragePool": { attributes, context, _ throws(ModelError) in
            try PoolOperator(kind: .average(countIncludePad: false), attributes: &attributes, context: context)
        },
        "GlobalAveragePool": { _, _, _ in GlobalPoolOperator(isMaximum: false) },
        "GlobalMaxPool": { _, _, _ in GlobalPoolOperator(isMaximum: true) },
        "BatchNormalization": { attributes, context, _ throws(ModelError) in
            try BatchNormalizationOperator(attributes: &attributes, context: context)
        },
        "LayerNormalization": { attributes, context, _ throws(ModelError) in
            try NormalizationOperator("LayerNormalization", attributes: &attributes, context: context)
        },
        "InstanceNormalization": { attributes, context, _ throws(ModelError) in
            try NormalizationOperator("InstanceNormalization", attributes: &attributes, context: context)
        },
        "GroupNormalization": { attributes, context, _ throws(ModelError) in
            try NormalizationOperator("GroupNormalization", attributes: &attributes, context: context)
        },
        "Dropout": { attributes, context, _ throws(ModelError) in try DropoutOperator(attributes: &attributes, context: context) },
        "Concat": { attributes, _, _ throws(ModelError) in try ConcatOperator(attributes: &attributes) },
        "Split": { attributes, context, _ throws(ModelError) in try SplitOperator(attributes: &attributes, context: context) },
        "Expand": { _, _, _ in ExpandOperator() },
        "Sum": { _, _, _ in VariadicElementwise(kind: .sum) },
        "Mean": { _, _, _ in VariadicElementwise(kind: .mean) },
        "Max": { _, _, _ in VariadicElementwise(kind: .max) },
        "Min": { _, _, _ in VariadicElementwise(kind: .min) },
        "Resize": { attributes, context, _ throws(ModelError) in try ResizeOperator(attributes: &attributes, context: context) },
        "Where": { _, _, _ in WhereOperator() },
        "Mod": { attributes, _, _ throws(ModelError) in try ModOperator(attributes: &attributes) },
        "ConstantOfShape": { attributes, context, decoder throws(ModelError) in
            try ConstantOfShapeOperator(attributes: &attributes, context: context, decode: decoder.decode)
        },
        "Equal": broadcasting { ComparisonOperator(kind: .equal) },
        "Less": broadcasting { ComparisonOperator(kind: .less) },
        "LessOrEqual": { _, _, _ in ComparisonOperator(kind: .lessOrEqual) },
        "Greater": broadcasting { ComparisonOperator(kind: .greater) },
        "GreaterOrEqual": { _, _, _ in ComparisonOperator(kind: .greaterOrEqual) },
        "Transpose": { attributes, _, _ throws(ModelError) in try TransposeOperator(attributes: &attributes) },
        "Squeeze": { attributes, context, _ throws(ModelError) in
            try SqueezeOperator(inserts: false, attributes: &attributes, context: context)
        },
        "Unsqueeze": { attributes, context, _ throws(ModelError) in
            try SqueezeOperator(inserts: true, attributes: &attributes, context: context)
        },
        "Pad": { attributes, context, _ throws(ModelError) in try PadOperator(attributes: &attributes, context: context) },
        "Shape": { attributes, _, _ throws(ModelError) in try ShapeOperator(attributes: &attributes) },
        "Gather": { attributes, _, _ throws(ModelError) in try GatherOperator(attributes: &attributes) },
        "Slice": { attributes, context, _ throws(ModelError) in try SliceOperator(attributes: &attributes, context: context) },
        "ReduceMean": { attributes, context, _ throws(ModelError) in
            try ReduceOperator(kind: .mean, attributes: &attributes, context: context)
        },
        "ReduceSum": { attributes, context, _ throws(ModelError) in
            try ReduceOperator(kind: .sum, attributes: &attributes, context: context)
        },
        "ReduceMax": { attributes, context, _ throws(ModelError) in
            try ReduceOperator(kind: .max, attributes: &attributes, context: context)
        },
        "ReduceMin": { attributes, context, _ throws(ModelError) in
            try ReduceOperator(kind: .min, attributes: &attributes, context: context)
        },
        "ReduceL2": { attributes, context, _ throws(ModelError) in try ReduceOperator(kind: .l2, attributes: &attributes, context: context)
        },
        "Clip": { attributes, context, _ throws(ModelError) in try ClipOperator(attributes: &attributes, context: context) },
        "Pow": broadcasting { PowOperator() },
        "Exp": { _, _, _ in ElementwiseActivation(kind: .exp) },
        "Log": { _, _, _ in ElementwiseActivation(kind: .log) },
        "Sqrt": { _, _, _ in ElementwiseActivation(kind: .sqrt) },
        "Erf": { _, _, _ in ElementwiseActivation(kind: .erf) },
        "Neg": { _, _, _ in ElementwiseActivation(kind: .neg) },
        "Abs": { _, _, _ in ElementwiseActivation(kind: .abs) },
        "Reciprocal": { _, _, _ in ElementwiseActivation(kind: .reciprocal) },
        "Sin": { _, _, _ in ElementwiseActivation(kind: .sin) },
        "Cos": { _, _, _ in ElementwiseActivation(kind: .cos) },
        "Softplus": { _, _, _ in ElementwiseActivation(kind: .softplus) },
        "Elu": { attributes, _, _ throws(ModelError) in ElementwiseActivation(kind: .elu(alpha: try attributes.float("alpha", default: 1)))
        },
        "Gelu": { attributes, context, _ throws(ModelError) in
            let approximate = try attributes.string("approximate") ?? "none"
            guard approximate == "none" || approximate == "tanh" else {
                throw ModelError(.unsupportedAttribute, "\(context.node): Gelu approximate '\(approximate)' is not none or tanh")
            }
            return ElementwiseActivation(kind: .gelu(tanhApproximation: approximate == "tanh"))
        },
        "HardSigmoid": { attributes, _, _ throws(ModelError) in
            ElementwiseActivation(
                kind: .hardSigmoid(alpha: try attributes.float("alpha", default: 0.2), beta: try attributes.float("beta", default: 0.5)))
        },
        "HardSwish": { _, _, _ in ElementwiseActivation(kind: .hardSwish) },
    ]

    /// The `ai.onnx.ml` operators, by `op_type`: scikit-learn's preprocessing and linear
    /// models as skl2onnx writes them. (Tree-ensemble graphs are read by
    /// `ONNXTreeEnsembleLoader`.)
    static let machineLearningFactories: [String: Factory] = [
        "Scaler": { attributes, context, _ throws(ModelError) in try ScalerOperator(attributes: &attributes, context: context) },
        "Normalizer": { attributes, context, _ throws(ModelError) in
            try NormalizerOperator(attributes: &attributes, context: context)
        },
        "LinearRegressor": { attributes, context, _ throws(ModelError) in
            try LinearPredictor(classifier: false, attributes: &attributes, context: context)
        },
        "LinearClassifier": { attributes, context, _ throws(ModelError) in
            try LinearPredictor(classifier: true, attributes: &attributes, context: context)
        },
        // ZipMap turns class scores into a sequence of maps; Candor keeps them a tensor.
        "ZipMap": { attributes, _, _ throws(ModelError) in
            _ = try attributes.ints("classlabels_int64s")
            _ = try attributes.strings("classlabels_strings")
            return IdentityOperator()
        },
    ]

    /// The factories of an operator domain ("" and "ai.onnx" are the default one), or nil for
    /// a domain Candor does not implement.
    static func factories(forDomain domain: String) -> [String: Factory]? {
        switch domain {
        case "", "ai.onnx": factories
        case "ai.onnx.ml": machineLearningFactories
        default: nil
        }
    }

    /// Every supported operator type, sorted, for error messages and `/v1/models/{name}`
    /// (`ai.onnx.ml` ones prefixed with their domain).
    static let supportedOperators: [String] =
        factories.keys.sorted() + machineLearningFactories.keys.sorted().map { "ai.onnx.ml.\($0)" }
}
