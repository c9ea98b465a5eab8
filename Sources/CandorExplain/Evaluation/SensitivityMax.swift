import CandorModel
import CandorTensor

/// `sensitivity_max`: how much the explanation moves when the input barely does — the largest
/// ‖φ(y) − φ(x)‖ / ‖φ(x)‖ (Frobenius norms over every input's elements; a zero ‖φ(x)‖ counts
/// as 1) over `n_perturb_samples` inputs y drawn uniformly from the L∞ ball of radius
/// `perturb_radius` around x (Yeh et al., "On the (In)fidelity and Sensitivity of
/// Explanations", NeurIPS 2019), as Captum's `sensitivity_max` computes it with its default
/// perturbation. The same method, parameters and target explain each y. Lower is more stable.
public struct SensitivityMax: QualityMetric {
    public let descriptor = MethodDescriptor(
        name: "sensitivity_max", family: "evaluation",
        summary: "largest relative change of the explanation over inputs in a small L∞ ball around the instance (lower is better)",
        reference: "Captum sensitivity_max (Yeh et al. 2019)", requirement: .any,
        checkedAgainst:
            "Captum 0.9 `sensitivity_max` of saliency and integrated gradients on the MLP golden, within its seed-to-seed spread",
        parameters: [
            ParameterSpec(
                "n_perturb_samples", .integer, default: 10, minimum: 1, maximum: 10_000, summary: "perturbed inputs per instance"),
            ParameterSpec(
                "perturb_radius", .number, default: 0.02, minimum: 0, maximum: 1e6,
                summary: "radius of the L∞ ball the perturbed inputs are drawn from"),
            ParameterSpec.seed(of: "the perturbed inputs"),
        ])

    public var reexplains: Bool { true }

    public init() {}

    public func prepare(_ parameters: [String: JSONValue], for problem: ExplanationProblem) throws(ExplanationError) -> any MetricPlan {
        var reader = try ParameterReader(parameters, specs: descriptor.parameters, method: descriptor.name)
        let samples = try reader.int("n_perturb_samples")
        try CopyBudget.check(problem, samples: samples, method: descriptor.name)
        return Plan(
            samples: samples, radius: Float(try reader.double("perturb_radius")), seed: try reader.seed(),
            effectiveParameters: reader.effective)
    }

    struct Plan: MetricPlan {
        let samples: Int
        let radius: Float
        let seed: UInt64
        let effectiveParameters: [String: JSONValue]

        func evaluate(_ subject: EvaluationSubject, context: ExplanationContext) throws(ExplanationError) -> [MetricValue] {
            let method = try subject.method(for: "sensitivity_max", explaining: "perturbed inputs")
            let problem = subject.problem.problem
            return try (0..<subject.attributions.count).map { row throws(ExplanationError) in
                var random = SeededRandom(seed: seed, stream: row)
                var perturbed: [Tensor] = []
                for input in problem.inputs {
                    let instance = input.rows(row..<(row + 1))
                    var scalars = [Float]()
                    scalars.reserveCapacity(instance.count * samples)
                    for _ in 0..<samples {
                        for value in instance.scalars { scalars.append(value + radius * Float(2 * random.uniform() - 1)) }
                    }
                    do { perturbed.append(try Tensor(shape: [samples] + instance.shape.dropFirst(), scalars: scalars)) } catch {
                        throw ExplanationError(.tooLarge, "sensitivity_max's perturbed inputs are too large: \(error)")
                    }
                }
                let target = subject.problem.targets[row]
                let copies = ExplanationProblem(
                    model: problem.model, inputs: perturbed, output: problem.output, targets: Array(repeating: target, count: samples),
                    dataset: problem.dataset)
                let explained = try method.attributions(for: copies, context: context)
                let original = subject.flatAttributions(row)
                let scale = Self.norm(original.map(Double.init))
                let largest = explained.reduce(0.0) { largest, attribution in
                    let moved = zip(attribution.flatMap(\.scalars), original).map { Double($0) - Double($1) }
                    return Swift.max(largest, Self.norm(moved) / (scale == 0 ? 1 : scale))
                }
                return MetricValue(largest)
            }
        }

        static func norm(_ values: [Double]) -> Double {
            values.reduce(0) { $0 + $1 * $1 }.squareRoot()
        }
    }
}
