import CandorExplain

/// How quartile bins differ from the `lime` package's discretizer for one feature, as the
/// LIME fixture records it (`edges`, `names`, `means`, `stds` with lime's 1e-11, `mins`,
/// `maxs`, `feature_values`, `feature_frequencies`); empty when they agree.
package func limeDiscretizerMismatches(_ bins: QuartileBins, _ lime: [String: Any], name: String) -> [String] {
    var mismatches: [String] = []
    let count = bins.edges.count + 1
    // Decimal text parsed by two parsers (YAML, JSON) may differ in the last bit.
    func same(_ a: Double, _ b: Double) -> Bool { abs(a - b) <= 1e-12 * max(abs(a), abs(b)) }
    let edges = lime["edges"] as? [Double] ?? []
    if edges.count != bins.edges.count || !zip(bins.edges, edges).allSatisfy(same) { mismatches.append("edges \(bins.edges) vs \(edges)") }
    let rules = (0..<count).map { bins.rule($0, feature: name) }
    if rules != (lime["names"] as? [String]) { mismatches.append("rules \(rules) vs \(lime["names"] ?? "none")") }
    let means = lime["means"] as? [Double] ?? []
    let stds = lime["stds"] as? [Double] ?? []
    let mins = lime["mins"] as? [Double] ?? []
    let maxs = lime["maxs"] as? [Double] ?? []
    guard [means.count, stds.count, mins.count, maxs.count].allSatisfy({ $0 == count }) else {
        return mismatches + ["lime has \(means.count) bins, these \(count)"]
    }
    for bin in 0..<count {
        if abs(bins.means[bin] - means[bin]) > 1e-9 * max(1, abs(means[bin])) { mismatches.append("mean of bin \(bin)") }
        if abs(bins.stds[bin] + 1e-11 - stds[bin]) > 1e-9 * max(1, stds[bin]) { mismatches.append("std of bin \(bin)") }
        let (lower, upper) = bins.bounds(of: bin)
        if !same(lower, mins[bin]) || !same(upper, maxs[bin]) { mismatches.append("bounds of bin \(bin): \(lower)…\(upper)") }
    }
    let values = lime["feature_values"] as? [Int] ?? []
    let frequencies = lime["feature_frequencies"] as? [Double] ?? []
    let total = Double(bins.counts.reduce(0, +))
    if values != bins.counts.indices.filter({ bins.counts[$0] > 0 }) { mismatches.append("occupied bins \(values)") }
    for (value, frequency) in zip(values, frequencies) where value < count && abs(Double(bins.counts[value]) / total - frequency) > 1e-12 {
        mismatches.append("frequency of bin \(value)")
    }
    return mismatches
}
