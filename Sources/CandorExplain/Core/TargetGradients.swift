import CandorModel
import CandorTensor

/// The gradient of each row's target output with respect to the inputs, for batches of any
/// size: evaluated in chunks that keep each forward and backward pass under the context's
/// element budget, checking for cancellation between chunks. With an idle worker, a batch is
/// cut into at least two chunks shared with it (``SharedChunks``).
enum TargetGradients {
    /// - Parameters:
    ///   - inputs: one batched tensor per model input, all with the same number of rows.
    ///   - targets: the target index (into the flattened per-row output) for each row.
    /// - Returns: the explained output of every row and ∂output[target]/∂input for each input.
    static func compute(
        model: any DifferentiableModel, inputs: [Tensor], output: Int, targets: [Int],
        context: ExplanationContext, rowsPerChunk: Int? = nil
    ) throws(ExplanationError) -> (outputs: Tensor, gradients: [Tensor]) {
        let result = try compute(
            model: model, inputs: inputs, output: output, targets: targets, pass: .plain, context: context, rowsPerChunk: rowsPerChunk)
        return (result.outputs[output], result.inputGradients)
    }

    /// The same under a backward pass with layers, replaced values and a rule. Replaced
    /// values are given for the whole batch and sliced per chunk; `rowsPerChunk` must keep
    /// together rows a rule pairs (DeepLIFT's halves are passed as one chunk), and such a
    /// caller says `pairsRows` so that the chunks are not cut smaller for an idle worker.
    static func compute(
        model: any DifferentiableModel, inputs: [Tensor], output: Int, targets: [Int], pass: BackwardPass,
        context: ExplanationContext, rowsPerChunk: Int? = nil, pairsRows: Bool = false
    ) throws(ExplanationError) -> GradientResult {
        try compute(
            model: model, inputs: inputs, output: output, pass: pass, context: context, rowsPerChunk: rowsPerChunk, pairsRows: pairsRows
        ) { _, rows in Array(targets[rows]) }
    }

    /// One gradient pass at the problem's own instances, with the targets of `resolved`, or —
    /// when `resolved` is nil — as the runner's first pass (``FirstPassPlan``): each chunk's
    /// seed takes its rows' targets from the output that chunk computed (the argmax, or the
    /// request's targets), and the joined output is then checked and resolved as
    /// ``ExplanationRunner/resolve(_:context:)`` does, with the same errors.
    static func atInstances(
        _ problem: ExplanationProblem, resolved: ResolvedProblem?, model: any DifferentiableModel, pass: BackwardPass,
        context: ExplanationContext
    ) throws(ExplanationError) -> (ResolvedProblem, GradientResult) {
        if let resolved {
            let result = try compute(
                model: model, inputs: problem.inputs, output: problem.output, targets: resolved.targets, pass: pass, context: context)
            return (resolved, result)
        }
        try context.checkCancellation()
        try ExplanationRunner.checkOutputAndTargetCount(problem)
        let result = try compute(
            model: model, inputs: problem.inputs, output: problem.output, pass: pass, context: context, rowsPerChunk: nil, pairsRows: false
        ) { value, rows in
            let perRow = value.shape.first.map { $0 > 0 ? value.count / $0 : 0 } ?? 0
            // A target out of range seeds index 0 here; the check after the pass refuses it.
            guard let targets = problem.targets else {
                return value.unstacked().map(ExplanationRunner.argmax)
            }
            return targets[rows].map { (0..<perRow).contains($0) ? $0 : 0 }
        }
        return (try ExplanationRunner.resolved(problem, outputValues: result.outputs[problem.output]), result)
    }

    /// The pass itself, `targets` giving the target of each row of a chunk from that chunk's
    /// explained output and the rows of the batch it holds.
    private static func compute(
        model: any DifferentiableModel, inputs: [Tensor], output: Int, pass: BackwardPass, context: ExplanationContext,
        rowsPerChunk: Int?, pairsRows: Bool, targets: @escaping @Sendable (Tensor, Range<Int>) -> [Int]
    ) throws(ExplanationError) -> GradientResult {
        let rows = inputs.first?.shape.first ?? 0
        let whole = max(1, min(rows, context.rowsPerPass(for: model, limit: rowsPerChunk)))
        let chunk = pairsRows ? whole : context.sharedChunk(whole, of: rows)
        var parts: [GradientResult] = []
        try SharedChunks.run(count: (rows + chunk - 1) / chunk, context: context) { index throws(ExplanationError) in
            let range = (index * chunk)..<min((index + 1) * chunk, rows)
            let part = inputs.map { $0.rows(range) }
            var chunkPass = pass
            chunkPass.overrides = pass.overrides.mapValues { $0.rows(range) }
            do throws(ModelError) {
                return try model.gradient(part, output: output, pass: chunkPass) { value, chunkRows throws(ModelError) in
                    let batchRows = (range.lowerBound + chunkRows.lowerBound)..<(range.lowerBound + chunkRows.upperBound)
                    return try oneHot(like: value, targets: targets(value, batchRows))
                }
            } catch {
                throw ExplanationError(error)
            }
        } collect: { part, _ in
            parts.append(part)
        }
        do {
            func joined(_ pick: (GradientResult) -> [Tensor]) throws(TensorError) -> [Tensor] {
                guard let first = parts.first else { return [] }
                return try pick(first).indices.map { index throws(TensorError) in
                    try Tensor.concatenatingRows(parts.map { pick($0)[index] })
                }
            }
            return GradientResult(
                outputs: try joined(\.outputs), inputGradients: try joined(\.inputGradients), layerValues: try joined(\.layerValues),
                layerGradients: try joined(\.layerGradients))
        } catch {
            throw ExplanationError(.modelFailure, "\(error)")
        }
    }

    /// ∂L/∂output with a 1 at each row's target and 0 elsewhere.
    static func oneHot(like output: Tensor, targets: [Int]) throws(ModelError) -> Tensor {
        var seed = Tensor(zerosLike: output)
        let rows = output.shape.first ?? 1
        let perRow = rows > 0 ? output.count / rows : 0
        guard targets.count == rows else {
            throw ModelError(.inconsistentShapes, "\(targets.count) targets for \(rows) output rows")
        }
        for (row, target) in targets.enumerated() {
            guard (0..<perRow).contains(target) else {
                throw ModelError(.inconsistentShapes, "target \(target) is outside the output's \(perRow) values")
            }
            seed.scalars[row * perRow + target] = 1
        }
        return seed
    }
}
