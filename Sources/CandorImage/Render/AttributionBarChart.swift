/// Tabular attributions as an accessible SVG bar chart, one horizontal bar per feature.
///
/// Features are sorted by |attribution|, largest first (ties keep their given order, NaN last);
/// beyond `maxFeatures` the rest are summed into one "N other features" bar, drawn lighter, as
/// SHAP's bar and waterfall plots do. Bars grow right of a zero axis for positive values and left
/// for negative ones, coloured with the Okabe–Ito pair, which stays distinguishable under the
/// common colour-vision deficiencies: vermillion `#D55E00` for positive (pushing the output up)
/// and blue `#0072B2` for negative. Each bar is labelled with its value (three significant
/// digits, explicit sign); each row carries its full feature name and value in a `<title>`
/// tooltip. The `<svg>` has `role="img"` and is labelled by a `<title>` and a `<desc>` that
/// lists every bar, so screen readers read the same numbers. Text is XML-escaped (characters XML
/// forbids become U+FFFD) and long names are shortened on the axis with "…". The width is
/// estimated from the label lengths so the chart fits its `viewBox`.
public enum AttributionBarChart {
    /// Okabe–Ito vermillion, for positive attributions.
    public static let positiveColor = "#D55E00"
    /// Okabe–Ito blue, for negative attributions.
    public static let negativeColor = "#0072B2"

    /// The chart as a standalone SVG document.
    ///
    /// - Parameters:
    ///   - features: names and attributions, in any order. Infinite values are drawn at full
    ///     length; NaN ones with no bar. The "other features" bar sums the finite values only.
    ///   - title: the heading and accessible name; "Feature attributions" when nil.
    ///   - subtitle: a second line under the title, e.g. "target: approved, output 0.83".
    ///   - maxFeatures: how many bars name a feature (at least 1).
    public static func svg(
        features: [(name: String, value: Double)], title: String?, subtitle: String? = nil, maxFeatures: Int = 20
    ) -> String {
        let rows = bars(features, maxFeatures: maxFeatures)
        let heading = title ?? "Feature attributions"
        let layout = Layout(rows: rows, heading: heading, subtitle: subtitle)
        let id = "candor-attribution-chart-" + fingerprint(heading, subtitle, rows)
        var svg = """
            <svg xmlns="http://www.w3.org/2000/svg" role="img" aria-labelledby="\(id)-title \(id)-desc" \
            width="\(number(layout.width))" height="\(number(layout.height))" \
            viewBox="0 0 \(number(layout.width)) \(number(layout.height))" \
            font-family="system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif" font-size="\(number(Layout.fontSize))">

            """
        svg += "<title id=\"\(id)-title\">\(MarkupText.escaped(heading))</title>\n"
        svg += "<desc id=\"\(id)-desc\">\(MarkupText.escaped(description(rows, subtitle: subtitle)))</desc>\n"
        svg += "<rect width=\"100%\" height=\"100%\" fill=\"#ffffff\"/>\n"
        svg += text(heading, x: Layout.margin, y: Layout.margin + 15, attributes: "font-size=\"15\" font-weight=\"600\"")
        if let subtitle {
            svg += text(subtitle, x: Layout.margin, y: Layout.margin + 35, attributes: "fill=\"#555555\"")
        }
        for (index, row) in rows.enumerated() {
            svg += layout.row(row, index: index)
        }
        let axisTop = layout.top - 4
        let axisBottom = layout.top + Double(rows.count) * Layout.rowHeight + 4
        svg += """
            <line x1="\(number(layout.zero))" y1="\(number(axisTop))" x2="\(number(layout.zero))" y2="\(number(axisBottom))" \
            stroke="#333333" stroke-width="1"/>

            """
        svg += "</svg>\n"
        return svg
    }
}

extension AttributionBarChart {
    /// One bar: a feature, or the sum of the features not shown (`otherCount` of them).
    struct Bar {
        let name: String
        let value: Double
        let otherCount: Int
    }

    /// The bars in order: the top `maxFeatures` by magnitude, then the rest summed.
    static func bars(_ features: [(name: String, value: Double)], maxFeatures: Int) -> [Bar] {
        let ranked = features.enumerated().sorted { lhs, rhs in
            let left = lhs.element.value.isNaN ? -1 : abs(lhs.element.value)
            let right = rhs.element.value.isNaN ? -1 : abs(rhs.element.value)
            return left != right ? left > right : lhs.offset < rhs.offset
        }.map(\.element)
        let limit = max(1, maxFeatures)
        var bars = ranked.prefix(limit).map { Bar(name: $0.name, value: $0.value, otherCount: 0) }
        let rest = ranked.dropFirst(limit)
        if !rest.isEmpty {
            let sum = rest.map(\.value).filter(\.isFinite).reduce(0, +)
            let name = rest.count == 1 ? "1 other feature" : "\(rest.count) other features"
            bars.append(Bar(name: name, value: sum, otherCount: rest.count))
        }
        return bars
    }

