import CandorModel
import CandorTensor

/// `infidelity`: E[(Iᵀφ − (f(x) − f(x − I)))²] over Gaussian perturbations I ~ N(0, σ²) per
/// element (Yeh et al., "On the (In)fidelity and Sensitivity of Explanations", NeurIPS 2019),
/// as Captum's `infidelity` computes it with that perturbation: with `normalize` (the default)
/// φ is first scaled by the β = E[Iᵀφ·Δf] / E[(Iᵀφ)²] that minimises the error, so only the
/// explanation's shape, not its scale, is judged. Lower is more faithful.
public struct Infidelity: QualityMetric {
    public let descriptor = MethodDescriptor(
        name: "infidelity", family: "evaluation",
        summary: "mean squared gap between Iᵀφ and the output's change f(x) − f(x − I) under Gaussian perturbations I (lower is better)",
        reference: "Captum infidelity (Yeh et al. 2019)", requirement: .any,
        checkedAgainst:
            "Captum 0.9 `infidelity` with the same Gaussian perturbation on the MLP and CNN integrated-gradients goldens, within its seed-to-seed spread",
        parameters: [
            ParameterSpec(
                "n_perturb_samples", .integer, default: 1000, minimum: 1, maximum: 100_000, summary: "perturbations per instance"),
            ParameterSpec(
                "noise_std", .number, default: 0.1, minimum: 0, maximum: 1e6,
                summary: "standard deviation σ of each element's perturbation"),
            ParameterSpec(
                "normalize", .boolean, default: true, summary: "scale the attributions by the β that minimises the error first"),
            ParameterSpec.seed(of: "the perturbations"),
        ])

    public init() {}

    public func prepare(_ parameters: [String: JSONValue], for problem: ExplanationProblem) throws(ExplanationError) -> any MetricPlan {
        var reader = try ParameterReader(parameters, specs: descriptor.parameters, method: descriptor.name)
        return Plan(
            samples: try reader.int("n_perturb_samples"), noise: Float(try reader.double("noise_std")),
            normalize: try reader.bool("normalize"), seed: try reader.seed(), effectiveParameters: reader.effective)
    }

    struct Plan: MetricPlan {
        let samples: Int
        let noise: Float
        let normalize: Bool
        let seed: UInt64
        let effectiveParameters: [String: JSONValue]

        func evaluate(_ subject: EvaluationSubject, context: ExplanationContext) throws(ExplanationError) -> [MetricValue] {
            let problem = subject.problem
            let inputCount = problem.problem.inputs.count
            return try (0..<subject.attributions.count).map { row throws(ExplanationError) in
                let instance = problem.problem.inputs.map { $0.rows(row..<(row + 1)).scalars }
                let attributions = subject.attributions[row].map(\.scalars)
                // Iᵀφ of each perturbation, summed as its elements are drawn.
                var projections = [Double](repeating: 0, count: samples)
                let perturbed = try SampleEvaluation(model: problem.problem.model, problem: problem, row: row).targetOutputs(
                    count: samples, context: context,
                    fill: .inOrder { sample, input, destination in
                        var random = SeededRandom(seed: seed, stream: (row * samples + sample) * inputCount + input)
                        var projection = 0.0
                        for index in destination.indices {
                            let perturbation = noise * Float(random.standardNormal())
                            destination[index] = instance[input][index] - perturbation
                            projection += Double(perturbation) * Double(attributions[input][index])
                        }
                        projections[sample] += projection
                    })
                let output = Double(problem.targetOutput(row))
                var (aa, ab, bb) = (0.0, 0.0, 0.0)
                for (a, fPerturbed) in zip(projections, perturbed) {
                    let b = output - fPerturbed
                    (aa, ab, bb) = (aa + a * a, ab + a * b, bb + b * b)
                }
                // Captum's safe division: a zero denominator counts as one.
                let beta = normalize ? ab / (aa == 0 ? 1 : aa) : 1
                return MetricValue((beta * beta * aa - 2 * beta * ab + bb) / Double(samples))
            }
        }
    }
}
