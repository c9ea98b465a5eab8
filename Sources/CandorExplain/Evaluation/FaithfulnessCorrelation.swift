import CandorModel
import CandorTensor

/// `faithfulness_correlation`: the Pearson correlation, over random subsets S of `subset_size`
/// features, between Σ_{i∈S} φᵢ and f(x) − f(x with S at the baseline) (Bhatt et al.,
/// "Evaluating and Aggregating Feature-based Model Explanations", IJCAI 2020), as Quantus
/// `FaithfulnessCorrelation` computes it. Higher is more faithful. Features are the groups of
/// `feature_mask` when given. A correlation with no spread on either side is undefined; it is
/// reported as 0 (Quantus returns NaN).
public struct FaithfulnessCorrelation: QualityMetric {
    public let descriptor = MethodDescriptor(
        name: "faithfulness_correlation", family: "evaluation",
        summary: "Pearson correlation between the attribution a random subset holds and the output's drop when it is removed",
        reference: "Quantus FaithfulnessCorrelation (Bhatt et al. 2020)", requirement: .any,
        checkedAgainst:
            "Quantus 0.6 `FaithfulnessCorrelation` on the MLP and CNN integrated-gradients goldens, within its seed-to-seed spread",
        parameters: [
            ParameterSpec("n_samples", .integer, default: 100, minimum: 2, maximum: 100_000, summary: "random subsets per instance"),
            ParameterSpec(
                "subset_size", .integer, minimum: 1, maximum: 10_000_000,
                summary: "features in each subset (default 224, Quantus's, or a quarter of the features when there are fewer than 896)"),
            ParameterSpec.baselines("the values a removed feature takes"),
            ParameterSpec.featureMask("groups of elements drawn and removed together (default: every element alone)"),
            ParameterSpec.seed(of: "the subsets"),
        ])

    public init() {}

    public func prepare(_ parameters: [String: JSONValue], for problem: ExplanationProblem) throws(ExplanationError) -> any MetricPlan {
        var reader = try ParameterReader(parameters, specs: descriptor.parameters, method: descriptor.name)
        let samples = try reader.int("n_samples")
        let baselines = try Baselines.resolve(reader.json("baselines"), for: problem)
        let groups = try FeatureGroups(featureMask: reader.json("feature_mask"), problem: problem)
        let count = groups.groups.count
        let subsetSize: Int
        if let given = try reader.optionalInt("subset_size") {
            guard given < count else {
                throw ExplanationError(
                    .invalidParameter,
                    "parameter 'subset_size' of faithfulness_correlation must be below the number of features (\(count)), got \(given)")
            }
            subsetSize = given
        } else {
            subsetSize = Swift.max(1, count >= 896 ? 224 : count / 4)
            reader.record("subset_size", .number(Double(subsetSize)))
        }
        guard count >= 2 else {
            throw ExplanationError(.methodNotApplicable, "faithfulness_correlation needs at least two features to draw subsets from")
        }
        return Plan(
            samples: samples, subsetSize: subsetSize, baselines: baselines, groups: groups, seed: try reader.seed(),
            effectiveParameters: reader.effective)
    }

    struct Plan: MetricPlan {
        let samples: Int
        let subsetSize: Int
        let baselines: [Tensor]
        let groups: FeatureGroups
        let seed: UInt64
        let effectiveParameters: [String: JSONValue]

        func evaluate(_ subject: EvaluationSubject, context: ExplanationContext) throws(ExplanationError) -> [MetricValue] {
            let problem = subject.problem
            let sizes = problem.problem.instanceSizes
            return try (0..<subject.attributions.count).map { row throws(ExplanationError) in
                let attributions = subject.attributions[row].map(\.scalars)
                let instance = problem.problem.inputs.map { $0.rows(row..<(row + 1)).scalars }
                let baseline = baselines.map { $0.rows(row..<(row + 1)).scalars }
                // Each subset is drawn again where it is needed, from its own stream, so no
                // request holds n_samples × subset_size indices at once.
                var held = [Double](repeating: 0, count: samples)
                let removed = try SampleEvaluation(model: problem.problem.model, problem: problem, row: row).targetOutputs(
                    count: samples, context: context,
                    fill: .inOrder { sample, input, destination in
                        let subset = self.subset(row: row, sample: sample)
                        for index in 0..<sizes[input] { destination[index] = instance[input][index] }
                        for group in subset {
                            for element in groups.groups[group] where element.input == input {
                                destination[element.index] = baseline[input][element.index]
                                held[sample] += Double(attributions[input][element.index])
                            }
                        }
                    })
                let output = Double(problem.targetOutput(row))
                return MetricValue(Correlation.pearson(held, removed.map { output - $0 }))
            }
        }

        /// Subset `sample` of instance `row`: `subsetSize` distinct groups drawn uniformly (Floyd's
        /// algorithm, Bentley & Floyd, CACM 1987: O(k) work for k of n), in increasing order.
        func subset(row: Int, sample: Int) -> [Int] {
            var random = SeededRandom(seed: seed, stream: row * samples + sample)
            let count = groups.groups.count
            var chosen = Set<Int>(minimumCapacity: subsetSize)
            for j in (count - subsetSize)..<count {
                let pick = random.integer(below: j + 1)
                chosen.insert(chosen.contains(pick) ? j : pick)
            }
            return chosen.sorted()
        }
    }
}
