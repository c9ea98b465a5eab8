import CandorExplain
import CandorModel
import CandorTensor
import CandorText

extension TextInputs {
    /// Samples of a text rebuilt and tokenized again (lime's, partition_shap's) as the model's
    /// inputs: padded to the longest (or to the model's fixed length), the model sized for it,
    /// within the configured input size.
    func sampleInputs(
        _ encodings: [TextEncoding], model: any PredictiveModel, limits: CandorConfiguration.Limits, named samples: String
    ) throws(ExplanationError) -> (model: any PredictiveModel, inputs: [Tensor]) {
        let padded = tokenizer.padded(encodings, length: fixedLength ?? 0)
        let length = padded.first?.ids.count ?? 0
        if let fixedLength, length > fixedLength {
            throw ExplanationError(.invalidInput, "one of \(samples) has \(length) tokens; this model takes at most \(fixedLength)")
        }
        // A mask token of several tokens lengthens a text past what the request could send.
        guard length <= limits.maxTextTokens else {
            throw ExplanationError(
                .invalidInput,
                "one of \(samples) has \(length) tokens, more than the configured limit of \(limits.maxTextTokens) (limits.max_text_tokens)"
            )
        }
        let elements = encodings.count.multipliedReportingOverflow(by: length * model.inputs.count)
        guard !elements.overflow, elements.partialValue <= limits.maxInputElements else {
            throw ExplanationError(
                .tooLarge,
                "\(encodings.count) of \(samples), of up to \(length) tokens, exceed the configured limit of \(limits.maxInputElements) input elements"
            )
        }
        do {
            let inputs = try inputs(padded, count: model.inputs.count)
            return ((model as? ONNXModel)?.sized(forFreeExtent: length) ?? model, inputs)
        } catch {
            throw ExplanationError(.invalidInput, error.detail)
        }
    }
}
