import CandorModel
import CandorTensor

extension AnalysisProblem {
    /// The analysed output for `count` synthetic rows of a tabular model, handed to `consume` a
    /// slice at a time (the index of the slice's first row, and its outputs), so that an
    /// analysis evaluating rows × grid points never holds more than about the context's
    /// per-pass element budget of outputs at once. `fill` writes synthetic row `row` into the
    /// given buffer of one row's features. Cancellation is checked and progress advanced as
    /// ``outputs(count:context:countsProgress:fill:)`` does.
    func streamOutputs(
        count: Int, context: AnalysisContext,
        fill: (_ row: Int, _ destination: UnsafeMutableBufferPointer<Float>) -> Void,
        consume: (_ first: Int, _ outputs: OutputRows) throws(ExplanationError) -> Void
    ) throws(ExplanationError) {
        var first = 0
        // The first slice is one pass; once the values per row are known, a slice holds about
        // the element budget's worth of them.
        var sliceSize = Swift.max(1, context.explanation.rowsPerPass(for: model))
        while first < count {
            let size = Swift.min(sliceSize, count - first)
            let start = first
            let outputs = try outputs(count: size, context: context) { row, _, destination in
                fill(start + row, destination)
            }
            try consume(start, outputs)
            first += size
            sliceSize = Swift.max(sliceSize, context.explanation.itemsPerPass(elementsPerItem: outputs.perRow))
        }
    }

    /// Feature `feature` of every row, widened to `Double`.
    func column(_ feature: Int, featureCount: Int) -> [Double] {
        let scalars = rows[0].scalars
        return (0..<rowCount).map { Double(scalars[$0 * featureCount + feature]) }
    }
}
