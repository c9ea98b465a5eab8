import Foundation

/// BERT's normalizer as `tokenizers` defines it (`BertNormalizer`): remove the NUL, U+FFFD
/// and "other" scalars (categories Cc, Cf, Cn, Co, Cs) except tab, newline and carriage
/// return, and make every whitespace scalar a space (`clean_text`); put spaces around CJK
/// ideographs (`handle_chinese_chars`); strip accents — canonical decomposition, then drop
/// the nonspacing marks (Mn) — when `strip_accents` says so, or by default when lowercasing;
/// and lowercase (full Unicode lowercase mapping).
struct BertNormalizer: Equatable {
    var cleanText = true
    var handleChineseChars = true
    var stripAccents: Bool?
    var lowercase = true

    func normalize(_ text: inout AlignedText) {
        if cleanText {
            text.map { scalar in
                if scalar.value == 0 || scalar.value == 0xFFFD || Self.isControl(scalar) { return [] }
                return [Self.isWhitespace(scalar) ? " " : scalar]
            }
        }
        if handleChineseChars {
            text.map { Self.isChineseCharacter($0) ? [" ", $0, " "] : [$0] }
        }
        if stripAccents ?? lowercase {
            text.map { scalar in
                let decomposed = String(scalar).decomposedStringWithCanonicalMapping.unicodeScalars
                return decomposed.filter { $0.properties.generalCategory != .nonspacingMark }
            }
        }
        if lowercase {
            text.map { Array($0.properties.lowercaseMapping.unicodeScalars) }
        }
    }

    /// Whitespace as BERT counts it: tab, newline and carriage return, and White_Space.
    static func isWhitespace(_ scalar: Unicode.Scalar) -> Bool {
        scalar == "\t" || scalar == "\n" || scalar == "\r" || scalar.properties.isWhitespace
    }

    /// The "other" categories, except tab, newline and carriage return.
    static func isControl(_ scalar: Unicode.Scalar) -> Bool {
        if scalar == "\t" || scalar == "\n" || scalar == "\r" { return false }
        switch scalar.properties.generalCategory {
        case .control, .format, .unassigned, .privateUse, .surrogate: return true
        default: return false
        }
    }

    /// The CJK Unified Ideographs blocks and their extensions and compatibility blocks that
    /// BERT spaces out (not Hiragana, Katakana or Hangul, which are written without spaces
    /// but spelled by WordPiece).
    static func isChineseCharacter(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.value {
        case 0x4E00...0x9FFF, 0x3400...0x4DBF, 0x20000...0x2A6DF, 0x2A700...0x2B73F, 0x2B740...0x2B81F, 0x2B920...0x2CEAF,
            0xF900...0xFAFF, 0x2F800...0x2FA1F:
            return true
        default: return false
        }
    }
}
