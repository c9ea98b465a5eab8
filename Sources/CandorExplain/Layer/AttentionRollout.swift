import CandorModel
import CandorTensor

/// Attention rollout: how much of the attention the query token (the first, [CLS], by default)
/// pays, through every layer, reaches each input token. Per layer, the heads' attention
/// probabilities are fused (their mean, or max or min), the residual connection is added as the
/// identity and each row renormalised, Â = (A + I) / rowsum(A + I); the layers' Â are multiplied
/// from the first layer up, R = Â_L ⋯ Â_1, and token j's attribution is R[query, j]. Abnar &
/// Zuidema, "Quantifying Attention Flow in Transformers", ACL 2020 (the rollout of their
/// `attention_flow` code). A row of R sums to 1.
public struct AttentionRollout: Explainer {
    enum HeadFusion: String, CaseIterable {
        case mean, max, min
    }

    public let descriptor = MethodDescriptor(
        name: "attention_rollout", family: "attention",
        summary: "the attention the query token pays each token, rolled out through every layer with the residual added",
        reference: "Abnar & Zuidema 2020, attention rollout", requirement: .transformer,
        checkedAgainst:
            "the authors' rollout (their attention_flow code) on the demo text model's attention probabilities, per token, for each head fusion; rows summing to 1",
        details: """
            Every softmax over the last axis of a [batch, heads, queries, keys] tensor with as many queries
            as keys is taken as a layer's attention probabilities, in execution order. Per layer the heads
            are fused (`head_fusion`), the identity added for the residual connection and each row
            renormalised; the layers are multiplied from the first up, and the attribution of each token
            is the product's row of the query token (`token`, by default the first: [CLS]). The answer
            has one attribution per token, not per embedding dimension; padded tokens receive none.
            """,
        parameters: [
            ParameterSpec.choice("head_fusion", [HeadFusion.mean, .max, .min], default: .mean, summary: "how a layer's heads are fused"),
            ParameterSpec(
                "token", .integer, default: 0, minimum: 0, maximum: 1_000_000,
                summary: "the position of the query token whose rolled-out attention is read (0: [CLS])"),
        ])

    public init() {}

    public func prepare(_ parameters: [String: JSONValue], for problem: ExplanationProblem) throws(ExplanationError) -> any ExplanationPlan
    {
        var reader = try ParameterReader(parameters, specs: descriptor.parameters, method: descriptor.name)
        let model = try differentiable(problem.model)
        let layers = model.attentionProbabilities
        guard !layers.isEmpty else {
            throw ExplanationError(
                .methodNotApplicable,
                "attention_rollout needs a transformer: this model has no softmax over [batch, heads, queries, keys] attention scores")
        }
        let fusion = try reader.choice("head_fusion", as: HeadFusion.self)
        let token = try reader.int("token")
        return Plan(model: model, layers: layers, fusion: fusion, token: token, effectiveParameters: reader.effective)
    }

    struct Plan: ExplanationPlan {
        let model: any DifferentiableModel
        let layers: [String]
        let fusion: HeadFusion
        let token: Int
        let effectiveParameters: [String: JSONValue]

        func run(_ problem: ResolvedProblem, context: ExplanationContext) throws(ExplanationError) -> [InstanceAttribution] {
            let result = try TargetGradients.compute(
                model: model, inputs: problem.problem.inputs, output: problem.problem.output, targets: problem.targets,
                pass: BackwardPass(layers: layers, needsInputGradients: false), context: context)
            // R's query row is e_q · Â_L ⋯ Â_1: read from the last layer down, a row vector
            // times each layer, O(n²) per layer instead of a product of matrices.
            var fusedLayers: [[[Double]]] = []
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
                fusedLayers.append((0..<batch).map { fused(probabilities.scalars, row: $0, heads: heads, length: length) })
            }
            guard token < length else {
                throw ExplanationError(.invalidParameter, "parameter 'token' is \(token), but the sequences have \(length) tokens")
            }
            return try (0..<problem.problem.batchSize).map { row throws(ExplanationError) in
                var rollout = [Double](repeating: 0, count: length)
                rollout[token] = 1
                for layer in fusedLayers.reversed() {
                    var next = [Double](repeating: 0, count: length)
                    for key in 0..<length where rollout[key] != 0 {
                        for column in 0..<length { next[column] += rollout[key] * layer[row][key * length + column] }
                    }
                    rollout = next
                }
                do { return InstanceAttribution(attributions: [try Tensor(shape: [length], scalars: rollout.map(Float.init))]) } catch {
                    throw ExplanationError(.modelFailure, "\(error)")
                }
            }
        }

        /// One instance's layer, heads fused, with the identity added and rows renormalised.
        private func fused(_ scalars: [Float], row: Int, heads: Int, length: Int) -> [Double] {
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
    }
}
