import CandorExplain
import CandorModel
import CandorTensor
import CandorText

/// One text's words as lime removes them (`LimeTextExplainer`): each sample is the text without
/// its removed words (`IndexedWords`), tokenized again and padded with the other samples, so the
/// model sees what lime's `classifier_fn` would be given. A pair's second text stays whole.
struct TextWordSamples: WordSamples {
    let words: IndexedWords
    let pair: String?
    let text: TextInputs
    /// The text model, sized per call for the samples' padded length.
    let model: any PredictiveModel
    let limits: CandorConfiguration.Limits

    var wordCount: Int { words.words.count }

    func inputs(keeping kept: [Double], samples: Int) throws(ExplanationError) -> (model: any PredictiveModel, inputs: [Tensor]) {
        let count = wordCount
        let encodings = (0..<samples).map { sample in
            text.tokenizer.encode(words.removing { kept[sample * count + $0] == 0 }, pair: pair)
        }
        let padded = text.tokenizer.padded(encodings, length: text.fixedLength ?? 0)
        let length = padded.first?.ids.count ?? 0
        if let fixedLength = text.fixedLength, length > fixedLength {
            throw ExplanationError(.invalidInput, "a sample of lime has \(length) tokens; this model takes at most \(fixedLength)")
        }
        let elements = samples.multipliedReportingOverflow(by: length * model.inputs.count)
        guard !elements.overflow, elements.partialValue <= limits.maxInputElements else {
            throw ExplanationError(
                .tooLarge,
                "lime's \(samples) samples of up to \(length) tokens exceed the configured limit of \(limits.maxInputElements) input elements: lower n_samples"
            )
        }
        do {
            let inputs = try text.inputs(padded, count: model.inputs.count)
            return ((model as? ONNXModel)?.sized(forFreeExtent: length) ?? model, inputs)
        } catch {
            throw ExplanationError(.invalidInput, error.detail)
        }
    }
}
