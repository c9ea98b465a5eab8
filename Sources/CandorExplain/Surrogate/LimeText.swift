import CandorModel
import CandorTensor
import Foundation

/// One text instance as lime's `LimeTextExplainer` sees it: its distinct words (lime's bag of
/// words), which a sample keeps or removes. What the model makes of a sample is the server's
/// to say, since it owns the tokenizer: the text without the removed words, tokenized again.
public protocol WordSamples: Sendable {
    /// The distinct words, lime's interpretable features.
    var wordCount: Int { get }
    /// The model and its inputs for the samples, one row per sample: the text keeping the
    /// words where `kept[s * wordCount + w]` is 1.
    func inputs(keeping kept: [Double], samples: Int) throws(ExplanationError) -> (model: any PredictiveModel, inputs: [Tensor])
}

/// LIME on text, as lime's `LimeTextExplainer` (bag of words, its defaults): the first sample is
/// the text; every other removes a number of distinct words drawn uniformly from 1 to d (all
/// their occurrences), the words drawn without replacement; a sample's distance is the cosine
/// distance of its keep vector to all-ones, times 100, weighted by √exp(−d²/25²); and the
/// surrogate is `Lime`'s (`LocalSurrogate`), one coefficient per word.
struct LimeTextPlan: ExplanationPlan {
    let effectiveParameters: [String: JSONValue]
    /// One per instance.
    let words: [any WordSamples]
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
            let kept = Self.neighbourhood(words: text.wordCount, samples: samples, random: &random)
            let (model, inputs) = try text.inputs(keeping: kept, samples: samples)
            let sizes = inputs.map { $0.count / Swift.max(samples, 1) }
            let labels = try SampleEvaluation(
                model: model, problem: problem, row: row, instanceShapes: inputs.map { Array($0.shape.dropFirst()) }
            ).targetOutputs(
                count: samples, context: context,
                fill: .concurrent { sample, input, destination in
                    inputs[input].scalars.withUnsafeBufferPointer { source in
                        for index in 0..<sizes[input] { destination[index] = source[sample * sizes[input] + index] }
                    }
                })
            results.append(try explain(kept: kept, words: text.wordCount, labels: labels))
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
    /// (`WordSamples`, one per instance). The tabular and image parameters do not apply.
    public func prepareText(
        _ parameters: [String: JSONValue], words: [any WordSamples], for problem: ExplanationProblem
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
        if let empty = words.firstIndex(where: { $0.wordCount == 0 }) {
            throw ExplanationError(.invalidInput, "text \(empty) has no words (letters, digits or _) for lime to weigh")
        }
        let widest = words.map(\.wordCount).max() ?? 0
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
