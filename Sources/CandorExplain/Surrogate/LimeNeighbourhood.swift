import CandorModel
import CandorTensor

/// How LIME draws the samples around an instance and what their interpretable features are.
enum LimeNeighbourhood: Sendable {
    /// Tabular, binned at training quartiles; interpretable feature j is "x_j is in the
    /// instance's bin".
    case discretized([QuartileBins], names: [String])
    /// Tabular, N(mean, scale²) per feature; interpretable features are standardised values.
    case continuous(mean: [Double], scale: [Double], names: [String])
    /// Groups of elements kept (1) or hidden (0); hidden ones take `hidden` (per instance, like
    /// the batch) or their per-channel mean.
    case grouped(FeatureGroups, hidden: [Tensor]?)
    /// Each image's own SLIC superpixels as the groups.
    case superpixels(Superpixels, hidden: [Tensor]?)

    /// The neighbourhood of instance `row`: superpixels become that image's groups.
    func resolved(row: Int, of problem: ExplanationProblem) -> LimeNeighbourhood {
        guard case .superpixels(let segmenter, let hidden) = self else { return self }
        return .grouped(segmenter.groups(row: row, of: problem), hidden: hidden)
    }

    var featureCount: Int {
        switch self {
        case .discretized(let bins, _): bins.count
        case .continuous(let mean, _, _): mean.count
        case .grouped(let groups, _): groups.groups.count
        case .superpixels(let segmenter, _): segmenter.segments
        }
    }

    /// Samples around one instance: their interpretable representation (row-major, the
    /// instance first), their distances to the instance, and how to write each as a model input.
    struct Samples {
        let data: [Double]
        let distances: [Double]
        /// Safe to call for several samples at once (the samples' model rows are shared with idle workers).
        let fill: @Sendable (_ sample: Int, _ input: Int, _ destination: UnsafeMutableBufferPointer<Float>) -> Void
    }

    func draw(_ count: Int, around row: Int, of problem: ExplanationProblem, random: inout SeededRandom) -> Samples {
        switch self {
        case .discretized(let bins, _): Self.discretized(bins, count: count, row: row, problem: problem, random: &random)
        case .continuous(let mean, let scale, _): Self.continuous(mean, scale, count: count, row: row, problem: problem, random: &random)
        case .grouped(let groups, let hidden):
            Self.grouped(groups, hidden: hidden, count: count, row: row, problem: problem, random: &random)
        case .superpixels: resolved(row: row, of: problem).draw(count, around: row, of: problem, random: &random)
        }
    }

    /// lime's tabular sampling with its quartile discretizer: per feature, a bin drawn by the
    /// training frequencies, then a value from N(bin mean, bin std²) truncated to the bin (a
    /// bin whose bounds coincide gives that value; lime returns a z-score there, a slip).
    /// Distances are Euclidean on the 0/1 representation.
    private static func discretized(
        _ bins: [QuartileBins], count: Int, row: Int, problem: ExplanationProblem, random: inout SeededRandom
    ) -> Samples {
        let width = bins.count
        let instance = problem.inputs[0].scalars[(row * width)..<((row + 1) * width)].map(Double.init)
        let own = zip(bins, instance).map { $0.bin(of: $1) }
        var values = [Float](repeating: 0, count: count * width)
        var data = [Double](repeating: 1, count: count * width)
        var distances = [Double](repeating: 0, count: count)
        for feature in 0..<width { values[feature] = Float(instance[feature]) }
        let totals = bins.map { $0.counts.reduce(0, +) }
        // Each bin's truncated normal, in standard units: lime adds 1e-11 to the deviation.
        let laws = bins.map { featureBins in
            (0...featureBins.edges.count).map { bin in
                let (lower, upper) = featureBins.bounds(of: bin)
                let (mean, std) = (featureBins.means[bin], featureBins.stds[bin] + 1e-11)
                return (TruncatedNormal(lower: (lower - mean) / std, upper: (upper - mean) / std), mean, std, lower, upper)
            }
        }
        for sample in 1..<max(count, 1) {
            var differing = 0
            for (feature, featureBins) in bins.enumerated() {
                var pick = random.integer(below: max(totals[feature], 1))
                var bin = 0
                while bin < featureBins.counts.count - 1, pick >= featureBins.counts[bin] {
                    pick -= featureBins.counts[bin]
                    bin += 1
                }
                let (law, mean, std, lower, upper) = laws[feature][bin]
                let value = lower == upper ? lower : mean + std * law.draw(&random)
                values[sample * width + feature] = Float(value)
                if bin != own[feature] {
                    data[sample * width + feature] = 0
                    differing += 1
                }
            }
            distances[sample] = Double(differing).squareRoot()
        }
        return Samples(data: data, distances: distances) { [values] sample, _, destination in
            for feature in 0..<width { destination[feature] = values[sample * width + feature] }
        }
    }

    /// lime's tabular sampling without discretizer: N(training mean, training std²) per feature,
    /// explained on standardised values; distances are Euclidean on those.
    private static func continuous(
        _ mean: [Double], _ scale: [Double], count: Int, row: Int, problem: ExplanationProblem, random: inout SeededRandom
    ) -> Samples {
        let width = mean.count
        let instance = problem.inputs[0].scalars[(row * width)..<((row + 1) * width)].map(Double.init)
        var data = [Double](repeating: 0, count: count * width)
        for feature in 0..<width { data[feature] = (instance[feature] - mean[feature]) / scale[feature] }
        for index in width..<(count * width) { data[index] = random.standardNormal() }
        let distances = (0..<count).map { sample in
            (0..<width).reduce(0.0) { total, feature in
                let difference = data[sample * width + feature] - data[feature]
                return total + difference * difference
            }.squareRoot()
        }
        return Samples(data: data, distances: distances) { [data] sample, _, destination in
            for feature in 0..<width { destination[feature] = Float(data[sample * width + feature] * scale[feature] + mean[feature]) }
        }
    }

