import CandorModel
import CandorTensor

/// Evaluates many synthetic rows that exist only as a recipe: `fill` writes row r of input i
/// into an instance-sized buffer (zeroed), and the rows are built and evaluated in passes sized
/// to the memory budget, checking cancellation between passes, so at most one pass of rows and
/// outputs is held at once. Shared by the sampling methods (LIME's and RISE's samples, the
/// metrics' perturbations) and the dataset analyses (grids, shuffles).
enum FilledPasses {
    static func evaluate(
        _ model: any PredictiveModel, instanceShapes: [[Int]], output: Int, count: Int, context: ExplanationContext,
        fill: (_ row: Int, _ input: Int, _ destination: UnsafeMutableBufferPointer<Float>) -> Void,
        collect: (_ outputs: Tensor, _ rows: Range<Int>) throws(ExplanationError) -> Void
    ) throws(ExplanationError) {
        let sizes = instanceShapes.map { $0.reduce(1, *) }
        let passSize = context.rowsPerPass(for: model)
        for first in stride(from: 0, to: count, by: passSize) {
            try context.checkCancellation()
            let pass = first..<Swift.min(first + passSize, count)
            var batch: [Tensor] = []
            for (input, shape) in instanceShapes.enumerated() {
                let size = sizes[input]
                var scalars = [Float](repeating: 0, count: pass.count * size)
                scalars.withUnsafeMutableBufferPointer { buffer in
                    for (position, row) in pass.enumerated() {
                        fill(row, input, UnsafeMutableBufferPointer(rebasing: buffer[(position * size)..<((position + 1) * size)]))
                    }
                }
                do { batch.append(try Tensor(shape: [pass.count] + shape, scalars: scalars)) } catch {
                    throw ExplanationError(.invalidInput, "the evaluated batch is too large: \(error)")
                }
            }
            let results: [Tensor]
            do { results = try model.predict(batch) } catch { throw ExplanationError(error) }
            guard results.indices.contains(output) else {
                throw ExplanationError(.unknownOutput, "the model has \(results.count) outputs, so no output \(output)")
            }
            try collect(results[output], pass)
        }
    }
}
