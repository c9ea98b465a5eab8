import CandorModel
import CandorTensor

/// Layer-wise relevance propagation: the target output's value redistributed layer by layer
/// down to the input under `LRPRule`, as Captum's `LRP` computes it (relevance at the input,
/// already weighted by the input; the weight layers take `rule`, pooling and batch norm ε).
/// Bach et al., PLoS ONE 2015. `convergence_delta` is Σ attributions − f(x): the relevance the
/// biases and ε absorbed (Captum reports its negation).
public struct LayerwiseRelevance: Explainer {
    public let descriptor = MethodDescriptor(
        name: "lrp", family: "gradient",
        summary:
            "layer-wise relevance propagation of the target output to the input (ε, γ, α1β0 or z⁺ rule on weight layers); returns convergence_delta",
        reference: "Captum LRP", requirement: .differentiable,
        checkedAgainst:
            "Captum 0.9 `LRP` (ε, γ and α1β0 rules, deltas included) on the batch-norm, hand-built and residual CNNs; exact conservation without biases (ε, z⁺)",
        details: """
            Layer-wise relevance propagation (Bach et al., 2015) of the target's value: R_a = a ⊙
            J′ᵀ(R_z/(z′ + ε·sign₀ z′)) at the weight layers (rule `epsilon`; `gamma`: W + γW⁺;
            `alpha1_beta0`: W⁺, as Captum's α1β0; `z_plus`: W⁺a⁺ + W⁻a⁻ without bias), ε at pooling,
            batch norm and additions (Captum's `Addition_Module`), relevance passed through ReLU, Tanh
            and Dropout. A graph with an operator LRP has no treatment for on the way to the explained
            output (LayerNormalization, a lone Sigmoid, …) is refused, naming it; so the sigmoid LeNet
            fixture, which Captum refuses too, has no LRP golden. `convergence_delta` = Σ attributions −
            f(x), the relevance the biases and ε absorbed (Captum reports its negation). `z_plus` has no
            Captum counterpart and is checked by conservation alone.

            Where Candor departs from Captum: SiLU (`Mul(x, Sigmoid(x))` as exporters write it) passes
            relevance through as ReLU does, which conserves it; Captum refuses `nn.SiLU`. The exporter
            zoo's residual CNNs are explained instead of refused.
            """,
        parameters: [
            ParameterSpec.choice(
                "rule", default: WeightRuleName.epsilon,
                summary: "the rule of the weight layers (Conv, Gemm, MatMul); pooling and batch norm take epsilon"),
            ParameterSpec(
                "epsilon", .number, default: 1e-9, minimum: 0, maximum: 1e3, summary: "the stabiliser added to each z, with z's sign"),
            ParameterSpec("gamma", .number, default: 0.25, minimum: 0, maximum: 1e3, summary: "gamma rule: weights W + γ·W⁺"),
        ])

    /// The weight-layer rules by API name. α1β0 is the one α-β rule offered, as in Captum
    /// (`Alpha1_Beta0_Rule`): other α, β would need each sign's bias share, which Captum's
    /// rule, the reference here, does not define.
    enum WeightRuleName: String, CaseIterable, Sendable {
        case epsilon
        case gamma
        case alphaOneBetaZero = "alpha1_beta0"
        case zPlus = "z_plus"
    }

    public init() {}

    public func prepare(_ parameters: [String: JSONValue], for problem: ExplanationProblem) throws(ExplanationError) -> any ExplanationPlan
    {
        var reader = try ParameterReader(parameters, specs: descriptor.parameters, method: descriptor.name)
        let model = try differentiable(problem.model)
        let epsilon = Float(try reader.double("epsilon"))
        let gamma = Float(try reader.double("gamma"))
        let rule: LRPRule.WeightRule =
            switch try reader.choice("rule", as: WeightRuleName.self) {
            case .epsilon: .epsilon
            case .gamma: .gamma(gamma)
            case .alphaOneBetaZero: .alphaOneBetaZero
            case .zPlus: .zPlus
            }
        let refusals = model.lrpRefusals(feeding: problem.output)
        guard refusals.isEmpty else {
            throw ExplanationError(
                .methodNotApplicable,
                "lrp has no rule for \(Self.describe(refusals)) on the way to output '\(model.outputs[problem.output].name)'")
        }
        return Plan(model: model, rule: LRPRule(rule, epsilon: epsilon), effectiveParameters: reader.effective)
    }

    /// The refused operators by type, each with its first node, how many more there are, and
    /// the operator's reason: "Sigmoid (node 'gate': …), LayerNormalization (nodes 'ln1' and
    /// 11 more: …)".
    static func describe(_ refusals: [LRPRefusal]) -> String {
        let groups = Dictionary(grouping: refusals) { $0.node.operatorType }
        return groups.keys.sorted().map { type in
            let nodes = groups[type] ?? []
            let first = nodes.first.map { "'\($0.node.name)'" } ?? ""
            let which = nodes.count == 1 ? "node \(first)" : "nodes \(first) and \(nodes.count - 1) more"
            let reasons = Set(nodes.map(\.reason)).sorted().joined(separator: "; ")
            return "\(type) (\(which): \(reasons))"
        }.joined(separator: ", ")
    }

    struct Plan: FirstPassPlan {
        let model: any DifferentiableModel
        let rule: LRPRule
        let effectiveParameters: [String: JSONValue]

        func attribute(
            _ problem: ExplanationProblem, resolved: ResolvedProblem?, context: ExplanationContext
        ) throws(ExplanationError) -> (ResolvedProblem, [InstanceAttribution]) {
            let (resolved, result) = try TargetGradients.atInstances(
                problem, resolved: resolved, model: model, pass: BackwardPass(rule: rule), context: context)
            let perInput = result.inputGradients.map { $0.unstacked() }
            return (
                resolved,
                (0..<problem.batchSize).map { row in
                    // The pass starts from a relevance of 1 at the target; scaling by f(x) makes it f(x).
                    let value = resolved.targetOutput(row)
                    let attributions = perInput.map { $0[row].map { $0 * value } }
                    let total = attributions.reduce(0.0) { $0 + $1.scalars.reduce(0.0) { $0 + Double($1) } }
                    return InstanceAttribution(attributions: attributions, extras: ["convergence_delta": .number(total - Double(value))])
                }
            )
        }
    }
}
