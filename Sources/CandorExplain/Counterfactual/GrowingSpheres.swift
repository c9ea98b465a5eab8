import CandorModel
import CandorTensor
import Foundation

/// Growing Spheres (Laugel, Lesot, Marsala, Renard & Detyniecki, "Inverse Classification for
/// Comparison-based Interpretability in Machine Learning", 2018): the nearest input the model
/// decides differently for, found without gradients by sampling ever larger spherical
/// shells around the instance, then made sparse by restoring features.
///
/// Generation (their Algorithm 1): points are drawn uniformly in the ball of radius η around
/// x; while some reach the outcome, η is divided by `decrease_radius`; then shells
/// a₀ < ‖x′ − x‖ ≤ a₀ + η are sampled outward, `n_in_layer` points each, until a shell holds
/// points that reach the outcome ("enemies"). Candor samples in the space of the features
/// that may vary, each in units of its MAD (so that a sphere treats features alike), makes
/// each point admissible (ranges, whole numbers, categories) before asking the model, and
/// keeps the enemies nearest in the reported distance. Each is then simplified feature by
/// feature (their Algorithm 2); `total_cfs` distinct ones are returned, from further shells
/// when the first holds too few.
public struct GrowingSpheres: Explainer {
    public let descriptor = MethodDescriptor(
        name: "growing_spheres", family: "counterfactual",
        summary:
            "the nearest inputs that reach another class (or a value range), found by sampling growing spherical shells around the instance, then made sparse",
        reference: "Laugel et al. 2018 (Growing Spheres)", requirement: .any,
        checkedAgainst:
            "its definition: every counterfactual re-predicted and checked to reach the outcome, constraints never violated (property tests over random requests), a one-feature model answered with that feature alone at the boundary",
        details: """
            Points are drawn uniformly in the ball of radius η = `first_radius` around the instance (in
            the features that may vary, each in units of its MAD); while any reaches the outcome, η is
            divided by `decrease_radius`; then shells of width η are sampled outward (`n_in_layer` points
            each, at most `max_layers` shells) until one holds points that reach it. Every point is made
            admissible (permitted ranges, whole numbers, category codes, immutable features kept) before
            the model sees it. The nearest of those points are simplified: each changed feature, smallest
            change first, is restored to the instance's value when the point still reaches the outcome
            (Laugel's feature selection, continued past a feature that cannot be restored). No
            counterfactual is returned when `max_layers` shells hold none. The spheres are Euclidean while
            the reported distance is L1, so its answers are near rather than nearest: on the dice-ml
            fixtures they are up to 1.6 times as far as `dice`'s, and a far boundary costs many shells
            (each of `n_in_layer` model evaluations).
            """,
        parameters: CounterfactualSetting.parameters(maximumTotal: 20) + [
            ParameterSpec("n_in_layer", .integer, default: 2000, minimum: 10, maximum: 100_000, summary: "points sampled per shell"),
            ParameterSpec(
                "first_radius", .number, default: 0.1, minimum: 1e-6, maximum: 1e6,
                summary: "radius of the first ball, in MAD units (shells then grow by the final radius)"),
            ParameterSpec(
                "decrease_radius", .number, default: 10, minimum: 1.01, maximum: 1000,
                summary: "factor the ball shrinks by while it holds counterfactuals"),
            ParameterSpec("max_layers", .integer, default: 1000, minimum: 1, maximum: 100_000, summary: "most shells sampled"),
            ParameterSpec.seed(of: "the sampled points"),
        ])

    public init() {}

    public func prepare(_ parameters: [String: JSONValue], for problem: ExplanationProblem) throws(ExplanationError) -> any ExplanationPlan
    {
        var reader = try ParameterReader(parameters, specs: descriptor.parameters, method: descriptor.name)
        let setting = try CounterfactualSetting(&reader, problem: problem, method: descriptor.name)
        let pointsPerShell = try reader.int("n_in_layer")
        try setting.checkCandidates(pointsPerShell, parameter: "n_in_layer", method: descriptor.name)
        return Plan(
            model: problem.model, setting: setting, pointsPerShell: pointsPerShell,
            firstRadius: try reader.double("first_radius"), decrease: try reader.double("decrease_radius"),
            maximumShells: try reader.int("max_layers"), seed: try reader.seed(), effectiveParameters: reader.effective)
    }

    struct Plan: ExplanationPlan {
        let model: any PredictiveModel
        let setting: CounterfactualSetting
        let pointsPerShell: Int
        let firstRadius: Double
        let decrease: Double
        let maximumShells: Int
        let seed: UInt64
        let effectiveParameters: [String: JSONValue]

        /// How often the first ball may shrink: past this the instance sits on the boundary.
        static let maximumShrinks = 40
        /// How many of a shell's nearest points per counterfactual asked for are simplified.
        static let simplifiedPerShell = 10

        func run(_ problem: ResolvedProblem, context: ExplanationContext) throws(ExplanationError) -> [InstanceAttribution] {
            try CounterfactualSearch.explainEach(problem, model: model, setting: setting, seed: seed, context: context) {
                search, random throws(ExplanationError) in try counterfactuals(search, random: &random, context: context)
            }
        }

        private func counterfactuals(_ search: CounterfactualSearch, random: inout SeededRandom, context: ExplanationContext)
            throws(ExplanationError) -> [[Double]]
        {
            var radius = firstRadius
            for _ in 0..<Self.maximumShrinks {
                let ball = shell(search, from: 0, to: radius, random: &random)
                guard try search.reaching(ball, context: context).contains(true) else { break }
                radius /= decrease
            }
            var found: [[Double]] = []
            var inner = radius
            var shells = 0
            while shells < maximumShells, found.count < setting.total {
                shells += 1
                let points = shell(search, from: inner, to: inner + radius, random: &random)
                inner += radius
                let reaching = try search.reaching(points, context: context)
                let enemies = points.indices.filter { reaching[$0] }.map {
                    (points[$0], search.space.distance(search.instance, points[$0]))
                }
                .sorted { $0.1 < $1.1 }.map(\.0)
                // The nearest few: points that simplify into one counterfactual need not all be tried.
                for enemy in enemies.prefix(Self.simplifiedPerShell * setting.total) where found.count < setting.total {
                    let simple = try search.simplified(enemy, context: context)
                    if !found.contains(simple) { found.append(simple) }
                }
            }
            return found
        }

        /// `pointsPerShell` admissible points drawn uniformly from the shell low < r ≤ high
        /// around the instance, in the varying features' MAD units: a uniform direction (a
        /// normalised Gaussian vector) at radius r = (low^m + u·(high^m − low^m))^(1/m), m the
        /// number of varying features, computed as high·(ρ^m + u·(1 − ρ^m))^(1/m), ρ = low/high,
        /// so that large m does not overflow.
        private func shell(_ search: CounterfactualSearch, from low: Double, to high: Double, random: inout SeededRandom) -> [[Double]] {
            let space = search.space
            let dimensions = Double(space.varying.count)
            let innerShare = pow(low / high, dimensions)
            return (0..<pointsPerShell).map { _ in
                var direction = space.varying.map { _ in random.standardNormal() }
                let length = direction.reduce(0) { $0 + $1 * $1 }.squareRoot()
                let radius = high * pow(innerShare + random.uniform() * (1 - innerShare), 1 / dimensions)
                for index in direction.indices { direction[index] *= length > 0 ? radius / length : 0 }
                var point = search.instance
                for (index, feature) in space.varying.enumerated() { point[feature] += direction[index] * space.scale[feature] }
                return space.project(point, onto: search.instance)
            }
        }
    }
}
