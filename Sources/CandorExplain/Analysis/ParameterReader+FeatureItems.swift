extension ParameterReader {
    /// A features parameter whose items are single features or pairs of them (partial
    /// dependence's `features`, as scikit-learn's `features=[0, (1, 2)]`): each item is a
    /// feature name or index, or an array of two different ones; "all" is every feature alone.
    /// The items keep the request's order. Nil when omitted.
    mutating func featureItems(_ name: String, count: Int, names: [String]?, maximumItems: Int) throws(ExplanationError) -> [[Int]]? {
        let (spec, value) = value(name)
        switch value {
        case nil:
            return nil
        case .string("all")?:
            guard count <= maximumItems else {
                throw invalid(spec, "is \"all\", \(count) features, more than the \(maximumItems) items one request may analyse: name them")
            }
            return (0..<count).map { [$0] }
        case .array(let items)?:
            guard !items.isEmpty, items.count <= maximumItems else {
                throw invalid(spec, "must hold between 1 and \(maximumItems) items, got \(items.count)")
            }
            var result: [[Int]] = []
            for item in items {
                guard case .array(let pair) = item else {
                    result.append([try feature(item, spec: spec, count: count, names: names)])
                    continue
                }
                guard pair.count == 2 else {
                    throw invalid(spec, "pairs exactly two features, [a, b], for a two-way plot; got an array of \(pair.count)")
                }
                let first = try feature(pair[0], spec: spec, count: count, names: names)
                let second = try feature(pair[1], spec: spec, count: count, names: names)
                guard first != second else {
                    let label = names.flatMap { first < $0.count ? $0[first] : nil } ?? String(first)
                    throw invalid(spec, "pairs two different features; got '\(label.prefix(100))' twice")
                }
                result.append([first, second])
            }
            return result
        case let other?:
            throw invalid(
                spec, "must be \"all\" or an array of features (names or indices) and pairs [a, b] of them, got \(other.typeName)")
        }
    }
}
