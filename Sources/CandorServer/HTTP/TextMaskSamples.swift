import CandorExplain
import CandorModel
import CandorTensor
import CandorText

/// One text's tokens as SHAP's Text masker masks them (partition_shap, kernel_shap): each sample writes
/// its masked tokens as the mask token (`ShapTextMasker`) and is tokenized again and padded
/// with the other samples, so the model sees what SHAP's model function would be given.
struct TextMaskSamples: TextSamples {
    let masker: ShapTextMasker
    let text: TextInputs
    /// The text model, sized per call for the samples' padded length.
    let model: any PredictiveModel
    let limits: CandorConfiguration.Limits

    var featureCount: Int { masker.segments.count }

    func inputs(keeping kept: [Double], samples: Int) throws(ExplanationError) -> (model: any PredictiveModel, inputs: [Tensor]) {
        let count = featureCount
        let encodings = (0..<samples).map { sample in
            text.tokenizer.encode(masker.maskedText { kept[sample * count + $0] != 0 })
        }
        return try text.sampleInputs(encodings, model: model, limits: limits, named: "the masked texts")
    }
}
