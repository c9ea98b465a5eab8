/// BERT's pre-tokenizer (`BertPreTokenizer`): words are split at whitespace, which is
/// dropped, and every punctuation scalar — ASCII punctuation (which includes `$`, `+`, `<`,
/// `=`, `>`, `^`, `` ` ``, `|`, `~`) or a Unicode punctuation category (Pc, Pd, Ps, Pe, Pi,
/// Pf, Po) — is a word of its own.
enum BertPreTokenizer {
    /// The words of `text`, as ranges of its scalars.
    static func words(_ text: AlignedText) -> [Range<Int>] {
        var words: [Range<Int>] = []
        var start: Int?
        for (index, scalar) in text.scalars.enumerated() {
            let whitespace = BertNormalizer.isWhitespace(scalar)
            let punctuation = isPunctuation(scalar)
            if whitespace || punctuation {
                if let wordStart = start { words.append(wordStart..<index) }
                start = nil
                if punctuation { words.append(index..<index + 1) }
            } else if start == nil {
                start = index
            }
        }
        if let wordStart = start { words.append(wordStart..<text.scalars.count) }
        return words
    }

    static func isPunctuation(_ scalar: Unicode.Scalar) -> Bool {
        if scalar.isASCII {
            return (0x21...0x2F).contains(scalar.value) || (0x3A...0x40).contains(scalar.value)
                || (0x5B...0x60).contains(scalar.value) || (0x7B...0x7E).contains(scalar.value)
        }
        switch scalar.properties.generalCategory {
        case .connectorPunctuation, .dashPunctuation, .openPunctuation, .closePunctuation, .initialPunctuation,
            .finalPunctuation, .otherPunctuation:
            return true
        default: return false
        }
    }
}
