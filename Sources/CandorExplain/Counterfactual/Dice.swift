import CandorModel
import CandorTensor

/// DiCE, diverse counterfactual explanations (Mothilal, Sharma & Tan, FAT* 2020), searched
/// without gradients so that it serves any model, tree ensembles included: a genetic search
/// (the default) or DiCE's random sampling proposes valid counterfactuals, `total_cfs` of them
/// are chosen by DiCE's proximity-and-diversity objective (``DiverseSelection``), and each is
/// made sparse by restoring features while it stays valid (DiCE's post-hoc sparsity step,
/// done for every changed feature rather than only those that moved less than a quantile).
///
/// Where Candor departs from dice-ml 0.12 on purpose (the dice-ml notes in
/// `scripts/fixtures/make_counterfactual_fixtures.py` record what it does): the genetic search
/// selects parents by fitness (dice-ml picks them from the first half of a population sorted by
/// feature values) and mutates toward the instance or by a MAD-sized step (dice-ml's mutation
/// sets a feature to its permitted minimum); fitness follows Deb's feasibility rule (valid
/// members first, then proximity), so no weight trades validity away; the final set is chosen
/// by the objective, not as dice-ml's random method does, at random among valid samples.
public struct Dice: Explainer {
    enum Search: String, CaseIterable {
        case genetic, random
    }

    public let descriptor = MethodDescriptor(
        name: "dice", family: "counterfactual",
        summary:
            "diverse counterfactuals for any model: a genetic search (or DiCE's random sampling), chosen by DiCE's proximity and diversity objective, then made sparse",
        reference: "DiCE (Mothilal et al. 2020; dice-ml 0.12)", requirement: .any,
        checkedAgainst:
            "dice-ml 0.12 on iris, wine, breast-cancer, credit and diabetes MLPs and an XGBoost model: valid wherever dice-ml finds one, the nearest no farther; every answer re-predicted",
        details: """
            The genetic search starts from the background rows (their changeable features moved onto the
            instance), topped up to `population_size` with random inputs (the instance with random features
            drawn uniformly in their ranges), and then keeps `population_size` members per generation. Fitness
            follows Deb's feasibility rule: members that reach the outcome come first, ranked by
            proximity_weight × distance / features + sparsity_weight × changed / features; the others by
            DiCE's hinge loss on the class probabilities (or the distance to `desired_range`) plus the same
            proximity term. Each generation keeps the best tenth, and fills the rest with children of
            tournament-selected parents (uniform crossover; each changeable feature mutated with
            probability 1/features, halfway back toward the instance or by a normal step of its MAD);
            it stops after `max_iterations` generations or ten without improvement. `search: "random"`
            is DiCE's random method instead: each round, each of `sample_size` rows sets a randomly chosen
            feature (with replacement, as dice-ml draws it) to its uniform draw, until at least `total_cfs`
            valid ones are found after two rounds.
            From every valid input seen, `total_cfs` are chosen greedily by DiCE's objective,
            proximity_weight × mean distance − diversity_weight × det(K), K_ij = 1 / (1 + distance_ij)
            (distances per feature), and each is made sparse: every changed feature, smallest change
            first, is restored while the counterfactual stays valid. dice-ml 0.12's genetic search picks
            parents regardless of fitness and mutates features to their minimum; Candor does neither.
            """,
        parameters: CounterfactualSetting.parameters(maximumTotal: 20) + [
            ParameterSpec.choice("search", default: Search.genetic, summary: "genetic search, or DiCE's random sampling"),
            ParameterSpec(
                "proximity_weight", .number, default: 0.5, minimum: 0, maximum: 1000, summary: "weight of the mean distance to the instance"
            ),
            ParameterSpec(
                "diversity_weight", .number, default: 1.0, minimum: 0, maximum: 1000,
                summary: "weight of the counterfactuals' diversity, det(K)"),
            ParameterSpec(
                "sparsity_weight", .number, default: 0.2, minimum: 0, maximum: 1000,
                summary: "genetic search: weight of the share of features changed"),
            ParameterSpec(
                "population_size", .integer, default: 100, minimum: 10, maximum: 10_000, summary: "genetic search: members per generation"),
            ParameterSpec(
                "max_iterations", .integer, default: 200, minimum: 1, maximum: 10_000, summary: "genetic search: most generations"),
            ParameterSpec("sample_size", .integer, default: 1000, minimum: 10, maximum: 100_000, summary: "random search: rows sampled"),
            ParameterSpec.seed(of: "the search"),
        ])

    public init() {}

    public func prepare(_ parameters: [String: JSONValue], for problem: ExplanationProblem) throws(ExplanationError) -> any ExplanationPlan
    {
        var reader = try ParameterReader(parameters, specs: descriptor.parameters, method: descriptor.name)
        let setting = try CounterfactualSetting(&reader, problem: problem, method: descriptor.name)
        let populationSize = try reader.int("population_size")
        let sampleSize = try reader.int("sample_size")
        try setting.checkCandidates(populationSize, parameter: "population_size", method: descriptor.name)
        try setting.checkCandidates(2 * sampleSize, parameter: "sample_size", method: descriptor.name)
        let weights = DiceWeights(
            proximity: try reader.double("proximity_weight"), diversity: try reader.double("diversity_weight"),
            sparsity: try reader.double("sparsity_weight"))
        return Plan(
            model: problem.model, setting: setting, search: try reader.choice("search", as: Search.self), weights: weights,
            populationSize: populationSize, generations: try reader.int("max_iterations"), sampleSize: sampleSize,
            seed: try reader.seed(),
            effectiveParameters: reader.effective)
    }

    struct Plan: ExplanationPlan {
        let model: any PredictiveModel
        let setting: CounterfactualSetting
        let search: Search
        let weights: DiceWeights
        let populationSize: Int
        let generations: Int
        let sampleSize: Int
        let seed: UInt64
        let effectiveParameters: [String: JSONValue]

        func run(_ problem: ResolvedProblem, context: ExplanationContext) throws(ExplanationError) -> [InstanceAttribution] {
            try CounterfactualSearch.explainEach(problem, model: model, setting: setting, seed: seed, context: context) {
                search, random throws(ExplanationError) in
                let pool: [[Double]]
                switch self.search {
                case .genetic:
                    let genetic = DiceGeneticSearch(
                        search: search, weights: weights, populationSize: populationSize, generations: generations)
                    pool = try genetic.validInputs(seededWith: setting.background, random: &random, context: context)
                case .random:
                    pool = try DiceRandomSearch(search: search, sampleSize: sampleSize).validInputs(random: &random, context: context)
                }
                let selection = DiverseSelection(
                    space: search.space, instance: search.instance, proximityWeight: weights.proximity, diversityWeight: weights.diversity)
                return try selection.select(setting.total, from: pool) { candidate throws(ExplanationError) in
                    try search.simplified(candidate, context: context)
                }
            }
        }
    }
}

/// The weights of DiCE's objective.
struct DiceWeights: Sendable {
    let proximity: Double
    let diversity: Double
    let sparsity: Double
}
