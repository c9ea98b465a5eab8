import CandorModel
import CandorTensor

/// One text instance whose features — lime's words, SHAP's token segments — a sample keeps or
/// masks. What the model makes of a sample is the server's to say, since it owns the
/// tokenizer: the text rebuilt from what is kept, tokenized again.
public protocol TextSamples: Sendable {
    /// The features a sample keeps or masks.
    var featureCount: Int { get }
    /// The model and its inputs for the samples, one row per sample: the text keeping the
    /// features where `kept[s * featureCount + f]` is 1.
    func inputs(keeping kept: [Double], samples: Int) throws(ExplanationError) -> (model: any PredictiveModel, inputs: [Tensor])
}

extension TextSamples {
    /// The samples keeping `kept` (samples × features), ready to be evaluated for instance
    /// `row`: the evaluation, shaped as the re-tokenized samples are, and the fill that copies
    /// each sample into its pass.
    func evaluation(
        keeping kept: [Double], samples: Int, problem: ResolvedProblem, row: Int
    ) throws(ExplanationError) -> (evaluation: SampleEvaluation, fill: FilledPasses.Fill) {
        let (model, inputs) = try inputs(keeping: kept, samples: samples)
        let sizes = inputs.map { $0.count / Swift.max(samples, 1) }
        let evaluation = SampleEvaluation(
            model: model, problem: problem, row: row, instanceShapes: inputs.map { Array($0.shape.dropFirst()) })
        let fill = FilledPasses.Fill.concurrent { sample, input, destination in
            inputs[input].scalars.withUnsafeBufferPointer { source in
                for index in 0..<sizes[input] { destination[index] = source[sample * sizes[input] + index] }
            }
        }
        return (evaluation, fill)
    }

    /// The model's whole output for each mask (true: the feature kept), the masked texts
    /// tokenized and evaluated at most 256 at a time.
    func outputs(
        keeping masks: [[Bool]], problem: ResolvedProblem, row: Int, context: ExplanationContext
    ) throws(ExplanationError) -> [[Double]] {
        var outputs: [[Double]] = []
        for first in stride(from: 0, to: masks.count, by: 256) {
            try context.checkCancellation()
            let chunk = masks[first..<min(first + 256, masks.count)]
            let kept = chunk.flatMap { $0.map { $0 ? 1.0 : 0.0 } }
            let (evaluation, fill) = try evaluation(keeping: kept, samples: chunk.count, problem: problem, row: row)
            let rows = try evaluation.outputRows(count: chunk.count, context: context, fill: fill)
            let width = rows.count / max(chunk.count, 1)
            for sample in 0..<chunk.count {
                let output = rows[(sample * width)..<((sample + 1) * width)].map(Double.init)
                guard output.allSatisfy(\.isFinite) else {
                    throw ExplanationError(.nonFiniteResult, "the model's output for a masked text is not finite")
                }
                outputs.append(output)
            }
        }
        return outputs
    }
}
