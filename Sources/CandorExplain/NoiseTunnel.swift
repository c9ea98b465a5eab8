import CandorModel
import CandorTensor

/// SmoothGrad and its variants: a gradient method averaged over copies of each instance with
/// N(0, σ²) noise added to every element (σ absolute, as in Captum). `smoothgrad` returns
/// the mean attribution, `smoothgrad_sq` the mean square, `vargrad` the variance
/// (population: E[a²] − E[a]²). Smilkov et al., "SmoothGrad", 2017; Adebayo et al., 2018
/// (VarGrad); Captum `NoiseTunnel`. The noise comes from a seeded stream per instance, so
/// equal requests give equal answers.
public struct SmoothGrad: Explainer {
    /// The gradient methods a noise tunnel can wrap.
    static let baseMethods: [any Explainer] = [Saliency(), InputXGradient(), IntegratedGradients(), GuidedBackprop(), Deconvolution()]
    /// The most noisy copies of one request (instances × samples).
    public static let maximumCopies = 100_000
    /// The most elements one instance's copies may hold together (samples × its elements):
    /// each instance's copies are built and explained in turn, so this bounds the memory.
    public static let maximumCopyElements = 1 << 26

    /// Refuses `samples` copies per instance beyond the two limits above.
    static func checkCopies(_ problem: ExplanationProblem, samples: Int, method: String) throws(ExplanationError) {
        let copies = problem.batchSize.multipliedReportingOverflow(by: samples)
        guard !copies.overflow, copies.partialValue <= maximumCopies else {
            throw ExplanationError(
                .invalidParameter,
                "\(method) makes \(problem.batchSize) × \(samples) copies, more than \(maximumCopies): send fewer instances or samples")
        }
        let elements = problem.inputs.reduce(0) { $0 + $1.count / max(problem.batchSize, 1) }.multipliedReportingOverflow(by: samples)
        guard !elements.overflow, elements.partialValue <= maximumCopyElements else {
            throw ExplanationError(
                .tooLarge,
                "\(method)'s \(samples) copies of one instance would hold more than \(maximumCopyElements) numbers: ask for fewer samples")
        }
    }

    public let descriptor = MethodDescriptor(
        name: "smoothgrad", family: "gradient",
        summary: "a gradient method averaged over noisy copies of the input (SmoothGrad, SmoothGrad², VarGrad)",
        reference: "Captum NoiseTunnel", requirement: .differentiable,
        parameters: [
            ParameterSpec(
                "base_method", .choice(Self.baseMethods.map(\.descriptor.name)), default: "saliency",
                summary: "the gradient method averaged"),
            ParameterSpec(
                "nt_type", .choice(["smoothgrad", "smoothgrad_sq", "vargrad"]), default: "smoothgrad",
                summary: "mean, mean square or variance of the attributions"),
            ParameterSpec("nt_samples", .integer, default: 5, minimum: 1, maximum: 10_000, summary: "noisy copies per instance"),
            ParameterSpec("stdevs", .number, default: 1.0, minimum: 0, maximum: 1e6, summary: "standard deviation σ of the noise"),
            ParameterSpec("seed", .integer, default: 0, minimum: 0, maximum: 4_294_967_295, summary: "seed of the noise"),
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
        let baseName = try reader.choice("base_method")
        guard let base = Self.baseMethods.first(where: { $0.descriptor.name == baseName }) else {
            throw ExplanationError(.invalidParameter, "unknown base_method '\(baseName)'")
        }
        let kind = try reader.choice("nt_type")
        let samples = try reader.int("nt_samples")
        let sigma = try reader.double("stdevs")
        let seed = UInt64(try reader.int("seed"))
        try Self.checkCopies(problem, samples: samples, method: descriptor.name)
        // The base method's own parameters: those it declares that the request gives.
        let own = Set(base.descriptor.parameters.map(\.name))
        var baseParameters: [String: JSONValue] = [:]
        for name in ["abs", "baselines", "n_steps", "integration"] where reader.isGiven(name) {
            guard own.contains(name) else {
                throw ExplanationError(.invalidParameter, "parameter '\(name)' does not apply to base_method \(baseName)")
            }
            baseParameters[name] = reader.json(name)
        }
        // Validated now, on a problem shaped like the noisy batch's instances.
        let basePlan = try base.prepare(baseParameters, for: problem)
        for (name, value) in basePlan.effectiveParameters { reader.record(name, value) }
        return Plan(
            base: base, baseParameters: baseParameters, kind: kind, samples: samples, sigma: Float(sigma), seed: seed,
            effectiveParameters: reader.effective)
    }

    struct Plan: ExplanationPlan {
        let base: any Explainer
        let baseParameters: [String: JSONValue]
        let kind: String
        let samples: Int
        let sigma: Float
        let seed: UInt64
        let effectiveParameters: [String: JSONValue]

        func run(_ problem: ResolvedProblem, context: ExplanationContext) throws(ExplanationError) -> [InstanceAttribution] {
            let batch = problem.problem.batchSize
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
                    case "smoothgrad_sq": return second
                    case "vargrad":
                        for index in second.scalars.indices { second.scalars[index] -= first.scalars[index] * first.scalars[index] }
                        return second
                    default: return first
                    }
                }
                results.append(InstanceAttribution(attributions: attributions))
            }
            return results
        }
    }
}

