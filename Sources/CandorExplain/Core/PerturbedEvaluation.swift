import CandorModel
import CandorTensor

/// The forward passes every perturbation method is made of: the target output of every
/// instance with chosen feature groups replaced by their baseline values. Each (perturbation,
/// instance) pair is one row; rows are batched to the memory budget (or `perPass`
/// perturbations per pass), and cancellation is checked between passes.
struct PerturbedEvaluation {
    let model: any PredictiveModel
    let problem: ResolvedProblem
    let baselines: [Tensor]
    let groups: FeatureGroups
    /// Which row of `baselines` replaces instance `row` under perturbation `p`: the instance's
    /// own baseline (the default), or another instance (feature permutation).
    var baselineRow: (_ perturbation: Int, _ row: Int) -> Int = { _, row in row }

    /// The target outputs, perturbation-major: entry `p · batch + row` is instance `row` with
    /// the groups `replaced(p)` set to the baseline.
    func targetOutputs(
        count: Int, perPass: Int?, context: ExplanationContext, replaced: (Int) -> [Int]
    ) throws(ExplanationError) -> [Float] {
        let inputs = problem.problem.inputs
        let batch = problem.problem.batchSize
        let sizes = problem.problem.instanceSizes
        let perRow = problem.outputsPerInstance
        let passSize = context.unitsPerPass(for: model, rowsPerUnit: batch, unitLimit: perPass)
        var results: [Float] = []
        results.reserveCapacity(count * batch)
        for first in stride(from: 0, to: count, by: passSize) {
            try context.checkCancellation()
            let pass = first..<min(first + passSize, count)
            var perturbed: [Tensor] = []
            for (inputIndex, input) in inputs.enumerated() {
                let size = sizes[inputIndex]
                var scalars = [Float](repeating: 0, count: size * batch * pass.count)
                for (position, perturbation) in pass.enumerated() {
                    let offset = position * batch * size
                    scalars.replaceSubrange(offset..<offset + batch * size, with: input.scalars)
                    for groupIndex in replaced(perturbation) {
                        for element in groups.groups[groupIndex] where element.input == inputIndex {
                            for row in 0..<batch {
                                let source = baselineRow(perturbation, row)
                                scalars[offset + row * size + element.index] = baselines[inputIndex].scalars[source * size + element.index]
                            }
                        }
                    }
                }
                do { perturbed.append(try Tensor(shape: [batch * pass.count] + input.shape.dropFirst(), scalars: scalars)) } catch {
                    throw ExplanationError(.invalidInput, "the perturbed batch is too large: \(error)")
                }
            }
            let outputs: Tensor
            do { outputs = try model.predict(perturbed)[problem.problem.output] } catch { throw ExplanationError(error) }
            for position in 0..<pass.count {
                for row in 0..<batch {
                    results.append(outputs.scalars[(position * batch + row) * perRow + problem.targets[row]])
                }
            }
        }
        return results
    }
}
