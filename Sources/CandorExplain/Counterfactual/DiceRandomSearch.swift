import CandorTensor

/// DiCE's random method (dice-ml `DiceRandom`), the `search: "random"` of `dice`: every one
/// of `sampleSize` rows starts as the instance and has a target value per changeable
/// feature, all at one uniform position u of their ranges (lo + u·(hi − lo); whole numbers
/// and codes at that position among the admissible ones) — dice-ml reseeds its generator
/// before drawing each feature, so a row's draws share their position and it moves every
/// feature toward the same end of its range; each round, every row sets a randomly chosen
/// feature (with replacement, as dice-ml draws it) to its target value. The rows that reach the outcome are collected, and the search stops once at
/// least `total_cfs` are found after two rounds or every feature has had its turn.
struct DiceRandomSearch {
    let search: CounterfactualSearch
    let sampleSize: Int

    func validInputs(random: inout SeededRandom, context: ExplanationContext) throws(ExplanationError) -> [[Double]] {
        let space = search.space
        let targets = (0..<sampleSize).map { _ in
            let position = random.uniform()
            return space.varying.map { space.value($0, atPosition: position) }
        }
        var rows = Array(repeating: search.instance, count: sampleSize)
        var valid = CandidatePool(space: space, instance: search.instance, capacity: search.setting.candidateCapacity)
        for round in 1...space.varying.count {
            for row in rows.indices {
                let pick = random.integer(below: space.varying.count)
                rows[row][space.varying[pick]] = targets[row][pick]
                rows[row] = space.project(rows[row], onto: search.instance)
            }
            let reaching = try search.reaching(rows, context: context)
            for row in rows.indices where reaching[row] { valid.insert(rows[row]) }
            if round >= 2, valid.members.count >= search.setting.total { break }
        }
        return valid.sorted
    }
}
