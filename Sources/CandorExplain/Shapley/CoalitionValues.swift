import CandorModel
import CandorTensor

/// The value of coalitions of feature groups for one instance, with absent groups filled from
/// background rows: v(S) = (1/K) Σₖ f(x_S, bₖ,∖S), the target output averaged over the K rows
/// (SHAP's KernelExplainer value function). Each (coalition, background row) pair is one row
/// of a forward pass; the pairs are batched to the memory budget (a large background spreads
/// one coalition over several passes), shared with idle workers, and cancellation is checked
/// between passes.
struct CoalitionValues {
    let model: any PredictiveModel
    let problem: ResolvedProblem
    /// The explained instance (a row of the batch).
    let row: Int
    let background: BackgroundRows
    let groups: FeatureGroups

    /// v for `count` coalitions; `keeps(c, g)` says whether group g keeps the instance's values
    /// in coalition c.
    func values(count: Int, context: ExplanationContext, keeps: @escaping @Sendable (Int, Int) -> Bool) throws(ExplanationError)
        -> [Double]
    {
        let rows = background.count
        let sizes = problem.problem.instanceSizes
        let instance = problem.problem.inputs.enumerated().map { input, tensor in
            Array(tensor.scalars[(row * sizes[input])..<((row + 1) * sizes[input])])
        }
        let (background, groups) = (background, groups)
        let outputs = try SampleEvaluation(model: model, problem: problem, row: row)
            .targetOutputs(
                count: count * rows, context: context,
                fill: .perChunk {
                    // The elements the current coalition keeps from the instance, per input:
                    // a chunk's pairs come coalition by coalition, so each list is built once.
                    var current = -1
                    var kept: [[Int]] = []
                    return { pair, input, destination in
                        let (coalition, backgroundRow) = pair.quotientAndRemainder(dividingBy: rows)
                        if coalition != current {
                            let members = groups.groups.indices.filter { keeps(coalition, $0) }.flatMap { groups.groups[$0] }
                            kept = sizes.indices.map { input in members.filter { $0.input == input }.map(\.index) }
                            current = coalition
                        }
                        let size = sizes[input]
                        background.rows[input].scalars.withUnsafeBufferPointer { reference in
                            for index in 0..<size { destination[index] = reference[backgroundRow * size + index] }
                        }
                        for index in kept[input] { destination[index] = instance[input][index] }
                    }
                })
        return (0..<count).map { coalition in
            outputs[(coalition * rows)..<((coalition + 1) * rows)].reduce(0, +) / Double(rows)
        }
    }
}