    /// The geometry: a label column sized to the longest (shortened) name, the bar area split at
    /// the zero axis in proportion to the largest negative and positive magnitudes, and room for
    /// the value labels on either side.
    struct Layout {
        static let fontSize = 12.0
        static let margin = 12.0
        static let rowHeight = 24.0
        static let barHeight = 16.0
        static let barArea = 360.0
        static let gap = 8.0

        let width: Double
        let height: Double
        let top: Double
        let zero: Double
        let labelRight: Double
        let negativeSpan: Double
        let positiveSpan: Double
        let largestNegative: Double
        let largestPositive: Double

        init(rows: [Bar], heading: String, subtitle: String?) {
            top = Layout.margin + (subtitle == nil ? 30 : 50)
            let labelWidth = rows.map { textWidth(shortened($0.name)) }.max() ?? 0
            labelRight = Layout.margin + labelWidth
            let finite = rows.map(\.value).filter(\.isFinite)
            largestNegative = max(0, -(finite.min() ?? 0))
            largestPositive = max(0, finite.max() ?? 0)
            let hasNegative = rows.contains { $0.value < 0 }
            let hasPositive = rows.contains { $0.value > 0 }
            let negativeLabels = rows.filter { $0.value < 0 }.map { textWidth(formatted($0.value)) }.max() ?? 0
            let positiveLabels = rows.filter { !($0.value < 0) }.map { textWidth(formatted($0.value)) }.max() ?? 0
            let spread = largestNegative + largestPositive
            let negativeShare: Double =
                if spread > 0 { largestNegative / spread } else if hasNegative && !hasPositive { 1 } else { 0 }
            negativeSpan = Layout.barArea * negativeShare
            positiveSpan = Layout.barArea - negativeSpan
            zero = labelRight + Layout.gap + (hasNegative ? negativeLabels + 4 : 0) + negativeSpan
            let right = zero + positiveSpan + positiveLabels + 4 + Layout.margin
            let headingWidth = Layout.margin * 2 + max(textWidth(heading) * 15 / 12, textWidth(subtitle ?? ""))
            width = max(right, headingWidth).rounded(.up)
            height = (top + Double(rows.count) * Layout.rowHeight + Layout.margin).rounded(.up)
        }

        /// A row: its tooltip, the feature name, the bar and the value label.
        func row(_ bar: Bar, index: Int) -> String {
            let y = top + Double(index) * Layout.rowHeight
            let middle = y + Layout.rowHeight / 2 + 4
            let barTop = y + (Layout.rowHeight - Layout.barHeight) / 2
            let length: Double
            if bar.value.isNaN {
                length = 0
            } else if bar.value > 0 {
                length = bar.value.isFinite && largestPositive > 0 ? positiveSpan * bar.value / largestPositive : positiveSpan
            } else if bar.value < 0 {
                length = bar.value.isFinite && largestNegative > 0 ? negativeSpan * -bar.value / largestNegative : negativeSpan
            } else {
                length = 0
            }
            let isNegative = bar.value < 0
            let barX = isNegative ? zero - length : zero
            let colour = isNegative ? AttributionBarChart.negativeColor : AttributionBarChart.positiveColor
            let opacity = bar.otherCount > 0 ? "0.55" : "1"
            let valueText = formatted(bar.value)
            let valueX = isNegative ? barX - 4 : barX + length + 4
            var svg = "<g class=\"\(bar.otherCount > 0 ? "other-features" : "feature")\">"
            svg += "<title>\(MarkupText.escaped(bar.name)): \(MarkupText.escaped(valueText))</title>"
            svg += AttributionBarChart.text(
                shortened(bar.name), x: labelRight, y: middle, attributes: "text-anchor=\"end\"", newline: false)
            svg += """
                <rect x="\(number(barX))" y="\(number(barTop))" width="\(number(length))" height="\(number(Layout.barHeight))" \
                fill="\(colour)" fill-opacity="\(opacity)"/>
                """
            svg += AttributionBarChart.text(
                valueText, x: valueX, y: middle, attributes: "text-anchor=\"\(isNegative ? "end" : "start")\" fill=\"#222222\"",
                newline: false)
            return svg + "</g>\n"
        }
    }

