import CandorModel
import CandorTensor

/// The target output of one instance's model output for many synthetic instances (LIME's
/// perturbed samples, RISE's masked inputs): `fill` writes sample s of input i into the given
/// instance-sized buffer (zeroed), and the samples are evaluated as ``FilledPasses`` does
/// (shared with idle workers unless the fill is ``FilledPasses/Fill/inOrder(_:)``).
struct SampleEvaluation {
    let model: any PredictiveModel
    let problem: ResolvedProblem
    /// The row whose target is read from each output.
    let row: Int
    /// The shape of one sample of each input: the problem's instance shapes, unless the samples
    /// are shaped otherwise (lime's texts, tokenized again, have their own length).
    let instanceShapes: [[Int]]

    init(model: any PredictiveModel, problem: ResolvedProblem, row: Int, instanceShapes: [[Int]]? = nil) {
        self.model = model
        self.problem = problem
        self.row = row
        self.instanceShapes = instanceShapes ?? problem.problem.inputs.map { Array($0.shape.dropFirst()) }
    }

    func targetOutputs(
        count: Int, context: ExplanationContext,
        fill: FilledPasses.Fill
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
        fill: FilledPasses.Fill
    ) throws(ExplanationError) -> [Float] {
        var result: [Float] = []
        try evaluate(count: count, context: context, fill: fill) { outputs, _ in result += outputs.scalars }
        return result
    }

    private func evaluate(
        count: Int, context: ExplanationContext,
        fill: FilledPasses.Fill, collect: (_ outputs: Tensor, _ samples: Int) -> Void
    ) throws(ExplanationError) {
        try FilledPasses.evaluate(
            model, instanceShapes: instanceShapes, output: problem.problem.output,
            count: count, context: context, fill: fill
        ) { outputs, pass in collect(outputs, pass.count) }
    }
}
