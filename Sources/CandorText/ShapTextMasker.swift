/// One text as SHAP's Text masker (`shap.maskers.Text`, 0.51) masks it for the Partition
/// explainer: each token stands for its segment, the text from the token's start to the next
/// token's start (a word keeps the whitespace after it); a masked token's segment becomes a
/// space and the mask token, the tokenizer's special tokens at either end are always kept, and
/// the result has its whitespace runs collapsed to one space and is stripped, ready to be
/// tokenized again. The model sees what SHAP's model function would be given.
public struct ShapTextMasker: Sendable, Equatable {
    /// Each token's segment of the text (special tokens: the text before the first token, or
    /// nothing).
    public let segments: [String]
    /// How many tokens at the start (`keep_prefix`, [CLS] or `<s>`) and the end
    /// (`keep_suffix`, [SEP] or `</s>`) are never masked.
    public let keepPrefix: Int
    public let keepSuffix: Int
    /// What a masked token is written as (`mask_token`).
    public let maskToken: String
    /// Whether a run of masked tokens is written as one mask token (`collapse_mask_token`).
    public let collapsesMaskTokens: Bool
    /// The tokenizer's separator token, kept wherever a segment is exactly it, and merged last
    /// by the hierarchy.
    public let separatorToken: String?

    /// The masker of `text` from its encoding (one text, no padding): segments as SHAP's
    /// `token_segments` cuts them from the offsets.
    public init(
        text: String, encoding: TextEncoding, keepPrefix: Int, keepSuffix: Int, maskToken: String, collapsesMaskTokens: Bool,
        separatorToken: String?
    ) {
        let scalars = Array(text.unicodeScalars)
        let offsets = encoding.offsets
        func slice(_ start: Int, _ end: Int) -> String {
            let (from, to) = (min(start, scalars.count), min(end, scalars.count))
            return from < to ? String(String.UnicodeScalarView(scalars[from..<to])) : ""
        }
        segments = offsets.indices.map { index in
            let end = index + 1 < offsets.count ? max(offsets[index].upperBound, offsets[index + 1].lowerBound) : offsets[index].upperBound
            return slice(offsets[index].lowerBound, end)
        }
        self.keepPrefix = keepPrefix
        self.keepSuffix = keepSuffix
        self.maskToken = maskToken
        self.collapsesMaskTokens = collapsesMaskTokens
        self.separatorToken = separatorToken
    }

    /// The text keeping the tokens for which `isKept` holds, the others masked.
    public func maskedText(keeping isKept: (Int) -> Bool) -> String {
        var text = ""
        var previousIsMask = false
        for (index, segment) in segments.enumerated() {
            let kept =
                isKept(index) || index < keepPrefix || index >= segments.count - keepSuffix || segment == separatorToken
            if kept {
                text += segment
                previousIsMask = false
            } else if !collapsesMaskTokens || !previousIsMask {
                text += " " + maskToken
                previousIsMask = true
            }
        }
        return Self.collapsingWhitespace(text)
    }

    /// The strings SHAP's hierarchy is built over (`clustering`): each segment stripped, and
    /// prefixed `##` when it continues a word — it starts with an ASCII letter, the segment
    /// before it does not end in a non-word character, and that segment's string is not empty.
    public var clusteringTokens: [String] {
        var tokens: [String] = []
        for (index, segment) in segments.enumerated() {
            let continues =
                index > 0 && !Self.endsInNonWord(segments[index - 1]) && Self.startsWithASCIILetter(segment) && !tokens[index - 1].isEmpty
            tokens.append((continues ? "##" : "") + PythonCharacters.stripped(segment))
        }
        return tokens
    }

    /// The masker's `re.sub(r"[\s]+", " ", text).strip()`.
    static func collapsingWhitespace(_ text: String) -> String {
        var result = String.UnicodeScalarView()
        var inSpace = false
        for scalar in text.unicodeScalars {
            if PythonCharacters.isSpace(scalar) {
                inSpace = true
            } else {
                if inSpace, !result.isEmpty { result.append(" ") }
                inSpace = false
                result.append(scalar)
            }
        }
        return String(result)
    }

    /// Python's `re.match(r"^.*\W$", segment)`: a non-word character last (or just before a
    /// final newline), with no newline before it (`.` does not match one).
    static func endsInNonWord(_ segment: String) -> Bool {
        let scalars = Array(segment.unicodeScalars)
        func matches(at position: Int) -> Bool {
            position >= 0 && !PythonCharacters.isWord(scalars[position]) && !scalars[..<position].contains("\n")
        }
        guard let last = scalars.indices.last else { return false }
        return matches(at: last) || (scalars[last] == "\n" && matches(at: last - 1))
    }

    /// Python's `re.match(r"^[A-Za-z]", segment)`.
    static func startsWithASCIILetter(_ segment: String) -> Bool {
        guard let first = segment.unicodeScalars.first else { return false }
        return ("A"..."Z").contains(first) || ("a"..."z").contains(first)
    }
}
