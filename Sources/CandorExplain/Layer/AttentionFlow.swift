import CandorModel
import CandorTensor

/// Attention flow: the layers' fused attention Â (`FusedAttention`) as a flow network — a node
/// per token per layer (the inputs at layer 0), an edge from token i of layer l to token j of
/// layer l − 1 with capacity Â_l[i, j] — and token j's attribution the maximum flow from the
/// query token at the last layer to input token j, normalised so the tokens' flows sum to 1.
/// Abnar & Zuidema, "Quantifying Attention Flow in Transformers", ACL 2020 (their
/// `attention_flow` code's `compute_flows`). Unlike rollout, a path's share is bounded by its
/// narrowest edge rather than the product of its edges.
public struct AttentionFlow: Explainer {
    /// The most (tokens³ × layers) one request may ask for: one maximum flow per token over a
    /// network of layers × tokens² edges (128 tokens through 12 layers fit).
    public static let maximumWork = 1 << 25

    public let descriptor = MethodDescriptor(
        name: "attention_flow", family: "attention",
        summary: "the maximum flow from the query token through every layer's attention (residual added) to each token",
        reference: "Abnar & Zuidema 2020, attention flow", requirement: .transformer,
        checkedAgainst:
            "the authors' compute_flows (networkx maximum flow over their layered graph) on the demo text model's attention probabilities, per token, for mean and max head fusion; flows summing to 1",
        details: """
            The attention layers and their fusion are attention_rollout's (heads fused by `head_fusion`,
            the identity added, rows renormalised). The layers become a flow network, a node per token per
            layer and an edge from each token of a layer to each token of the layer below with that
            layer's attention as capacity; each token's attribution is the maximum flow from the query
            token (`token`, by default [CLS]) at the top to the token at the bottom, and the flows are
            normalised to sum to 1. One maximum flow per token (Dinic's algorithm): tokens³ × layers is
            limited to 2^25 (128 tokens through 12 layers fit).
            """,
        parameters: FusedAttention.parameters)

    public init() {}

    public func prepare(_ parameters: [String: JSONValue], for problem: ExplanationProblem) throws(ExplanationError) -> any ExplanationPlan
    {
        var reader = try ParameterReader(parameters, specs: descriptor.parameters, method: descriptor.name)
        let query = try FusedAttention.Query(&reader, model: try differentiable(problem.model), method: descriptor.name)
        let layers = query.layers
        if let length = problem.inputs.first?.shape.last {
            let work = length.multipliedReportingOverflow(by: length * length * layers.count)
            guard !work.overflow, work.partialValue <= Self.maximumWork else {
                throw ExplanationError(
                    .tooLarge,
                    "attention_flow solves one maximum flow per token over \(layers.count) layers of \(length)² edges; \(length) tokens are too many (tokens³ × layers ≤ \(Self.maximumWork)): use attention_rollout, or shorter texts"
                )
            }
        }
        return Plan(query: query, effectiveParameters: reader.effective)
    }

    struct Plan: ExplanationPlan {
        let query: FusedAttention.Query
        let effectiveParameters: [String: JSONValue]

        func run(_ problem: ResolvedProblem, context: ExplanationContext) throws(ExplanationError) -> [InstanceAttribution] {
            let attention = try query.read(problem, context: context)
            let length = attention.length
            let depth = attention.layers.count
            return try (0..<problem.problem.batchSize).map { row throws(ExplanationError) in
                // Node (l, i) is l · n + i; layer l's edges lead down to layer l − 1.
                var network = FlowNetwork(nodes: (depth + 1) * length)
                for (index, layer) in attention.layers.enumerated() {
                    let (upper, lower) = ((index + 1) * length, index * length)
                    for from in 0..<length {
                        for to in 0..<length where layer[row][from * length + to] > 0 {
                            network.addEdge(from: upper + from, to: lower + to, capacity: layer[row][from * length + to])
                        }
                    }
                }
                var flows: [Double] = []
                for key in 0..<length {
                    try context.checkCancellation()
                    flows.append(network.maximumFlow(from: depth * length + query.token, to: key))
                }
                let total = flows.reduce(0, +)
                return try FusedAttention.attribution(total > 0 ? flows.map { $0 / total } : flows)
            }
        }
    }
}
