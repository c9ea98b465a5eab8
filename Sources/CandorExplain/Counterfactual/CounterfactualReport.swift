import CandorTensor

/// What a counterfactual method answers for one instance, checked by a fresh prediction of
/// every counterfactual on its own: `counterfactuals` (each with its values, the model's
/// output and prediction for it, its distance, how many features it changes, and the
/// changes), `validity` (the share of them that reach the outcome on that fresh prediction; 0
/// when none was found), `diversity` (the mean pairwise distance, for several) and `desired`
/// (the outcome searched for). The attributions are the first counterfactual's change x′ − x
/// (zero when none was found).
enum CounterfactualReport {
    static func attribution(
        _ counterfactuals: [[Double]], search: CounterfactualSearch, context: ExplanationContext
    ) throws(ExplanationError) -> InstanceAttribution {
        let space = search.space
        // One at a time, as a client checking a counterfactual would predict it: a point the
        // search left close to the boundary is judged by the same arithmetic that found it.
        var outputs: [Float] = []
        for counterfactual in counterfactuals { outputs += try search.outputs(of: [counterfactual], context: context) }
        let width = search.problem.outputsPerInstance
        var entries: [JSONValue] = []
        var valid = 0
        for (index, counterfactual) in counterfactuals.enumerated() {
            let output = outputs[(index * width)..<((index + 1) * width)]
            if search.setting.outcome.isReached(by: output, original: search.original) { valid += 1 }
            let prediction: JSONValue =
                if case .range = search.setting.outcome { .float(output.first ?? 0) } else {
                    .number(Double(DesiredOutcome.prediction(output)))
                }
            let changed = space.changes(from: search.instance, to: counterfactual)
            entries.append(
                .object([
                    "instance": .array(counterfactual.map { .float(Float($0)) }),
                    "output": .array(output.map { .float($0) }),
                    "prediction": prediction,
                    "distance": .number(space.distance(search.instance, counterfactual)),
                    "sparsity": .number(Double(changed.count)),
                    "changes": .array(
                        changed.map {
                            .object([
                                "feature": space.label($0), "from": .float(Float(search.instance[$0])),
                                "to": .float(Float(counterfactual[$0])),
                            ])
                        }),
                ]))
        }
        var result: [String: JSONValue] = ["counterfactuals": .array(entries)]
        result["validity"] = .number(counterfactuals.isEmpty ? 0 : Double(valid) / Double(counterfactuals.count))
        result["desired"] = search.setting.outcome.json
        if counterfactuals.count > 1 { result["diversity"] = .number(diversity(counterfactuals, space: space)) }
        let change = counterfactuals.first.map { first in zip(first, search.instance).map { Float($0 - $1) } }
        let attributions = try search.problem.problem.instanceTensor(change ?? Array(repeating: 0, count: space.count), input: 0)
        return InstanceAttribution(attributions: [attributions], extras: result)
    }

    /// The mean distance over all pairs (DiCE's diversity metric).
    static func diversity(_ counterfactuals: [[Double]], space: FeatureSpace) -> Double {
        var total = 0.0
        var pairs = 0
        for first in counterfactuals.indices {
            for second in counterfactuals.indices where second > first {
                total += space.distance(counterfactuals[first], counterfactuals[second])
                pairs += 1
            }
        }
        return pairs > 0 ? total / Double(pairs) : 0
    }
}
