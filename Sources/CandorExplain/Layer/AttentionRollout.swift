import CandorModel
import CandorTensor

/// Attention rollout: how much of the attention the query token (the first, [CLS], by default)
/// pays, through every layer, reaches each input token. The layers' fused attention Â
/// (`FusedAttention`) are multiplied from the first layer up, R = Â_L ⋯ Â_1, and token j's
/// attribution is R[query, j]. Abnar & Zuidema, "Quantifying Attention Flow in Transformers",
/// ACL 2020 (the rollout of their `attention_flow` code). A row of R sums to 1.
public struct AttentionRollout: Explainer {
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
        parameters: FusedAttention.parameters)

    public init() {}

    public func prepare(_ parameters: [String: JSONValue], for problem: ExplanationProblem) throws(ExplanationError) -> any ExplanationPlan
    {
        var reader = try ParameterReader(parameters, specs: descriptor.parameters, method: descriptor.name)
        let query = try FusedAttention.Query(&reader, model: try differentiable(problem.model), method: descriptor.name)
        return Plan(query: query, effectiveParameters: reader.effective)
    }

    struct Plan: ExplanationPlan {
        let query: FusedAttention.Query
        let effectiveParameters: [String: JSONValue]

        func run(_ problem: ResolvedProblem, context: ExplanationContext) throws(ExplanationError) -> [InstanceAttribution] {
            let attention = try query.read(problem, context: context)
            let length = attention.length
            // R's query row is e_q · Â_L ⋯ Â_1: read from the last layer down, a row vector
            // times each layer, O(n²) per layer instead of a product of matrices.
            return try (0..<problem.problem.batchSize).map { row throws(ExplanationError) in
                var rollout = [Double](repeating: 0, count: length)
                rollout[query.token] = 1
                for layer in attention.layers.reversed() {
                    var next = [Double](repeating: 0, count: length)
                    for key in 0..<length where rollout[key] != 0 {
                        for column in 0..<length { next[column] += rollout[key] * layer[row][key * length + column] }
                    }
                    rollout = next
                }
                return try FusedAttention.attribution(rollout)
            }
        }
    }
}
