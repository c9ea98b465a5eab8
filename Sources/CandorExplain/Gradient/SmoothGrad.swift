import CandorModel
import CandorTensor

/// SmoothGrad and its variants: a gradient method averaged over copies of each instance with
/// N(0, σ²) noise added to every element (σ absolute, as in Captum). `smoothgrad` returns
/// the mean attribution, `smoothgrad_sq` the mean square, `vargrad` the variance
/// (population: E[a²] − E[a]²). Smilkov et al., "SmoothGrad", 2017; Adebayo et al., 2018
/// (VarGrad); Captum `NoiseTunnel`. The noise comes from a seeded stream per instance, so
/// equal requests give equal answers. With two or more copies each result carries the standard
/// error of its statistic, estimated from the copies (``Plan/standardErrors(of:shapedAs:)``).
public struct SmoothGrad: Explainer {
    /// The gradient methods a noise tunnel can wrap, by API name.
    enum BaseMethod: String, CaseIterable, Sendable {
        case saliency
        case inputXGradient = "input_x_gradient"
        case integratedGradients = "integrated_gradients"
        case guidedBackprop = "guided_backprop"
        case deconvolution

        var explainer: any Explainer {
            switch self {
            case .saliency: Saliency()
            case .inputXGradient: InputXGradient()
            case .integratedGradients: IntegratedGradients()
            case .guidedBackprop: GuidedBackprop()
            case .deconvolution: Deconvolution()
            }
        }
    }

    /// What is reported of the copies' attributions a: the mean E[a] (`smoothgrad`), the mean
    /// square E[a²] (`smoothgrad_sq`) or the variance E[a²] − E[a]² (`vargrad`).
    enum Statistic: String, CaseIterable, Sendable {
        case smoothgrad
        case smoothgradSquared = "smoothgrad_sq"
        case vargrad
    }

    public let descriptor = MethodDescriptor(
        name: "smoothgrad", family: "gradient",
        summary:
            "a gradient method averaged over noisy copies of the input (SmoothGrad, SmoothGrad², VarGrad); returns attributions_stderr",
        reference: "Captum NoiseTunnel", requirement: .differentiable,
        checkedAgainst:
            "Captum 0.9 `NoiseTunnel` (all three `nt_type`s, 4,000 samples) on the four CNN fixtures, within the Monte-Carlo error; without noise, its base method",
        details: """
            A gradient method's mean (`smoothgrad`), mean square (`smoothgrad_sq`) or variance
            (`vargrad`) over noisy copies x + N(0, σ²) of each instance. The noise comes from Candor's
            own seeded generator, not torch's, so the numbers equal Captum's only in expectation: the
            test draws 500 samples and allows five combined standard errors of the two estimates.

            With `nt_samples` ≥ 2 each explanation carries `attributions_stderr`, the standard error of
            the returned statistic estimated from the copies' attributions a: s/√n of a (`smoothgrad`)
            or of a² (`smoothgrad_sq`), s the sample standard deviation over the n copies; for
            `vargrad`, ((n − 1)/n) · √((m₄ − m₂² (n − 3)/(n − 1)) / n), m_k = (1/n) Σ (a − ā)^k, the
            plug-in of the variance of a sample variance. The normal intervals ± 1.96 · SE assume
            enough copies: for Gaussian attributions `smoothgrad`'s cover about 88% at the default 5
            copies and 95% from a few dozen; the skewed `smoothgrad_sq` and `vargrad` estimates want
            more (`vargrad`'s cover about 85% at 25 copies, 92% at 100). One copy has no stderr.
            """,
        parameters: [
            ParameterSpec.choice("base_method", default: BaseMethod.saliency, summary: "the gradient method averaged"),
            ParameterSpec.choice("nt_type", default: Statistic.smoothgrad, summary: "mean, mean square or variance of the attributions"),
            ParameterSpec("nt_samples", .integer, default: 5, minimum: 1, maximum: 10_000, summary: "noisy copies per instance"),
            ParameterSpec("stdevs", .number, default: 1.0, minimum: 0, maximum: 1e6, summary: "standard deviation σ of the noise"),
            ParameterSpec.seed(of: "the noise"),
            ParameterSpec("abs", .boolean, summary: "saliency: |∂f/∂x| (its default: true)"),
            ParameterSpec("baselines", .baselines, summary: "integrated_gradients: the reference input (its default: 0)"),
            ParameterSpec(
                "n_steps", .integer, minimum: 1, maximum: 10_000, summary: "integrated_gradients: points on the path (its default: 50)"),
            ParameterSpec(
                "integration", .choice(IntegrationScheme.allCases.map(\.rawValue)),
                summary: "integrated_gradients: quadrature rule (its default: gausslegendre)"),
        ])

    public init() {}

