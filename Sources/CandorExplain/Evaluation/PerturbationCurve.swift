import CandorModel
import CandorTensor

/// `deletion` and `insertion`: how the explained output moves as features leave or enter the
/// input in the order the attributions rank them (Petsiuk et al., "RISE", BMVC 2018; Samek et
/// al., "Evaluating the visualization of what a deep neural network has learned", 2017, for
/// the MoRF / LeRF orders).
///
/// Features — or the groups of a `feature_mask`, such as `slic` superpixels, scored by the sum
/// of their elements' attributions — are ranked by decreasing attribution (`morf`) or
/// increasing (`lerf`), ties by index. Over n = min(`n_steps`, groups) equal steps, after step k
/// the first ⌊k·G/n⌋ ranked groups are replaced by the baseline (`deletion`, starting from the
/// input) or are the only ones not replaced (`insertion`, starting from the all-baseline
/// input). The curve is the explained output at the n + 1 points; the value is its trapezoid
/// area over [0, 1]. A faithful explanation gives a low deletion and a high insertion area
/// under `morf`.
public struct PerturbationCurveMetric: QualityMetric {
    public enum Direction: String, Sendable {
        case deletion
        case insertion
    }

    /// Which end of the ranking goes first.
    enum Order: String, CaseIterable, Sendable {
        /// Most relevant first.
        case morf
        /// Least relevant first.
        case lerf
    }

    let direction: Direction
    public let descriptor: MethodDescriptor

    public init(_ direction: Direction) {
        self.direction = direction
        let verb = direction == .deletion ? "removed from the input" : "revealed on the baseline"
        descriptor = MethodDescriptor(
            name: direction.rawValue, family: "evaluation",
            summary: "area under the explained output as features are \(verb) in attribution order (with the curve)",
            reference: "exact recomputation (Petsiuk et al. 2018; Samek et al. 2017)", requirement: .any,
            checkedAgainst:
                "curves and areas recomputed with onnxruntime on the MLP and CNN goldens (elements and 3×3 blocks, MoRF and LeRF); closed form on a linear model",
            parameters: [
                ParameterSpec(
                    "n_steps", .integer, default: 20, minimum: 1, maximum: 10_000,
                    summary: "points of the curve after the first (fewer when there are fewer features)"),
                ParameterSpec.choice("order", default: Order.morf, summary: "morf: most relevant first; lerf: least relevant first"),
                ParameterSpec.baselines("the values a removed (or not yet revealed) feature takes"),
                ParameterSpec.featureMask("groups of elements ranked and replaced together (default: every element alone)"),
                ParameterSpec.perturbationsPerEval(of: "curve points"),
            ])
    }

    public func prepare(_ parameters: [String: JSONValue], for problem: ExplanationProblem) throws(ExplanationError) -> any MetricPlan {
        var reader = try ParameterReader(parameters, specs: descriptor.parameters, method: descriptor.name)
        let steps = try reader.int("n_steps")
        let order = try reader.choice("order", as: Order.self)
        let baselines = try Baselines.resolve(reader.json("baselines"), for: problem)
        let groups = try FeatureGroups(featureMask: reader.json("feature_mask"), problem: problem)
        let perPass = try reader.optionalInt("perturbations_per_eval")
        return Plan(
            direction: direction, steps: steps, order: order, baselines: baselines, groups: groups, perPass: perPass,
            effectiveParameters: reader.effective)
    }

    struct Plan: MetricPlan {
        let direction: Direction
        let steps: Int
        let order: Order
        let baselines: [Tensor]
        let groups: FeatureGroups
        let perPass: Int?
        let effectiveParameters: [String: JSONValue]

        func evaluate(_ subject: EvaluationSubject, context: ExplanationContext) throws(ExplanationError) -> [MetricValue] {
            let groupCount = groups.groups.count
            let points = Swift.min(steps, groupCount)
            guard points > 0 else { return subject.attributions.map { _ in MetricValue(0) } }
            return try (0..<subject.attributions.count).map { row throws(ExplanationError) in
                let ranking = rank(subject.attributions[row].map(\.scalars))
                let instance = subject.problem.row(row)
                let evaluation = PerturbedEvaluation(
                    model: instance.problem.model, problem: instance, baselines: baselines.map { $0.rows(row..<(row + 1)) }, groups: groups)
                let curve = try evaluation.targetOutputs(count: points + 1, perPass: perPass, context: context) { step in
                    let moved = step * groupCount / points
                    return Array(direction == .deletion ? ranking[..<moved] : ranking[moved...])
                }
                var area = 0.0
                for step in 0..<points { area += (Double(curve[step]) + Double(curve[step + 1])) / Double(2 * points) }
                return MetricValue(area, details: ["curve": .array(curve.map(JSONValue.float))])
            }
        }

        /// The groups by their summed attribution, in the order they are moved; ties keep
        /// the groups' own order.
        func rank(_ attributions: [[Float]]) -> [Int] {
            let scores = groups.groups.map { elements in
                elements.reduce(0.0) { $0 + Double(attributions[$1.input][$1.index]) }
            }
            return scores.indices.sorted { a, b in
                if scores[a] != scores[b] { return order == .morf ? scores[a] > scores[b] : scores[a] < scores[b] }
                return a < b
            }
        }
    }
}
