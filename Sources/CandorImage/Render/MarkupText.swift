/// Text made safe to place in XML or HTML, as content or as an attribute value: the SVG bar
/// charts' labels and the text highlighted for a text explanation.
public enum MarkupText {
    /// Text safe in XML content and attribute values: the five special characters escaped,
    /// characters XML 1.0 forbids (C0 controls other than tab, newline and return; U+FFFE,
    /// U+FFFF) replaced by U+FFFD.
    public static func escaped(_ text: String) -> String {
        var result = ""
        result.reserveCapacity(text.utf8.count)
        for scalar in text.unicodeScalars {
            switch scalar {
            case "&": result += "&amp;"
            case "<": result += "&lt;"
            case ">": result += "&gt;"
            case "\"": result += "&quot;"
            case "'": result += "&apos;"
            case "\t", "\n", "\r": result.unicodeScalars.append(scalar)
            default:
                if scalar.value < 0x20 || scalar.value == 0xFFFE || scalar.value == 0xFFFF {
                    result += "\u{FFFD}"
                } else {
                    result.unicodeScalars.append(scalar)
                }
            }
        }
        return result
    }
}
