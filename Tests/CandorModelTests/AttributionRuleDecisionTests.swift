import CandorTensor
import CandorTestSupport
import Foundation
import Testing

@testable import CandorModel

/// Every operator decides how DeepLIFT and LRP treat it (``Operator/attributionRules``), and
/// the rules and LRP's refusal of a model follow those decisions and nothing else.
///
/// How this suite fails when a decision is removed: `attributionRules` is a requirement of
/// `Operator` with no default, so deleting an operator type's declaration stops CandorModel,
/// and with it this suite, from compiling; the switches over an operator's kinds (activation,
/// binary operation, pooling, reduction) have no `default:`, so deleting a kind's decision
/// does too. `everyRegisteredOperatorHasADecision` builds every operator the registry can
/// build — failing, by name, for one it cannot, so a new operator is never skipped — and
/// requires each refusal to give its reason and each pass-through to hand relevance to the
/// data input; `keyOperatorsDecideAsCaptum` pins the decisions Captum's `DeepLift` and `LRP` make for
/// the operators that have rules of their own, so a decision replaced by a catch-all for one
/// of them fails there.
@Suite struct AttributionRuleDecisionTests {
    typealias Attribute = Onnx_AttributeProto

    /// Attributes without which a factory refuses to build its operator (the rest build from
    /// none at all).
    static let requiredAttributes: [String: [Attribute]] = [
        "AveragePool": [GraphFactory.intsAttribute("kernel_shape", [2, 2])],
        "Cast": [GraphFactory.intAttribute("to", 1)],
        "Constant": [constantValue()],
        "GroupNormalization": [GraphFactory.intAttribute("num_groups", 1)],
        "LinearClassifier": [
            floats("coefficients", [1, -1]), GraphFactory.intsAttribute("classlabels_ints", [0, 1]),
        ],
        "LinearRegressor": [floats("coefficients", [1, -1])],
        "MaxPool": [GraphFactory.intsAttribute("kernel_shape", [2, 2])],
        "Normalizer": [GraphFactory.stringAttribute("norm", "L2")],
        "Scaler": [floats("scale", [2]), floats("offset", [1])],
    ]

    static func floats(_ name: String, _ values: [Float]) -> Attribute {
        var attribute = Attribute()
        attribute.name = name
        attribute.type = .floats
        attribute.floats = values
        return attribute
    }

    static func constantValue() -> Attribute {
        var attribute = Attribute()
        attribute.name = "value"
        attribute.type = .tensor
        attribute.t = GraphFactory.initializer("value", Tensor(scalar: 1))
        return attribute
    }

    /// The operator the registry builds for `opType` (of `domain`) from the required
    /// attributes alone, at the newest opset Candor reads.
    static func build(_ opType: String, domain: String = "") throws -> any Operator {
        let factories = try #require(OperatorRegistry.factories(forDomain: domain), "domain '\(domain)'")
        let factory = try #require(factories[opType], "\(opType) is not registered")
        let node = NodeIdentity(name: "node", operatorType: opType)
        var attributes = try NodeAttributes(requiredAttributes[opType] ?? [], node: node)
        let context = OperatorContext(node: node, opset: 21, constantInputs: [], consumedOutputs: [true])
        return try factory(&attributes, context, TensorDecoder(externalData: ExternalDataResolver(.none)))
    }

    /// Every registered operator, default domain and `ai.onnx.ml`, by `op_type`.
    static func registered() -> [(domain: String, opType: String)] {
        OperatorRegistry.factories.keys.sorted().map { ("", $0) }
            + OperatorRegistry.machineLearningFactories.keys.sorted().map { ("ai.onnx.ml", $0) }
    }

    @Test func everyRegisteredOperatorHasADecision() throws {
        var checked = 0
        for (domain, opType) in Self.registered() {
            let op: any Operator
            do { op = try Self.build(opType, domain: domain) } catch {
                Issue.record("\(opType): cannot build it to read its decision (add its required attributes above): \(error)")
                continue
            }
            let rules = op.attributionRules
            switch rules.lrp {
            case .refused(let reason):
                #expect(reason.count > 20, "\(opType)'s LRP refusal gives no reason")
            case .passThrough(let operand):
                #expect(operand == 0, "\(opType) passes relevance to input \(operand)")
            case .weightLayer, .epsilon, .addition, .gradient: break
            }
            if case .maxPool(let pool) = rules.deepLift {
                #expect(pool.kind == .max, "\(opType) takes the max-pooling rule")
            }
            checked += 1
        }
        #expect(checked == OperatorRegistry.factories.count + OperatorRegistry.machineLearningFactories.count)
        #expect(checked >= 75)
    }

