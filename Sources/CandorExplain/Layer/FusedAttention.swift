import CandorModel
import CandorTensor

/// What attention rollout and attention flow start from (Abnar & Zuidema, "Quantifying
/// Attention Flow in Transformers", ACL 2020): every layer's attention probabilities for each
/// instance, the heads fused (their mean, or max or min), the identity added for the residual
/// connection and each row renormalised, Â = (A + I) / rowsum(A + I).
struct FusedAttention {
    enum HeadFusion: String, CaseIterable {
        case mean, max, min
    }

    /// The parameters both methods take.
    static let parameters = [
        ParameterSpec.choice("head_fusion", [HeadFusion.mean, .max, .min], default: .mean, summary: "how a layer's heads are fused"),
        ParameterSpec(
            "token", .integer, default: 0, minimum: 0, maximum: 1_000_000,
            summary: "the position of the query token whose attention is followed (0: [CLS])"),
    ]

    /// Â of each layer (first layer first) for each instance, row-major n × n.
    let layers: [[[Double]]]
    /// The sequence length n.
    let length: Int

    /// The layers named by the model's `attentionProbabilities`, read in one pass.
    static func read(
        _ model: any DifferentiableModel, layers names: [String], problem: ResolvedProblem, fusion: HeadFusion, context: ExplanationContext
    ) throws(ExplanationError) -> FusedAttention {
        let result = try TargetGradients.compute(
            model: model, inputs: problem.problem.inputs, output: problem.problem.output, targets: problem.targets,
            pass: BackwardPass(layers: names, needsInputGradients: false), context: context)
        var layers: [[[Double]]] = []
        var length = 0
        for probabilities in result.layerValues {
            guard probabilities.rank == 4, probabilities.shape[2] == probabilities.shape[3],
                length == 0 || probabilities.shape[2] == length
            else {
                throw ExplanationError(
                    .modelFailure, "attention probabilities of shape \(probabilities.shape) are not [batch, heads, n, n] for one n")
            }
            let (batch, heads) = (probabilities.shape[0], probabilities.shape[1])
            length = probabilities.shape[2]
            layers.append(
                (0..<batch).map { fused(probabilities.scalars, row: $0, heads: heads, length: length, fusion: fusion) })
        }
        return FusedAttention(layers: layers, length: length)
    }

    /// One instance's layer, heads fused, with the identity added and rows renormalised.
    private static func fused(_ scalars: [Float], row: Int, heads: Int, length: Int, fusion: HeadFusion) -> [Double] {
        let plane = length * length
        var layer = [Double](repeating: 0, count: plane)
        for head in 0..<heads {
            let offset = (row * heads + head) * plane
            for index in 0..<plane {
                let value = Double(scalars[offset + index])
                switch fusion {
                case .mean: layer[index] += value / Double(heads)
                case .max: layer[index] = head == 0 ? value : Swift.max(layer[index], value)
                case .min: layer[index] = head == 0 ? value : Swift.min(layer[index], value)
                }
            }
        }
        for query in 0..<length {
            layer[query * length + query] += 1
            let sum = layer[(query * length)..<((query + 1) * length)].reduce(0, +)
            if sum > 0 { for key in 0..<length { layer[query * length + key] /= sum } }
        }
        return layer
    }

    /// What rollout and flow prepare alike: the model, its attention layers, the head fusion
    /// and the query token, read from the request.
    struct Query: Sendable {
        let model: any DifferentiableModel
        let layers: [String]
        let fusion: HeadFusion
        let token: Int

        init(_ reader: inout ParameterReader, model: any DifferentiableModel, method: String) throws(ExplanationError) {
            layers = model.attentionProbabilities
            guard !layers.isEmpty else {
                throw ExplanationError(
                    .methodNotApplicable,
                    "\(method) needs a transformer: this model has no softmax over [batch, heads, queries, keys] attention scores")
            }
            self.model = model
            fusion = try reader.choice("head_fusion", as: HeadFusion.self)
            token = try reader.int("token")
        }

        /// The batch's fused attention, the query token checked against its length.
        func read(_ problem: ResolvedProblem, context: ExplanationContext) throws(ExplanationError) -> FusedAttention {
            let attention = try FusedAttention.read(model, layers: layers, problem: problem, fusion: fusion, context: context)
            guard token < attention.length else {
                throw ExplanationError(
                    .invalidParameter, "parameter 'token' is \(token), but the sequences have \(attention.length) tokens")
            }
            return attention
        }
    }

    /// One instance's attributions as the tensor of the answer.
    static func attribution(_ values: [Double]) throws(ExplanationError) -> InstanceAttribution {
        do { return InstanceAttribution(attributions: [try Tensor(shape: [values.count], scalars: values.map(Float.init))]) } catch {
            throw ExplanationError(.modelFailure, "\(error)")
        }
    }
}
