import CandorModel
import CandorTensor

extension AnalysisProblem {
    /// How many values the analysed output has per row — more than one for a classifier's
    /// class scores — which decides an analysis's defaults (accuracy or R², a classification
    /// or a regression tree) before it runs. Read from the declared output shape when it is
    /// fixed; otherwise from one evaluated row, a single small pass.
    func outputWidth(for analysis: String) throws(ExplanationError) -> Int {
        guard output >= 0, output < model.outputs.count else {
            throw ExplanationError(.unknownOutput, "\(analysis): the model has no output \(output)")
        }
        let declared = model.outputs[output].instanceShape.map(\.fixedValue)
        if declared.allSatisfy({ $0 != nil }) {
            return declared.reduce(1) { $0 * ($1 ?? 1) }
        }
        guard rowCount > 0 else { throw ExplanationError(.invalidInput, "\(analysis) needs at least one row of data") }
        let first = rows.map { $0.rows(0..<1) }
        let result: Tensor
        do { result = try model.predict(first)[output] } catch { throw ExplanationError(error) }
        return result.count
    }
}

extension OutputRows {
    /// Refuses outputs whose rows are not as wide as the plan was prepared for (a model whose
    /// evaluated output differs from its declared shape), before any row is indexed by a class
    /// or target chosen for that width.
    func checkWidth(_ expected: Int, analysis: String) throws(ExplanationError) {
        guard perRow == expected else {
            throw ExplanationError(
                .modelFailure, "\(analysis): the model's output has \(perRow) values per row where its declared shape has \(expected)")
        }
    }
}
