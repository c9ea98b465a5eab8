import CandorExplain
import CandorModel
import CandorTensor
import CandorText

/// One text's words as lime removes them (`LimeTextExplainer`): each sample is the text without
/// its removed words (`IndexedWords`), tokenized again and padded with the other samples, so the
/// model sees what lime's `classifier_fn` would be given. A pair's second text stays whole.
struct TextWordSamples: TextSamples {
    let words: IndexedWords
    let pair: String?
    let text: TextInputs
    /// The text model, sized per call for the samples' padded length.
    let model: any PredictiveModel
    let limits: CandorConfiguration.Limits

    var featureCount: Int { words.words.count }

    func inputs(keeping kept: [Double], samples: Int) throws(ExplanationError) -> (model: any PredictiveModel, inputs: [Tensor]) {
        let count = featureCount
        let encodings = (0..<samples).map { sample in
            text.tokenizer.encode(words.removing { kept[sample * count + $0] == 0 }, pair: pair)
        }
        return try text.sampleInputs(encodings, model: model, limits: limits, named: "lime's samples")
    }
}