/// GradientSHAP (expected gradients): per sample, a baseline drawn from the distribution, the
/// input with N(0, σ²) noise x̃, and a point p = αx̃ + (1 − α)b̃ with α ~ U(0, 1); the mean over
/// samples of (x̃ − b̃) ⊙ ∇f(p). Lundberg & Lee, 2017; Erion et al., 2019; Captum
/// `GradientShap`. The draws come from a seeded stream per instance.
public struct GradientShap: Explainer {
    public let descriptor = MethodDescriptor(
        name: "gradient_shap", family: "gradient",
        summary: "expected gradients: (x̃ − b) ⊙ ∇f at a random point between a random baseline b and the noisy input x̃, averaged",
        reference: "Captum GradientShap", requirement: .differentiable,
        parameters: [
            ParameterSpec(
                "baselines", .instances,
                summary: "the baseline distribution: an array of instances (omitted: the model's sidecar background)"),
            ParameterSpec("n_samples", .integer, default: 5, minimum: 1, maximum: 10_000, summary: "samples per instance"),
            ParameterSpec("stdevs", .number, default: 0.0, minimum: 0, maximum: 1e6, summary: "standard deviation σ of the input noise"),
            ParameterSpec("seed", .integer, default: 0, minimum: 0, maximum: 4_294_967_295, summary: "seed of the draws"),
        ])

    public init() {}

    public func prepare(_ parameters: [String: JSONValue], for problem: ExplanationProblem) throws(ExplanationError) -> any ExplanationPlan
    {
        var reader = try ParameterReader(parameters, specs: descriptor.parameters, method: descriptor.name)
        let model = try differentiable(problem.model)
        let distribution = try BaselineDistribution.resolve(&reader, problem: problem, method: descriptor.name)
        let samples = try reader.int("n_samples")
        try SmoothGrad.checkCopies(problem, samples: samples, method: descriptor.name)
        return Plan(
            model: model, distribution: distribution, samples: samples, sigma: Float(try reader.double("stdevs")),
            seed: UInt64(try reader.int("seed")), effectiveParameters: reader.effective)
    }

    struct Plan: ExplanationPlan {
        let model: any DifferentiableModel
        let distribution: BaselineDistribution
        let samples: Int
        let sigma: Float
        let seed: UInt64
        let effectiveParameters: [String: JSONValue]

        func run(_ problem: ResolvedProblem, context: ExplanationContext) throws(ExplanationError) -> [InstanceAttribution] {
            let batch = problem.problem.batchSize
            let inputs = problem.problem.inputs
            var results: [InstanceAttribution] = []
            for row in 0..<batch {
                try context.checkCancellation()
                // Instance `row`'s samples, drawn from its own stream: the baseline index, then
                // every input's noise, then α.
                var random = SeededRandom(seed: seed, stream: row)
                var points = inputs.map { [Float](repeating: 0, count: $0.count / max(batch, 1) * samples) }
                var differences = points
                for sample in 0..<samples {
                    let reference = random.integer(below: distribution.count)
                    var noisy: [[Float]] = []
                    for input in inputs {
                        let size = input.count / max(batch, 1)
                        noisy.append((0..<size).map { input.scalars[row * size + $0] + sigma * Float(random.standardNormal()) })
                    }
                    let alpha = Float(random.uniform())
                    for inputIndex in inputs.indices {
                        let size = noisy[inputIndex].count
                        let baseline = distribution.rows[inputIndex].scalars[(reference * size)..<((reference + 1) * size)]
                        for index in 0..<size {
                            let x = noisy[inputIndex][index]
                            let b = baseline[baseline.startIndex + index]
                            points[inputIndex][sample * size + index] = alpha * x + (1 - alpha) * b
                            differences[inputIndex][sample * size + index] = x - b
                        }
                    }
                }
                let pointTensors: [Tensor]
                do {
                    pointTensors = try zip(inputs, points).map { input, scalars throws(TensorError) in
                        try Tensor(shape: [samples] + input.shape.dropFirst(), scalars: scalars)
                    }
                } catch {
                    throw ExplanationError(.invalidInput, "the samples are too large: \(error)")
                }
                let gradients = try TargetGradients.compute(
                    model: model, inputs: pointTensors, output: problem.problem.output,
                    targets: [Int](repeating: problem.targets[row], count: samples), context: context
                ).gradients
                let attributions = inputs.indices.map { inputIndex in
                    let size = inputs[inputIndex].count / max(batch, 1)
                    var mean = [Float](repeating: 0, count: size)
                    for sample in 0..<samples {
                        for index in 0..<size {
                            mean[index] +=
                                differences[inputIndex][sample * size + index] * gradients[inputIndex].scalars[sample * size + index]
                                / Float(samples)
                        }
                    }
                    return problem.problem.instanceTensor(mean, input: inputIndex)
                }
                results.append(InstanceAttribution(attributions: attributions))
            }
            return results
        }
    }
}
