import CandorImage
import Foundation

/// A text explanation drawn as an HTML fragment: the text (and its pair) as sent, each token's
/// or word's characters on a background whose hue is the sign of its attribution and whose depth
/// is its size, as Captum's `visualize_text` colours words (`_get_color`: hsl(120, 75%,
/// 100 − 50·a %) for a > 0, hsl(0, 75%, 100 − 40·|a| %) otherwise), with a the attribution
/// divided by the largest |attribution| of the explanation; the value itself in each mark's
/// title. Everything taken from the request is escaped, so the fragment can be inserted into a
/// page as it is.
enum TextHighlight {
    /// A stretch of the text with its attribution.
    struct Span {
        /// Unicode scalars of the text, [start, end).
        let range: Range<Int>
        /// 0: the text, 1: its pair.
        let within: Int
        let value: Double
    }

    static func html(text: String, pair: String?, spans: [Span]) -> String {
        let largest = spans.map { abs($0.value) }.max() ?? 0
        var html = #"<div class="candor-text">"#
        for (within, part) in [text, pair].enumerated() {
            guard let part else { continue }
            html += within == 0 ? "<p>" : #"<p class="candor-text-pair">"#
            html += paragraph(part, spans: merged(spans.filter { $0.within == within }), largest: largest)
            html += "</p>"
        }
        return html + "</div>"
    }

    /// Spans in order, overlapping ones (a byte-level BPE spells one character with several
    /// tokens, each with the character's offsets) joined into one with their values summed.
    private static func merged(_ spans: [Span]) -> [Span] {
        var result: [Span] = []
        for span in spans.sorted(by: { ($0.range.lowerBound, $0.range.upperBound) < ($1.range.lowerBound, $1.range.upperBound) })
        where !span.range.isEmpty {
            if let last = result.last, span.range.lowerBound < last.range.upperBound {
                result[result.count - 1] = Span(
                    range: last.range.lowerBound..<max(last.range.upperBound, span.range.upperBound), within: last.within,
                    value: last.value + span.value)
            } else {
                result.append(span)
            }
        }
        return result
    }

    private static func paragraph(_ text: String, spans: [Span], largest: Double) -> String {
        let scalars = Array(text.unicodeScalars)
        func slice(_ range: Range<Int>) -> String {
            let clamped = min(range.lowerBound, scalars.count)..<min(range.upperBound, scalars.count)
            return MarkupText.escaped(String(String.UnicodeScalarView(scalars[clamped])))
        }
        var html = ""
        var position = 0
        for span in spans where span.range.lowerBound >= position && span.range.lowerBound < scalars.count {
            html += slice(position..<span.range.lowerBound)
            let colour = self.colour(largest > 0 ? span.value / largest : 0)
            html += #"<mark style="background-color: \#(colour)" title="\#(String(format: "%.4g", span.value))">"#
            html += slice(span.range) + "</mark>"
            position = min(span.range.upperBound, scalars.count)
        }
        return html + slice(position..<scalars.count)
    }

    /// Captum's `_get_color` of a value in [−1, 1].
    static func colour(_ value: Double) -> String {
        let clipped = max(-1, min(1, value))
        return clipped > 0
            ? "hsl(120, 75%, \(100 - Int(50 * clipped))%)"
            : "hsl(0, 75%, \(100 - Int(-40 * clipped))%)"
    }
}
