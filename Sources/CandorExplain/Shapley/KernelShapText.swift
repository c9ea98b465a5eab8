import CandorModel
import CandorTensor

extension KernelShap {
    /// KernelSHAP over the tokens of text instances, each token masked as SHAP's Text masker
    /// masks it (`TextSamples`, as partition_shap's): the value of a coalition is the target
    /// output for the text with every other token written as the mask token, `base_value` that
    /// of the text with all of them masked. The coalitions, weights and regression are the
    /// tabular method's — SHAP's `KernelExplainer` on the function from keep masks to outputs,
    /// with the all-masked text as its background — so with `n_samples` ≥ 2^tokens − 2 the
    /// values are the exact Shapley values of the tokens. The background, baselines and
    /// feature mask do not apply.
    public func prepareText(
        _ parameters: [String: JSONValue], texts: [any TextSamples], for problem: ExplanationProblem
    ) throws(ExplanationError) -> any ExplanationPlan {
        for name in ["background", "baselines", "feature_mask"] where parameters[name] != nil && parameters[name] != .null {
            throw ExplanationError(
                .invalidParameter,
                "parameter '\(name)' does not apply to text: kernel_shap masks the text's tokens, as SHAP's Text masker does")
        }
        var reader = try ParameterReader(parameters, specs: descriptor.parameters, method: descriptor.name)
        try TokenMasking.record(&reader)
        guard texts.count == problem.batchSize else {
            throw ExplanationError(.modelFailure, "\(texts.count) texts for \(problem.batchSize) instances")
        }
        let widest = texts.map(\.featureCount).max() ?? 0
        guard widest <= Self.maximumGroups else {
            throw ExplanationError(
                .tooLarge, "kernel_shap solves for one value per token: \(widest) tokens is more than \(Self.maximumGroups)")
        }
        let requested = try reader.optionalInt("n_samples") ?? (2 * widest + 2048)
        reader.record("n_samples", .number(Double(requested)))
        let samples = ShapleyKernelDesign.sampleCount(groups: widest, requested: requested)
        let evaluations = (samples + 2).multipliedReportingOverflow(by: problem.batchSize)
        guard samples * widest <= Self.maximumDesignEntries, !evaluations.overflow, evaluations.partialValue <= Self.maximumEvaluations
        else {
            throw ExplanationError(
                .invalidParameter,
                "kernel_shap would evaluate \(samples) masked texts of up to \(widest) tokens × \(problem.batchSize) texts, more than allowed per request: lower n_samples or send fewer texts"
            )
        }
        let sampling = try reader.choice("sampling", as: ShapleyKernelDesign.Sampling.self)
        let seed = try reader.seed()
        return TextPlan(effectiveParameters: reader.effective, texts: texts, samples: requested, sampling: sampling, seed: seed)
    }

    struct TextPlan: ExplanationPlan {
        let effectiveParameters: [String: JSONValue]
        let texts: [any TextSamples]
        let samples: Int
        let sampling: ShapleyKernelDesign.Sampling
        let seed: UInt64

        func run(_ problem: ResolvedProblem, context: ExplanationContext) throws(ExplanationError) -> [InstanceAttribution] {
            try texts.enumerated().map { row, text throws(ExplanationError) in
                let tokens = text.featureCount
                let target = problem.targets[row]
                func targets(_ masks: [[Bool]]) throws(ExplanationError) -> [Double] {
                    try text.outputs(keeping: masks, problem: problem, row: row, context: context).map { $0[target] }
                }
                let ends = try targets([[Bool](repeating: false, count: tokens), [Bool](repeating: true, count: tokens)])
                let (expected, value) = (ends[0], ends[1])
                var shapley = [Double](repeating: 0, count: tokens)
                var errors: [Double]? = [Double](repeating: 0, count: tokens)
                if tokens == 1 {
                    shapley[0] = value - expected
                } else if tokens > 1 {
                    var random = SeededRandom(seed: seed, stream: row)
                    let design = ShapleyKernelDesign.make(sampling, groups: tokens, samples: samples, random: &random)
                    let masks = (0..<design.count).map { Array(design.present[($0 * tokens)..<(($0 + 1) * tokens)]) }
                    let solved = try Plan.solve(design: design, values: try targets(masks), value: value, expected: expected)
                    shapley = solved.values
                    errors = solved.standardErrors
                }
                do {
                    var attribution = InstanceAttribution(
                        attributions: [try Tensor(shape: [tokens], scalars: shapley.map(Float.init))],
                        standardErrors: try errors.map { [try Tensor(shape: [tokens], scalars: $0.map(Float.init))] })
                    attribution.extras["base_value"] = .number(expected)
                    return attribution
                } catch {
                    throw ExplanationError(.modelFailure, "\(error)")
                }
            }
        }
    }
}
