import CandorModel
import CandorTensor

/// The target output of one instance's model output for many synthetic instances (LIME's
/// perturbed samples, RISE's masked inputs): `fill` writes sample s of input i into the given
/// instance-sized buffer (zeroed), and the samples are evaluated in passes sized to the memory budget,
/// checking cancellation between passes.
struct SampleEvaluation {
    let model: any PredictiveModel
    let problem: ResolvedProblem
    /// The row whose target is read from each output.
    let row: Int

    func targetOutputs(
        count: Int, context: ExplanationContext,
        fill: (_ sample: Int, _ input: Int, _ destination: UnsafeMutableBufferPointer<Float>) -> Void
    ) throws(ExplanationError) -> [Double] {
        let target = problem.targets[row]
        let perRow = problem.outputsPerInstance
        var result: [Double] = []
        result.reserveCapacity(count)
        try evaluate(count: count, context: context, fill: fill) { outputs, samples in
            for position in 0..<samples { result.append(Double(outputs.scalars[position * perRow + target])) }
        }
        return result
    }

    /// The whole explained output of every sample, row-major.
    func outputRows(
        count: Int, context: ExplanationContext,
        fill: (_ sample: Int, _ input: Int, _ destination: UnsafeMutableBufferPointer<Float>) -> Void
    ) throws(ExplanationError) -> [Float] {
        var result: [Float] = []
        try evaluate(count: count, context: context, fill: fill) { outputs, _ in result += outputs.scalars }
        return result
    }

    private func evaluate(
        count: Int, context: ExplanationContext,
        fill: (_ sample: Int, _ input: Int, _ destination: UnsafeMutableBufferPointer<Float>) -> Void,
        collect: (_ outputs: Tensor, _ samples: Int) -> Void
    ) throws(ExplanationError) {
        let inputs = problem.problem.inputs
        let sizes = problem.problem.instanceSizes
        let passSize = context.rowsPerPass(for: model)
        for first in stride(from: 0, to: count, by: passSize) {
            try context.checkCancellation()
            let pass = first..<min(first + passSize, count)
            var batch: [Tensor] = []
            for (inputIndex, input) in inputs.enumerated() {
                let size = sizes[inputIndex]
                var scalars = [Float](repeating: 0, count: pass.count * size)
                scalars.withUnsafeMutableBufferPointer { buffer in
                    for (position, sample) in pass.enumerated() {
                        fill(sample, inputIndex, UnsafeMutableBufferPointer(rebasing: buffer[(position * size)..<((position + 1) * size)]))
                    }
                }
                do { batch.append(try Tensor(shape: [pass.count] + input.shape.dropFirst(), scalars: scalars)) } catch {
                    throw ExplanationError(.invalidInput, "the sampled batch is too large: \(error)")
                }
            }
            let outputs: Tensor
            do { outputs = try model.predict(batch)[problem.problem.output] } catch { throw ExplanationError(error) }
            collect(outputs, pass.count)
        }
    }
}