    /// The decisions Captum makes for the operators with rules of their own: its `DeepLift`
    /// rescales the nonlinearities it hooks and has rules for max pooling and softmax; its
    /// `LRP` has rules for `nn.Linear`/`nn.Conv2d`, pooling, batch norm and addition, passes
    /// relevance through ReLU, Tanh and Dropout, raises for any other layer, and leaves
    /// tensor functions (reshapes, slices, subtraction) on their gradient.
    @Test func keyOperatorsDecideAsCaptum() throws {
        let expected: [(opType: String, deepLift: String, lrp: String)] = [
            ("Conv", "gradient", "weightLayer"), ("Gemm", "gradient", "weightLayer"), ("MatMul", "gradient", "weightLayer"),
            ("Relu", "rescale", "passThrough(0)"), ("Tanh", "rescale", "passThrough(0)"), ("Dropout", "gradient", "passThrough(0)"),
            ("Sigmoid", "rescale", "refused"), ("LeakyRelu", "rescale", "refused"), ("Elu", "rescale", "refused"),
            ("Softplus", "rescale", "refused"),
            ("MaxPool", "maxPool", "epsilon"), ("AveragePool", "gradient", "epsilon"), ("GlobalAveragePool", "gradient", "epsilon"),
            ("ReduceMean", "gradient", "epsilon"), ("BatchNormalization", "gradient", "epsilon"),
            ("Softmax", "softmax", "refused"), ("LogSoftmax", "softmax", "refused"),
            ("Add", "gradient", "addition"), ("Sub", "gradient", "gradient"), ("Mul", "gradient", "refused"),
            ("Div", "gradient", "refused"),
            ("Reshape", "gradient", "gradient"), ("Flatten", "gradient", "gradient"), ("Transpose", "gradient", "gradient"),
            ("Concat", "gradient", "gradient"), ("Slice", "gradient", "gradient"), ("Gather", "gradient", "gradient"),
            ("Gelu", "gradient", "refused"), ("LayerNormalization", "gradient", "refused"), ("Resize", "gradient", "refused"),
            ("ConvTranspose", "gradient", "refused"), ("GlobalMaxPool", "gradient", "refused"), ("ReduceSum", "gradient", "refused"),
            ("Sum", "gradient", "refused"),
        ]
        for (opType, deepLift, lrp) in expected {
            let rules = try Self.build(opType).attributionRules
            #expect(rules.deepLift.label == deepLift, "\(opType): DeepLIFT")
            #expect(rules.lrp.label == lrp, "\(opType): LRP")
        }
    }

    /// The `Mul` of a SiLU pair is one nonlinearity of x: rescaled by DeepLIFT, passed through
    /// by LRP, to x only.
    @Test(arguments: [0, 1])
    func theSiLUPairIsOneNonlinearityOfX(_ sigmoidOperand: Int) {
        let rules = SiLUProduct(sigmoidOperand: sigmoidOperand).attributionRules
        guard case .siluRescale(let input, let sigmoid) = rules.deepLift else {
            Issue.record("DeepLIFT does not rescale SiLU: \(rules.deepLift)")
            return
        }
        #expect(input == 1 - sigmoidOperand && sigmoid == sigmoidOperand)
        guard case .passThrough(let operand) = rules.lrp else {
            Issue.record("LRP does not pass relevance through SiLU: \(rules.lrp)")
            return
        }
        #expect(operand == 1 - sigmoidOperand)
    }

    /// x → MatMul → Sigmoid → MatMul → y, and beside it a SiLU pair feeding a second output.
    static func sigmoidNetwork() throws -> ONNXModel {
        let weights = GraphFactory.initializer("W", try Tensor(shape: [2, 2], scalars: [1, -1, 0.5, 2]))
        return try ONNXModelLoader.load(
            try GraphFactory.model(
                nodes: [
                    GraphFactory.node("MatMul", ["x", "W"], ["h"], name: "hidden"),
                    GraphFactory.node("Sigmoid", ["h"], ["gate"], name: "gate"),
                    GraphFactory.node("MatMul", ["gate", "W"], ["y"], name: "readout"),
                    GraphFactory.node("Sigmoid", ["x"], ["s"], name: "silu_sigmoid"),
                    GraphFactory.node("Mul", ["x", "s"], ["silu"], name: "silu"),
                    GraphFactory.node("MatMul", ["silu", "W"], ["z"], name: "silu_readout"),
                ],
                inputs: [GraphFactory.value("x", [nil, 2])],
                outputs: [GraphFactory.value("y", [nil, 2]), GraphFactory.value("z", [nil, 2])],
                initializers: [weights]))
    }

    /// LRP's refusal names the Sigmoid on the way to the output, with its reason; the SiLU
    /// pair's Sigmoid, which gets no relevance, is not refused on the way to the other output.
    @Test func lrpRefusalNamesTheSigmoid() throws {
        let model = try Self.sigmoidNetwork()
        let refusals = model.lrpRefusals(feeding: 0)
        #expect(refusals.map(\.node) == [NodeIdentity(name: "gate", operatorType: "Sigmoid")])
        #expect(refusals.first?.reason.contains("Sigmoid") == true)
        #expect(model.lrpRefusals(feeding: 1).isEmpty)
        #expect(model.lrpRefusals(feeding: 2).isEmpty)
    }
}

extension DeepLiftTreatment {
    /// The decision without its payload, to compare.
    var label: String {
        switch self {
        case .rescale: "rescale"
        case .siluRescale: "siluRescale"
        case .maxPool: "maxPool"
        case .softmax: "softmax"
        case .gradient: "gradient"
        }
    }
}

extension LRPTreatment {
    /// The decision without a refusal's reason, to compare.
    var label: String {
        switch self {
        case .weightLayer: "weightLayer"
        case .epsilon: "epsilon"
        case .addition: "addition"
        case .passThrough(let operand): "passThrough(\(operand))"
        case .gradient: "gradient"
        case .refused: "refused"
        }
    }
}
