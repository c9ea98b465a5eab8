import CandorTensor

/// The genetic search behind `dice` (see ``Dice`` for the definition and where it departs
/// from dice-ml): returns every distinct admissible input it met that reaches the outcome.
struct DiceGeneticSearch {
    let search: CounterfactualSearch
    let weights: DiceWeights
    let populationSize: Int
    let generations: Int

    /// Generations without improvement after which the search stops.
    static let patience = 10

    /// A member's rank under Deb's feasibility rule: members that reach the outcome before
    /// those that do not, then by `value`, lower first.
    struct Fitness: Comparable {
        let reaches: Bool
        let value: Double

        static func < (lhs: Fitness, rhs: Fitness) -> Bool {
            lhs.reaches != rhs.reaches ? lhs.reaches : lhs.value < rhs.value
        }
    }

    typealias Member = (values: [Double], fitness: Fitness)

    func validInputs(seededWith background: Tensor, random: inout SeededRandom, context: ExplanationContext) throws(ExplanationError)
        -> [[Double]]
    {
        var population = try scored(initialMembers(background, random: &random), context: context)
        var valid = CandidatePool(space: search.space, instance: search.instance, capacity: search.setting.candidateCapacity)
        let total = search.setting.total
        var best = (reaching: 0, value: Double.infinity)
        var stale = 0
        for _ in 0..<generations {
            population.sort { $0.fitness < $1.fitness }
            for member in population where member.fitness.reaches { valid.insert(member.values) }
            let leaders = population.prefix(total)
            let current = (reaching: leaders.filter(\.fitness.reaches).count, value: leaders.reduce(0) { $0 + $1.fitness.value })
            if current.reaching > best.reaching || (current.reaching == best.reaching && current.value < best.value - 1e-9) {
                best = current
                stale = 0
            } else {
                stale += 1
                if stale >= Self.patience, current.reaching == min(total, population.count) { break }
            }
            let elites = Array(population.prefix(max(total, populationSize / 10)))
            var children: [[Double]] = []
            while children.count < populationSize - elites.count {
                let first = tournament(population, random: &random)
                let second = tournament(population, random: &random)
                children.append(child(of: first, and: second, random: &random))
            }
            population = elites + (try scored(children, context: context))
        }
        for member in population where member.fitness.reaches { valid.insert(member.values) }
        return valid.sorted
    }

    /// The first generation: the background rows' changeable features moved onto the
    /// instance (training data, as DiCE's KD-tree start uses it), topped up to
    /// `populationSize` with random members — the instance with each changeable feature
    /// redrawn with probability ½. Later generations hold `populationSize` members.
    private func initialMembers(_ background: Tensor, random: inout SeededRandom) -> [[Double]] {
        let space = search.space
        var members: [[Double]] = []
        if background.rank == 2, background.shape[1] == space.count {
            let rows = background.shape[0]
            for row in 0..<rows {
                let values = background.scalars[(row * space.count)..<((row + 1) * space.count)].map(Double.init)
                members.append(space.project(values, onto: search.instance))
            }
        }
        while members.count < populationSize {
            var member = search.instance
            let redrawn = space.varying.filter { _ in random.uniform() < 0.5 }
            for feature in redrawn.isEmpty ? [space.varying[random.integer(below: space.varying.count)]] : redrawn {
                member[feature] = space.randomValue(feature, random: &random)
            }
            members.append(space.project(member, onto: search.instance))
        }
        return members
    }

    private func scored(_ members: [[Double]], context: ExplanationContext) throws(ExplanationError) -> [Member] {
        let outputs = try search.outputs(of: members, context: context)
        let width = search.problem.outputsPerInstance
        let space = search.space
        let features = Double(max(1, space.count))
        return members.enumerated().map { index, values in
            let shortfall = search.setting.outcome.shortfall(outputs[(index * width)..<((index + 1) * width)], original: search.original)
            let proximity = weights.proximity * space.distance(search.instance, values) / features
            if shortfall > 0 { return (values, Fitness(reaches: false, value: shortfall + proximity)) }
            let sparsity = weights.sparsity * Double(space.changes(from: search.instance, to: values).count) / features
            return (values, Fitness(reaches: true, value: proximity + sparsity))
        }
    }

    /// The better of two members drawn at random (a binary tournament).
    private func tournament(_ population: [Member], random: inout SeededRandom) -> [Double] {
        let first = population[random.integer(below: population.count)]
        let second = population[random.integer(below: population.count)]
        return first.fitness < second.fitness ? first.values : second.values
    }

    /// Uniform crossover of two parents, then mutation: each changeable feature, with
    /// probability 1/(changeable features), moves halfway back toward the instance (a
    /// categorical one returns to it) or takes a normal step of its MAD (a categorical one a
    /// random code).
    private func child(of first: [Double], and second: [Double], random: inout SeededRandom) -> [Double] {
        let space = search.space
        var values = search.instance
        let mutation = 1 / Double(space.varying.count)
        for feature in space.varying {
            values[feature] = random.uniform() < 0.5 ? first[feature] : second[feature]
            guard random.uniform() < mutation else { continue }
            let categorical = space.domains.categories[feature] != nil
            if random.uniform() < 0.5 {
                values[feature] = categorical ? search.instance[feature] : (values[feature] + search.instance[feature]) / 2
            } else {
                values[feature] =
                    categorical
                    ? space.randomValue(feature, random: &random) : values[feature] + random.standardNormal() * space.scale[feature]
            }
        }
        return space.project(values, onto: search.instance)
    }
}
