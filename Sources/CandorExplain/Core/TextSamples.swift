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
}
