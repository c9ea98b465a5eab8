/// The settings of SHAP's Text masker that a request may give, shared by the methods that mask
/// a text's tokens (partition_shap, kernel_shap on text): what a masked token is written as,
/// and whether a run of them is written once. The server resolves their defaults from the
/// tokenizer and masks the texts (`TextSamples`).
public enum TokenMasking {
    /// The longest mask token (each masked token is written as it).
    public static let maximumMaskTokenLength = 64

    public static let parameters = [
        ParameterSpec(
            "mask_token", .text,
            summary: "on text, what a masked token is written as (default: the tokenizer's mask token, [MASK] or <mask>, else ...)"),
        ParameterSpec(
            "collapse_mask_token", .boolean,
            summary:
                "on text, write a run of masked tokens as one mask token (default: false with the tokenizer's mask token, true otherwise, as SHAP's auto)"
        ),
    ]

    /// The settings `parameters` give (nil where they leave them to the tokenizer), read with
    /// `descriptor`'s declarations.
    public static func settings(
        _ parameters: [String: JSONValue], of descriptor: MethodDescriptor
    ) throws(ExplanationError) -> (maskToken: String?, collapse: Bool?) {
        var reader = try ParameterReader(parameters, specs: descriptor.parameters, method: descriptor.name)
        let maskToken = try reader.optionalString("mask_token")
        if let maskToken, maskToken.unicodeScalars.count > maximumMaskTokenLength {
            throw ExplanationError(
                .invalidParameter, "parameter 'mask_token' of \(descriptor.name) has at most \(maximumMaskTokenLength) characters")
        }
        return (maskToken, reader.isGiven("collapse_mask_token") ? try reader.bool("collapse_mask_token") : nil)
    }

    /// Records the settings the server resolved, so that they are echoed.
    static func record(_ reader: inout ParameterReader) throws(ExplanationError) {
        _ = try reader.optionalString("mask_token")
        _ = try reader.bool("collapse_mask_token")
    }
}
