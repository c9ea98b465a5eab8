/// The elements of comma-separated header lists weighted by quality, such as `Accept` and
/// `Accept-Encoding` (RFC 9110 §12.4.2): each element's token, lowercased, and its `q`
/// (1 when absent; `q=0` means "not acceptable").
enum QualityList {
    static func parse(_ values: [String]) -> [(token: String, quality: Double)] {
        values.flatMap { $0.split(separator: ",") }.compactMap { element in
            let parts = element.split(separator: ";").map { $0.filter { !$0.isWhitespace }.lowercased() }
            guard let token = parts.first, !token.isEmpty else { return nil }
            let quality = parts.dropFirst().lazy.compactMap { $0.hasPrefix("q=") ? Double($0.dropFirst(2)) : nil }.first ?? 1
            return (token, quality)
        }
    }
}