    /// lime's image sampling over groups: keep each group with probability ½ (the instance
    /// keeps all); distances are cosine distances of the keep vectors to all-ones.
    private static func grouped(
        _ groups: FeatureGroups, hidden: [Tensor]?, count: Int, row: Int, problem: ExplanationProblem, random: inout SeededRandom
    ) -> Samples {
        let k = groups.groups.count
        let sizes = problem.instanceSizes
        var data = [Double](repeating: 1, count: count * k)
        for index in k..<(count * k) { data[index] = Double(random.integer(below: 2)) }
        let distances = (0..<count).map { sample in
            cosineDistanceToAllKept((0..<k).reduce(0.0) { $0 + data[sample * k + $1] }, of: k)
        }
        let instance = problem.inputs.enumerated().map { input, tensor in
            Array(tensor.scalars[(row * sizes[input])..<((row + 1) * sizes[input])])
        }
        let replacement =
            hidden.map { tensors in
                tensors.enumerated().map { input, tensor in Array(tensor.scalars[(row * sizes[input])..<((row + 1) * sizes[input])]) }
            } ?? channelMeans(groups, instance: instance, problem: problem)
        return Samples(data: data, distances: distances) { [data] sample, input, destination in
            for index in 0..<sizes[input] { destination[index] = instance[input][index] }
            for group in 0..<k where data[sample * k + group] == 0 {
                for element in groups.groups[group] where element.input == input {
                    destination[element.index] = replacement[input][element.index]
                }
            }
        }
    }

    /// The cosine distance of a keep vector with `kept` ones among `features` to the all-ones
    /// vector, 1 − √(kept / features); 1 for none kept (scikit-learn's, which lime uses, takes a
    /// zero vector's similarity as 0).
    static func cosineDistanceToAllKept(_ kept: Double, of features: Int) -> Double {
        kept == 0 ? 1 : 1 - (kept / Double(features)).squareRoot()
    }

    /// Each element's replacement when its group is hidden: the mean of the group's elements in
    /// the same channel (the first axis of an image shaped [channels, height, width]; the
    /// whole group otherwise), as `LimeImageExplainer` fills hidden superpixels.
    private static func channelMeans(_ groups: FeatureGroups, instance: [[Float]], problem: ExplanationProblem) -> [[Float]] {
        var result = instance
        for group in groups.groups {
            var sums: [FeatureGroups.Element: Double] = [:]
            var counts: [FeatureGroups.Element: Int] = [:]
            func channelKey(_ element: FeatureGroups.Element) -> FeatureGroups.Element {
                let shape = problem.inputs[element.input].shape.dropFirst()
                let channelSize = shape.count == 3 ? shape.dropFirst().reduce(1, *) : Int.max
                return FeatureGroups.Element(input: element.input, index: shape.count == 3 ? element.index / channelSize : 0)
            }
            for element in group {
                sums[channelKey(element), default: 0] += Double(instance[element.input][element.index])
                counts[channelKey(element), default: 0] += 1
            }
            for element in group {
                let key = channelKey(element)
                result[element.input][element.index] = Float((sums[key] ?? 0) / Double(max(counts[key] ?? 1, 1)))
            }
        }
        return result
    }

    /// The explanation of one instance: coefficients as attributions (0 for features left out),
    /// with the surrogate's intercept, score and prediction, and for tables the rules.
    func attribution(_ fit: LocalSurrogate.Fit, row: Int, problem: ExplanationProblem) throws(ExplanationError) -> InstanceAttribution {
        var coefficient = [Double](repeating: 0, count: featureCount)
        for (feature, weight) in fit.coefficients { coefficient[feature] = weight }
        // A feature left out of the surrogate has coefficient 0 by construction, not by
        // estimate: its error is 0.
        let error = (0..<featureCount).map { Float(fit.standardErrors[$0] ?? 0) }
        var attribution: InstanceAttribution
        switch resolved(row: row, of: problem) {
        case .grouped(let groups, _):
            attribution = try groups.spread({ Float(coefficient[$0]) }, over: problem)
            attribution.standardErrors = try groups.spread({ error[$0] }, over: problem).attributions
        case .superpixels:
            attribution = InstanceAttribution(attributions: [])
        case .discretized(let bins, let names):
            attribution = InstanceAttribution(
                attributions: [try problem.instanceTensor(coefficient.map(Float.init), input: 0)],
                standardErrors: [try problem.instanceTensor(error, input: 0)])
            let instance = problem.inputs[0].scalars[(row * bins.count)..<((row + 1) * bins.count)].map(Double.init)
            attribution.extras["rules"] = .array(
                fit.coefficients.map { feature, weight in
                    .object([
                        "feature": .string(names[feature]),
                        "rule": .string(bins[feature].rule(bins[feature].bin(of: instance[feature]), feature: names[feature])),
                        "weight": .number(weight),
                    ])
                })
        case .continuous(_, _, let names):
            attribution = InstanceAttribution(
                attributions: [try problem.instanceTensor(coefficient.map(Float.init), input: 0)],
                standardErrors: [try problem.instanceTensor(error, input: 0)])
            attribution.extras["rules"] = .array(
                fit.coefficients.map { feature, weight in
                    .object(["feature": .string(names[feature]), "rule": .string(names[feature]), "weight": .number(weight)])
                })
        }
        attribution.extras["intercept"] = .number(fit.intercept)
        attribution.extras["score"] = .number(fit.score)
        attribution.extras["local_prediction"] = .number(fit.localPrediction)
        return attribution
    }
}
