import CandorModel
import CandorTensor

/// The value of coalitions of feature groups for one instance, with absent groups filled from
/// background rows: v(S) = (1/K) Σₖ f(x_S, bₖ,∖S), the target output averaged over the K rows
/// (SHAP's KernelExplainer value function). Each (coalition, background row) pair is one row
/// of a forward pass; the pairs are batched to the memory budget (a large background spreads
/// one coalition over several passes) and cancellation is checked between passes.
struct CoalitionValues {
    let model: any PredictiveModel
    let problem: ResolvedProblem
    /// The explained instance (a row of the batch).
    let row: Int
    let background: BackgroundRows
    let groups: FeatureGroups

    /// v for `count` coalitions; `present(c)` lists the groups that keep the instance's values
    /// in coalition c.
    func values(count: Int, context: ExplanationContext, present: (Int) -> [Int]) throws(ExplanationError) -> [Double] {
        let rows = background.count
        let sizes = problem.problem.instanceSizes
        // The elements the current coalition keeps from the instance, per input: pairs are
        // filled in order, so each coalition's list is built once.
        var current = -1
        var kept: [[Int]] = []
        let instance = problem.problem.inputs.enumerated().map { input, tensor in
            Array(tensor.scalars[(row * sizes[input])..<((row + 1) * sizes[input])])
        }
        let outputs = try SampleEvaluation(model: model, problem: problem, row: row)
            .targetOutputs(count: count * rows, context: context) { pair, input, destination in
                let (coalition, backgroundRow) = pair.quotientAndRemainder(dividingBy: rows)
                if coalition != current {
                    let members = present(coalition).flatMap { groups.groups[$0] }
                    kept = sizes.indices.map { input in members.filter { $0.input == input }.map(\.index) }
                    current = coalition
                }
                let size = sizes[input]
                let reference = background.rows[input].scalars
                for index in 0..<size { destination[index] = reference[backgroundRow * size + index] }
                for index in kept[input] { destination[index] = instance[input][index] }
            }
        return (0..<count).map { coalition in
            outputs[(coalition * rows)..<((coalition + 1) * rows)].reduce(0, +) / Double(rows)
        }
    }
}
