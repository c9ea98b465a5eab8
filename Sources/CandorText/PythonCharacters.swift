/// Python's character classes for a `str` pattern, which the peers' text splitting is written
/// in: lime's `\W+`, SHAP's Text masker (`\W`, `\s`, `str.strip`).
enum PythonCharacters {
    /// `\w`: alphanumeric (letters, decimal digits, numbers) or `_`; a combining mark is not one.
    static func isWord(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.properties.generalCategory {
        case .uppercaseLetter, .lowercaseLetter, .titlecaseLetter, .modifierLetter, .otherLetter, .decimalNumber, .letterNumber,
            .otherNumber:
            true
        default: scalar == "_"
        }
    }

    /// `\s` and `str.isspace`: Unicode's White_Space, and the information separators
    /// U+001C–U+001F, which Python counts as whitespace (their bidirectional class is B or S).
    static func isSpace(_ scalar: Unicode.Scalar) -> Bool {
        scalar.properties.isWhitespace || (0x1C...0x1F).contains(scalar.value)
    }

    /// `str.strip()`: the text without leading and trailing whitespace.
    static func stripped(_ text: String) -> String {
        let scalars = Array(text.unicodeScalars)
        guard let first = scalars.firstIndex(where: { !isSpace($0) }), let last = scalars.lastIndex(where: { !isSpace($0) }) else {
            return ""
        }
        return String(String.UnicodeScalarView(scalars[first...last]))
    }
}
