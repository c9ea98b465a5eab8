import CandorModel
import CandorTensor

/// GradientSHAP (expected gradients): per sample, a baseline drawn from the distribution, the
/// input with N(0, σ²) noise x̃, and a point p = αx̃ + (1 − α)b̃ with α ~ U(0, 1); the mean over
/// samples of (x̃ − b̃) ⊙ ∇f(p). Lundberg & Lee, 2017; Erion et al., 2019; Captum
/// `GradientShap`. The draws come from a seeded stream per instance. With two or more samples
/// each result carries the standard error of the mean, s/√n over the samples' terms.
public struct GradientShap: Explainer {
    public let descriptor = MethodDescriptor(
        name: "gradient_shap", family: "gradient",
        summary:
            "expected gradients: (x̃ − b) ⊙ ∇f at a random point between a random baseline b and the noisy input x̃, averaged; returns attributions_stderr",
        reference: "Captum GradientShap", requirement: .differentiable,
        checkedAgainst:
            "Captum 0.9 `GradientShap` (4,000 samples) on the four CNN fixtures, within the Monte-Carlo error; with one baseline, converges to integrated gradients",
        details: """
            Expected gradients: (x̃ − b) ⊙ ∇f(αx̃ + (1 − α)b) averaged over random baselines b (the
            `baselines` rows, or the sidecar's background), noisy copies x̃ of the instance and α uniform
            in [0, 1]. The draws are Candor's own, so the numbers are compared with Captum's within the
            Monte-Carlo error, as for `smoothgrad`. With `n_samples` ≥ 2, `attributions_stderr` is the
            standard error of that mean, s/√n_samples, s the sample standard deviation of the
            samples' (x̃ − b) ⊙ ∇f; one sample has no stderr.
            """,
        parameters: [
            ParameterSpec(
                "baselines", .instances,
                summary: "the baseline distribution: an array of instances (omitted: the model's sidecar background)"),
            ParameterSpec("n_samples", .integer, default: 5, minimum: 1, maximum: 10_000, summary: "samples per instance"),
            ParameterSpec("stdevs", .number, default: 0.0, minimum: 0, maximum: 1e6, summary: "standard deviation σ of the input noise"),
            ParameterSpec.seed(of: "the draws"),
        ])

    public init() {}

    public func prepare(_ parameters: [String: JSONValue], for problem: ExplanationProblem) throws(ExplanationError) -> any ExplanationPlan
    {
        var reader = try ParameterReader(parameters, specs: descriptor.parameters, method: descriptor.name)
        let model = try differentiable(problem.model)
        let distribution = try BaselineDistribution.resolve(&reader, problem: problem, method: descriptor.name)
        let noise = try InputNoise(&reader, samplesParameter: "n_samples", problem: problem, method: descriptor.name)
        return Plan(model: model, distribution: distribution, noise: noise, effectiveParameters: reader.effective)
    }

    struct Plan: ExplanationPlan {
        let model: any DifferentiableModel
        let distribution: BaselineDistribution
        let noise: InputNoise
        let effectiveParameters: [String: JSONValue]

        func run(_ problem: ResolvedProblem, context: ExplanationContext) throws(ExplanationError) -> [InstanceAttribution] {
            let batch = problem.problem.batchSize
            let inputs = problem.problem.inputs
            let (samples, sigma, seed) = (noise.samples, noise.sigma, noise.seed)
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
                var attributions: [Tensor] = []
                var standardErrors: [Tensor]? = []
                for inputIndex in inputs.indices {
                    let size = inputs[inputIndex].count / max(batch, 1)
                    var mean = [Float](repeating: 0, count: size)
                    // The samples' spread, for the standard error of their mean.
                    var moments = SampleMoments(elements: size)
                    var contributions = [Double](repeating: 0, count: size)
                    for sample in 0..<samples {
                        for index in 0..<size {
                            let contribution =
                                differences[inputIndex][sample * size + index] * gradients[inputIndex].scalars[sample * size + index]
                            mean[index] += contribution / Float(samples)
                            contributions[index] = Double(contribution)
                        }
                        moments.add(contributions)
                    }
                    attributions.append(try problem.problem.instanceTensor(mean, input: inputIndex))
                    if let errors = moments.standardErrorOfMean {
                        standardErrors?.append(try problem.problem.instanceTensor(errors, input: inputIndex))
                    } else {
                        standardErrors = nil
                    }
                }
                results.append(InstanceAttribution(attributions: attributions, standardErrors: standardErrors))
            }
            return results
        }
    }
}
