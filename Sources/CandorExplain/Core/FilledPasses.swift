import CandorModel
import CandorTensor

/// Evaluates many synthetic rows that exist only as a recipe: a ``Fill`` writes row r of input
/// i into an instance-sized buffer (zeroed), and the rows are built and evaluated in passes sized
/// to the memory budget, checking cancellation between passes, so at most a few passes of rows
/// and outputs are held at once. Shared by the sampling methods (LIME's and RISE's samples,
/// KernelSHAP's coalitions, the metrics' perturbations) and the dataset analyses (grids,
/// shuffles).
enum FilledPasses {
    /// Writes row r of input i into the given instance-sized buffer.
    typealias Filler = (_ row: Int, _ input: Int, _ destination: UnsafeMutableBufferPointer<Float>) -> Void

    /// How the rows are written.
    enum Fill {
        /// Called row after row on the calling thread, so it may keep state between rows.
        case inOrder(Filler)
        /// A new filler for each chunk of rows, called row after row within it (so it may keep
        /// state between them), chunks on several threads at once: the passes are then shared
        /// with idle workers (``SharedChunks``), in chunks of at least ``minimumSharedRows`` rows.
        case perChunk(@Sendable () -> Filler)

        /// A filler without state, safe to call for several rows at once.
        static func concurrent(
            _ fill: @escaping @Sendable (_ row: Int, _ input: Int, _ destination: UnsafeMutableBufferPointer<Float>) -> Void
        ) -> Fill { .perChunk { fill } }
    }

    /// Below this many rows a chunk's fixed cost (a forward pass) outweighs sharing it.
    static let minimumSharedRows = 256
    /// The activations a shared chunk aims at: 1 Mi floats, 4 MiB, well inside the caches two
    /// cores share (1 MiB chunks were no faster for one request and cost 4 % of the throughput
    /// of a saturated server, by their count).
    static let cacheElements = 1 << 20

    static func evaluate(
        _ model: any PredictiveModel, instanceShapes: [[Int]], output: Int, count: Int, context: ExplanationContext, fill: Fill,
        collect: (_ outputs: Tensor, _ rows: Range<Int>) throws(ExplanationError) -> Void
    ) throws(ExplanationError) {
        let passSize = context.rowsPerPass(for: model)
        switch fill {
        case .inOrder(let fill):
            for first in stride(from: 0, to: count, by: passSize) {
                try context.checkCancellation()
                let pass = first..<Swift.min(first + passSize, count)
                try collect(try outputs(model, instanceShapes: instanceShapes, output: output, rows: pass, fill: fill), pass)
            }
        case .perChunk(let makeFill):
            // With a worker to share them: chunks whose activations stay in cache (two threads
            // streaming passes of 20 MB each through memory gained 1.3×, chunks of 4 MB 1.75×),
            // and four at least, so that two threads finish close together. Alone, whole passes
            // (small chunks cost 4 % more then).
            let cached = Swift.max(minimumSharedRows, cacheElements / Swift.max(model.elementsPerInstance, 1))
            let shared = (context.idleWorkers?.idleCount ?? 0) > 0
            let chunk = shared ? Swift.min(passSize, cached, Swift.max(minimumSharedRows, (count + 3) / 4)) : passSize
            let chunks = (count + chunk - 1) / chunk
            let rows = { @Sendable (index: Int) in (index * chunk)..<Swift.min((index + 1) * chunk, count) }
            try SharedChunks.run(count: chunks, context: context) { index throws(ExplanationError) in
                try outputs(model, instanceShapes: instanceShapes, output: output, rows: rows(index), fill: makeFill())
            } collect: { outputs, index throws(ExplanationError) in
                try collect(outputs, rows(index))
            }
        }
    }

    /// One forward pass over `rows`: `output` of the model for the filled rows.
    private static func outputs(
        _ model: any PredictiveModel, instanceShapes: [[Int]], output: Int, rows: Range<Int>,
        fill: Filler
    ) throws(ExplanationError) -> Tensor {
        var batch: [Tensor] = []
        for (input, shape) in instanceShapes.enumerated() {
            let size = shape.reduce(1, *)
            var scalars = [Float](repeating: 0, count: rows.count * size)
            scalars.withUnsafeMutableBufferPointer { buffer in
                for (position, row) in rows.enumerated() {
                    fill(row, input, UnsafeMutableBufferPointer(rebasing: buffer[(position * size)..<((position + 1) * size)]))
                }
            }
            do { batch.append(try Tensor(shape: [rows.count] + shape, scalars: scalars)) } catch {
                throw ExplanationError(.invalidInput, "the evaluated batch is too large: \(error)")
            }
        }
        let results: [Tensor]
        do { results = try model.predict(batch) } catch { throw ExplanationError(error) }
        guard results.indices.contains(output) else {
            throw ExplanationError(.unknownOutput, "the model has \(results.count) outputs, so no output \(output)")
        }
        return results[output]
    }
}