    public func prepare(_ parameters: [String: JSONValue], for problem: ExplanationProblem) throws(ExplanationError) -> any ExplanationPlan
    {
        var reader = try ParameterReader(parameters, specs: descriptor.parameters, method: descriptor.name)
        let baseMethod = try reader.choice("base_method", as: BaseMethod.self)
        let base = baseMethod.explainer
        let kind = try reader.choice("nt_type", as: Statistic.self)
        let noise = try InputNoise(&reader, samplesParameter: "nt_samples", problem: problem, method: descriptor.name)
        // The base method's own parameters: those it declares that the request gives.
        let own = Set(base.descriptor.parameters.map(\.name))
        var baseParameters: [String: JSONValue] = [:]
        for name in ["abs", "baselines", "n_steps", "integration"] where reader.isGiven(name) {
            guard own.contains(name) else {
                throw ExplanationError(.invalidParameter, "parameter '\(name)' does not apply to base_method \(baseMethod.rawValue)")
            }
            baseParameters[name] = reader.json(name)
        }
        // Validated now, on a problem shaped like the noisy batch's instances.
        let basePlan = try base.prepare(baseParameters, for: problem)
        for (name, value) in basePlan.effectiveParameters { reader.record(name, value) }
        return Plan(
            base: base, baseParameters: baseParameters, kind: kind, noise: noise,
            effectiveParameters: reader.effective)
    }

    struct Plan: ExplanationPlan {
        let base: any Explainer
        let baseParameters: [String: JSONValue]
        let kind: Statistic
        let noise: InputNoise
        let effectiveParameters: [String: JSONValue]

        func run(_ problem: ResolvedProblem, context: ExplanationContext) throws(ExplanationError) -> [InstanceAttribution] {
            let batch = problem.problem.batchSize
            let (samples, sigma, seed) = (noise.samples, noise.sigma, noise.seed)
            var results: [InstanceAttribution] = []
            for row in 0..<batch {
                try context.checkCancellation()
                // Instance `row`'s S copies, each input's noise from the instance's own stream.
                var noisy: [Tensor] = []
                for (inputIndex, input) in problem.problem.inputs.enumerated() {
                    let size = input.count / max(batch, 1)
                    var random = SeededRandom(seed: seed, stream: row * max(problem.problem.inputs.count, 1) + inputIndex)
                    var scalars = [Float](repeating: 0, count: size * samples)
                    for sample in 0..<samples {
                        for index in 0..<size {
                            scalars[sample * size + index] = input.scalars[row * size + index] + sigma * Float(random.standardNormal())
                        }
                    }
                    do { noisy.append(try Tensor(shape: [samples] + input.shape.dropFirst(), scalars: scalars)) } catch {
                        throw ExplanationError(.invalidInput, "the noisy copies are too large: \(error)")
                    }
                }
                let copiesProblem = ExplanationProblem(
                    model: problem.problem.model, inputs: noisy, output: problem.problem.output,
                    targets: [Int](repeating: problem.targets[row], count: samples), dataset: problem.problem.dataset)
                let explanations = try ExplanationRunner.run(
                    try base.prepare(baseParameters, for: copiesProblem), problem: copiesProblem, context: context)
                let copies = explanations.map(\.attribution.attributions)
                let attributions = copies[0].indices.map { inputIndex in
                    var first = Tensor(zerosLike: copies[0][inputIndex])
                    var second = first
                    for copy in copies {
                        for (index, value) in copy[inputIndex].scalars.enumerated() {
                            first.scalars[index] += value / Float(samples)
                            second.scalars[index] += value * value / Float(samples)
                        }
                    }
                    switch kind {
                    case .smoothgrad: return first
                    case .smoothgradSquared: return second
                    case .vargrad:
                        for index in second.scalars.indices { second.scalars[index] -= first.scalars[index] * first.scalars[index] }
                        return second
                    }
                }
                results.append(
                    InstanceAttribution(attributions: attributions, standardErrors: standardErrors(of: copies, shapedAs: attributions)))
            }
            return results
        }

        /// The standard error of each reported statistic over the copies (nil for a single
        /// copy): s/√n of the attributions a for `smoothgrad`, of a² for `smoothgrad_sq`, and
        /// for `vargrad` that of a population variance (``SampleMoments/standardErrorOfVariance``).
        func standardErrors(of copies: [[Tensor]], shapedAs attributions: [Tensor]) -> [Tensor]? {
            var errors: [Tensor] = []
            for (inputIndex, attribution) in attributions.enumerated() {
                var moments = SampleMoments(elements: attribution.count, fourthMoments: kind == .vargrad)
                for copy in copies {
                    let values = copy[inputIndex].scalars.map(Double.init)
                    moments.add(kind == .smoothgradSquared ? values.map { $0 * $0 } : values)
                }
                let scalars = kind == .vargrad ? moments.standardErrorOfVariance : moments.standardErrorOfMean
                guard let scalars else { return nil }
                var error = attribution
                error.scalars = scalars
                errors.append(error)
            }
            return errors
        }
    }
}
