import CandorModel
import CandorTensor
import Foundation

/// LIME on text, as lime's `LimeTextExplainer` (bag of words, its defaults): the first sample is
/// the text; every other removes a number of distinct words drawn uniformly from 1 to d (all
/// their occurrences), the words drawn without replacement; a sample's distance is the cosine
/// distance of its keep vector to all-ones, times 100, weighted by √exp(−d²/25²); and the
/// surrogate is `Lime`'s (`LocalSurrogate`), one coefficient per word.
struct LimeTextPlan: ExplanationPlan {
    let effectiveParameters: [String: JSONValue]
    /// One per instance.
    let words: [any TextSamples]
    let samples: Int
    let kernelWidth: Double
    let features: Int
    let selection: LocalSurrogate.FeatureSelection
    let seed: UInt64

    /// lime's text kernel width.
    static let defaultKernelWidth = 25.0

    func run(_ problem: ResolvedProblem, context: ExplanationContext) throws(ExplanationError) -> [InstanceAttribution] {
        guard words.count == problem.problem.batchSize else {
            throw ExplanationError(.modelFailure, "\(words.count) texts for a batch of \(problem.problem.batchSize)")
        }
        var results: [InstanceAttribution] = []
        for (row, text) in words.enumerated() {
            var random = SeededRandom(seed: seed, stream: row)
            let kept = Self.neighbourhood(words: text.featureCount, samples: samples, random: &random)
            let (evaluation, fill) = try text.evaluation(keeping: kept, samples: samples, problem: problem, row: row)
            let labels = try evaluation.targetOutputs(count: samples, context: context, fill: fill)
            results.append(try explain(kept: kept, words: text.featureCount, labels: labels))
        }
        return results
    }

    /// The surrogate of one text's samples: a coefficient per word (0 for words left out),
    /// with lime's intercept, score and local prediction.
    func explain(kept: [Double], words: Int, labels: [Double]) throws(ExplanationError) -> InstanceAttribution {
        let rows = labels.count
        let distances = (0..<rows).map { sample in
            100 * LimeNeighbourhood.cosineDistanceToAllKept(kept[(sample * words)..<((sample + 1) * words)].reduce(0, +), of: words)
        }
        let weights = distances.map { exp(-$0 * $0 / (kernelWidth * kernelWidth)).squareRoot() }
        let surrogate = LocalSurrogate(data: kept, rows: rows, columns: words, labels: labels, weights: weights)
        guard let fit = surrogate.explain(features: features, selection: selection) else {
            throw ExplanationError(.nonFiniteResult, "lime's regression could not be solved for this text")
        }
        var coefficients = [Float](repeating: 0, count: words)
        for (feature, weight) in fit.coefficients { coefficients[feature] = Float(weight) }
        let errors = (0..<words).map { Float(fit.standardErrors[$0] ?? 0) }
        do {
            var attribution = InstanceAttribution(
                attributions: [try Tensor(shape: [words], scalars: coefficients)],
                standardErrors: [try Tensor(shape: [words], scalars: errors)])
            attribution.extras["intercept"] = .number(fit.intercept)
            attribution.extras["score"] = .number(fit.score)
            attribution.extras["local_prediction"] = .number(fit.localPrediction)
            return attribution
        } catch {
            throw ExplanationError(.modelFailure, "\(error)")
        }
    }

    /// lime's samples, row-major samples × words of 1 (kept) and 0 (removed): the first keeps
    /// every word, each other removes between 1 and all of them.
    static func neighbourhood(words: Int, samples: Int, random: inout SeededRandom) -> [Double] {
        var kept = [Double](repeating: 1, count: samples * words)
        var order = Array(0..<words)
        for sample in 1..<max(samples, 1) where words > 0 {
            let removed = 1 + random.integer(below: words)
            // The first `removed` of a partial Fisher–Yates shuffle: distinct, uniform.
            for position in 0..<removed {
                order.swapAt(position, position + random.integer(below: words - position))
                kept[sample * words + order[position]] = 0
            }
        }
        return kept
    }
}

extension Lime {
    /// lime on text instances (`LimeTextExplainer`): the words of each are the features
    /// (`TextSamples`, one per instance: the text without the removed words). The tabular and image parameters do not apply.
    public func prepareText(
        _ parameters: [String: JSONValue], words: [any TextSamples], for problem: ExplanationProblem
    ) throws(ExplanationError) -> any ExplanationPlan {
        for name in ["feature_mask", "background", "baselines", "discretize"] where parameters[name] != nil && parameters[name] != .null {
            throw ExplanationError(
                .invalidParameter, "parameter '\(name)' does not apply to text: lime removes the text's words, as LimeTextExplainer does")
        }
        let specs = descriptor.parameters.filter {
            ["n_samples", "kernel_width", "num_features", "feature_selection", "seed"].contains($0.name)
        }
        var reader = try ParameterReader(parameters, specs: specs, method: descriptor.name)
        let (samples, features, selection, seed) = try Self.surrogateSettings(&reader, instances: problem.batchSize, named: "texts")
        if let empty = words.firstIndex(where: { $0.featureCount == 0 }) {
            throw ExplanationError(.invalidInput, "text \(empty) has no words (letters, digits or _) for lime to weigh")
        }
        let widest = words.map(\.featureCount).max() ?? 0
        guard widest <= Self.maximumFeatures, samples * widest <= Self.maximumDesignEntries else {
            throw ExplanationError(
                .tooLarge,
                "lime fits one coefficient per distinct word: \(widest) words × \(samples) samples is more than allowed (at most \(Self.maximumFeatures) words, \(Self.maximumDesignEntries) entries)"
            )
        }
        try Self.checkSelectionWork(selection: selection, features: features, samples: samples, width: widest)
        let kernelWidth = try reader.optionalDouble("kernel_width") ?? LimeTextPlan.defaultKernelWidth
        reader.record("kernel_width", .number(kernelWidth))
        return LimeTextPlan(
            effectiveParameters: reader.effective, words: words, samples: samples, kernelWidth: kernelWidth, features: features,
            selection: selection, seed: seed)
    }
}
