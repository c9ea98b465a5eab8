import CandorExplain
import CandorModel
import CandorTensor
import CandorTestSupport
import Foundation
import Testing

/// SiLU written as Mul(x, Sigmoid(x)), the way exporters write it, on a hand-built network
/// x [N, 3] → MatMul W → h → SiLU → MatMul V → y [N, 2]: DeepLIFT's rescale rule treats the
/// pair as one nonlinearity (Shrikumar et al., 2017), the plain gradient is untouched, and
/// LRP passes relevance through it as through ReLU.
@Suite struct SiLUPairTests {
    static let weights: [[Double]] = [[0, 1], [1, 0.5], [-1, 2]]
    static let readout: [[Double]] = [[1.5, -0.5], [-1, 0.75]]
    static let rows: [[Float]] = [[1, 2, 2], [-1, 0.5, 3]]

    /// The network, with the Mul's operands in either order; `sigmoidAlsoFeedsOutput` adds
    /// σ(h)·U to y, so the Sigmoid's output has a second reader.
    static func network(sigmoidFirst: Bool = false, sigmoidAlsoFeedsOutput: Bool = false) throws -> ONNXModel {
        func matrix(_ name: String, _ values: [[Double]]) throws -> Onnx_TensorProto {
            GraphFactory.initializer(
                name, try Tensor(shape: [values.count, values[0].count], scalars: values.flatMap { $0.map(Float.init) }))
        }
        var nodes = [
            GraphFactory.node("MatMul", ["x", "W"], ["h"], name: "hidden"),
            GraphFactory.node("Sigmoid", ["h"], ["gate"], name: "sigmoid"),
            GraphFactory.node("Mul", sigmoidFirst ? ["gate", "h"] : ["h", "gate"], ["silu"], name: "silu"),
        ]
        var initializers = [try matrix("W", weights), try matrix("V", readout)]
        if sigmoidAlsoFeedsOutput {
            nodes += [
                GraphFactory.node("MatMul", ["silu", "V"], ["main"], name: "readout"),
                GraphFactory.node("MatMul", ["gate", "U"], ["side"], name: "side"),
                GraphFactory.node("Add", ["main", "side"], ["y"], name: "sum"),
            ]
            initializers.append(try matrix("U", [[0.5, 1], [-2, 0.25]]))
        } else {
            nodes.append(GraphFactory.node("MatMul", ["silu", "V"], ["y"], name: "readout"))
        }
        return try ONNXModelLoader.load(
            try GraphFactory.model(
                nodes: nodes, inputs: [GraphFactory.value("x", [nil, 3])], outputs: [GraphFactory.value("y", [nil, 2])],
                initializers: initializers))
    }

    static func silu(_ x: Double) -> Double { x / (1 + exp(-x)) }
    static func siluDerivative(_ x: Double) -> Double {
        let s = 1 / (1 + exp(-x))
        return s * (1 + x * (1 - s))
    }

    static func hidden(_ row: [Float]) -> [Double] {
        (0..<2).map { k in (0..<3).reduce(0.0) { $0 + Double(row[$1]) * weights[$1][k] } }
    }

    /// Σ_k W[j,k]·gains[k]·V[k,t]: feature j's path to output t through hidden units whose
    /// SiLU passes back `gains`.
    static func path(_ j: Int, _ gains: [Double], target: Int) -> Double {
        var total = 0.0
        for k in gains.indices { total += weights[j][k] * gains[k] * readout[k][target] }
        return total
    }

    static func run(_ method: any Explainer, _ model: ONNXModel, target: Int, parameters: [String: JSONValue] = [:]) throws
        -> [InstanceExplanation]
    {
        let problem = ExplanationProblem(
            model: model, inputs: [try Tensor(shape: [rows.count, 3], scalars: rows.flatMap { $0 })], output: 0,
            targets: [target, target])
        return try ExplanationRunner.run(try method.prepare(parameters, for: problem), problem: problem, context: ExplanationContext())
    }

    /// Against a zero baseline, feature j gets x_j Σ_k W[j,k]·m_k·V[k,t] with the rescale
    /// multiplier m_k = (SiLU(h_k) − SiLU(0))/h_k — and SiLU′(0) = ½ where h_k = 0, as in the
    /// first row's first hidden unit.
    @Test(arguments: [false, true])
    func deepLiftIsTheClosedForm(_ sigmoidFirst: Bool) throws {
        let model = try Self.network(sigmoidFirst: sigmoidFirst)
        for target in 0..<2 {
            let explanations = try Self.run(DeepLift(), model, target: target, parameters: ["baselines": 0])
            for (row, explanation) in zip(Self.rows, explanations) {
                let h = Self.hidden(row)
                let multipliers = h.map { abs($0) < 1e-10 ? Self.siluDerivative($0) : (Self.silu($0) - Self.silu(0)) / $0 }
                let expected = (0..<3).map { j in Float(Double(row[j]) * Self.path(j, multipliers, target: target)) }
                #expect(isClose(explanation.attribution.attributions[0].scalars, expected, absolute: 1e-5))
                let delta = try #require(explanation.attribution.extras["convergence_delta"]?.doubleValue)
                #expect(abs(delta) < 1e-5)
            }
        }
    }

    /// The mark changes no value the model computes or differentiates: the gradient is
    /// Σ_k W[j,k]·SiLU′(h_k)·V[k,t].
    @Test func theGradientIsSiLUs() throws {
        let model = try Self.network()
        let explanations = try Self.run(Saliency(), model, target: 1, parameters: ["abs": false])
        for (row, explanation) in zip(Self.rows, explanations) {
            let h = Self.hidden(row)
            let expected = (0..<3).map { j in Float(Self.path(j, h.map(Self.siluDerivative), target: 1)) }
            #expect(isClose(explanation.attribution.attributions[0].scalars, expected, absolute: 1e-5))
        }
    }

    /// A Sigmoid whose output also feeds the output directly keeps its own rescale rule for
    /// that use, so DeepLIFT stays complete; LRP, which has no rule for a lone Sigmoid,
    /// refuses it by name.
    @Test func aSigmoidWithASecondReaderKeepsItsOwnRule() throws {
        let model = try Self.network(sigmoidAlsoFeedsOutput: true)
        for explanation in try Self.run(DeepLift(), model, target: 0, parameters: ["baselines": 0.5]) {
            #expect(abs(try #require(explanation.attribution.extras["convergence_delta"]?.doubleValue)) < 1e-5)
        }
        let error = try #require(throws: ExplanationError.self) { try Self.run(LayerwiseRelevance(), model, target: 0) }
        #expect(error.code == .methodNotApplicable)
        #expect(error.message.contains("Sigmoid"))
    }

    /// With no bias, LRP-ε conserves relevance: SiLU passes it through as ReLU does, so the
    /// attributions add up to f(x).
    @Test func lrpPassesRelevanceThroughSiLU() throws {
        let model = try Self.network()
        let explanations = try Self.run(LayerwiseRelevance(), model, target: 0)
        let outputs = try model.predict([try Tensor(shape: [Self.rows.count, 3], scalars: Self.rows.flatMap { $0 })])[0]
        for (row, explanation) in explanations.enumerated() {
            let total = explanation.attribution.attributions[0].scalars.reduce(0, +)
            #expect(abs(total - outputs.scalars[row * 2]) < 1e-4)
        }
    }
}
