import CandorModel
import CandorTensor

/// The value of coalitions of feature groups for one instance, with absent groups filled from
/// background rows: v(S) = (1/K) Σₖ f(x_S, bₖ,∖S), the target output averaged over the K rows
/// (SHAP's KernelExplainer value function). Each (coalition, background row) pair is one row
/// of a forward pass; rows are batched to the memory budget and cancellation is checked
/// between passes.
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
        let inputs = problem.problem.inputs
        let sizes = problem.problem.instanceSizes
        let rows = background.count
        let rowBudget = max(1, context.maxBatchElements / max(model.elementsPerInstance, 1))
        let passSize = max(1, rowBudget / max(rows, 1))
        let target = problem.targets[row]
        let perRow = problem.outputsPerInstance
        var result: [Double] = []
        result.reserveCapacity(count)
        for first in stride(from: 0, to: count, by: passSize) {
            try context.checkCancellation()
            let pass = first..<min(first + passSize, count)
            var batch: [Tensor] = []
            for (inputIndex, input) in inputs.enumerated() {
                let size = sizes[inputIndex]
                let instance = input.scalars[(row * size)..<((row + 1) * size)]
                let reference = background.rows[inputIndex].scalars
                var scalars = [Float]()
                scalars.reserveCapacity(pass.count * rows * size)
                for coalition in pass {
                    let kept = present(coalition).flatMap { groups.groups[$0] }.filter { $0.input == inputIndex }.map(\.index)
                    let start = scalars.count
                    scalars.append(contentsOf: reference)
                    for backgroundRow in 0..<rows {
                        let offset = start + backgroundRow * size
                        for index in kept { scalars[offset + index] = instance[instance.startIndex + index] }
                    }
                }
                do { batch.append(try Tensor(shape: [pass.count * rows] + input.shape.dropFirst(), scalars: scalars)) } catch {
                    throw ExplanationError(.invalidInput, "the perturbed batch is too large: \(error)")
                }
            }
            let outputs: Tensor
            do { outputs = try model.predict(batch)[problem.problem.output] } catch { throw ExplanationError(error) }
            for position in 0..<pass.count {
                var sum = 0.0
                for backgroundRow in 0..<rows {
                    sum += Double(outputs.scalars[(position * rows + backgroundRow) * perRow + target])
                }
                result.append(sum / Double(rows))
            }
        }
        return result
    }
}