    /// The `<desc>`: what the chart is and every bar's value, for readers who cannot see it.
    static func description(_ rows: [Bar], subtitle: String?) -> String {
        var sentences = [String]()
        if let subtitle { sentences.append(subtitle + ".") }
        if rows.isEmpty {
            sentences.append("No feature attributions.")
        } else {
            sentences.append(
                "Feature attributions sorted by absolute value; positive values (vermillion) raise the output, "
                    + "negative values (blue) lower it.")
            sentences.append(rows.map { "\($0.name): \(formatted($0.value))" }.joined(separator: "; ") + ".")
        }
        return sentences.joined(separator: " ")
    }

    static func text(_ content: String, x: Double, y: Double, attributes: String, newline: Bool = true) -> String {
        "<text x=\"\(number(x))\" y=\"\(number(y))\" \(attributes)>\(MarkupText.escaped(content))</text>" + (newline ? "\n" : "")
    }

    /// Three significant digits with an explicit sign ("+0.123", "−0.0456", "+1.23e+04").
    static func formatted(_ value: Double) -> String {
        if value.isNaN { return "NaN" }
        if value.isInfinite { return value > 0 ? "+∞" : "−∞" }
        if value == 0 { return "0" }
        let magnitude = abs(value)
        let exponent = Int((magnitude.log10Floor))
        let body: String
        if exponent < -4 || exponent >= 6 {
            let mantissa = magnitude / pow10(exponent)
            let rounded = (mantissa * 100).rounded() / 100
            let (m, e) = rounded >= 10 ? (rounded / 10, exponent + 1) : (rounded, exponent)
            body = trimmed(decimal(m, places: 2)) + "e" + (e < 0 ? "−" : "+") + String(abs(e))
        } else if exponent > 2 {
            let unit = pow10(exponent - 2)
            body = String(Int((magnitude / unit).rounded()) * Int(unit))
        } else {
            body = trimmed(decimal(magnitude, places: 2 - exponent))
        }
        return (value > 0 ? "+" : "−") + body
    }

    /// `value` with `places` decimals, rounded half away from zero.
    static func decimal(_ value: Double, places: Int) -> String {
        let scale = pow10(places)
        let scaled = (value * scale).rounded()
        guard scaled < 1e15 else { return "\(value)" }
        let whole = Int(scaled) / Int(scale)
        let fraction = Int(scaled) % Int(scale)
        if places == 0 { return String(whole) }
        let digits = String(fraction)
        return "\(whole)." + String(repeating: "0", count: places - digits.count) + digits
    }

    static func trimmed(_ text: String) -> String {
        guard text.contains(".") else { return text }
        var result = Substring(text)
        while result.last == "0" { result = result.dropLast() }
        if result.last == "." { result = result.dropLast() }
        return String(result)
    }

    static func pow10(_ exponent: Int) -> Double {
        var result = 1.0
        for _ in 0..<abs(exponent) { result *= 10 }
        return exponent < 0 ? 1 / result : result
    }

    /// A name as drawn on the axis: at most 40 characters, the rest replaced by "…".
    static func shortened(_ name: String) -> String {
        name.count > 40 ? String(name.prefix(39)) + "…" : name
    }

    /// An estimate of the rendered width at 12 px: 7 px a character, 12 for wide (CJK, emoji)
    /// ones — generous, since a clipped label is worse than a margin.
    static func textWidth(_ text: String) -> Double {
        text.unicodeScalars.reduce(0) { width, scalar in width + (scalar.value >= 0x1100 ? 12 : 7) }
    }

    /// A coordinate with at most one decimal.
    static func number(_ value: Double) -> String {
        let tenths = (value * 10).rounded()
        guard tenths.isFinite, abs(tenths) < 1e15 else { return "0" }
        let integer = Int(tenths)
        return integer % 10 == 0 ? String(integer / 10) : (integer < 0 ? "-" : "") + "\(abs(integer) / 10).\(abs(integer) % 10)"
    }

    /// A short FNV-1a digest of the content, so two charts inlined in one page get distinct ids.
    static func fingerprint(_ heading: String, _ subtitle: String?, _ rows: [Bar]) -> String {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        let content = ([heading, subtitle ?? ""] + rows.map { "\($0.name)\u{0}\($0.value)" }).joined(separator: "\u{1}")
        for byte in content.utf8 {
            hash = (hash ^ UInt64(byte)) &* 0x0000_0100_0000_01b3
        }
        return String(hash >> 32, radix: 16)
    }
}

extension Double {
    /// ⌊log₁₀ self⌋ for positive finite values, by repeated scaling (no Foundation needed).
    fileprivate var log10Floor: Int {
        var exponent = 0
        var value = self
        while value >= 10 {
            value /= 10
            exponent += 1
        }
        while value < 1 {
            value *= 10
            exponent -= 1
        }
        return exponent
    }
}
