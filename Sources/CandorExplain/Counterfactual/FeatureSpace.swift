/// The space a counterfactual is searched in for one flat tabular input: which features may
/// change, the range each may take, the whole-number and categorical features, and the scale
/// distances are measured in.
///
/// The distance is Wachter, Mittelstadt & Russell's ("Counterfactual Explanations without
/// Opening the Black Box", 2017, eq. 5): d(x, x′) = Σⱼ |x′ⱼ − xⱼ| / MADⱼ, each feature's L1
/// change in units of its median absolute deviation over the background data, which DiCE
/// (Mothilal, Sharma & Tan, FAT* 2020) also uses for continuous features. A MAD of 0 (a
/// feature constant in over half the background) counts as 1, as DiCE does. A categorical
/// feature adds 1 when it changes, whatever the codes (DiCE's categorical distance).
struct FeatureSpace: Sendable {
    let count: Int
    let names: [String]?
    /// The features a counterfactual may change, ascending: `features_to_vary` without the
    /// request's and the sidecar's immutable ones.
    let varying: [Int]
    /// The values each feature may take (`permitted_range`, else the training data's range).
    let ranges: [ClosedRange<Double>]
    let domains: FeatureDomains
    /// Each feature's median absolute deviation over the background (0 replaced by 1).
    let scale: [Double]

    /// Each feature's MAD over `rows` (row-major, `count` wide), 0 replaced by 1.
    static func medianAbsoluteDeviations(_ rows: [Float], count: Int) -> [Double] {
        let rowCount = count > 0 ? rows.count / count : 0
        return (0..<count).map { feature in
            let column = (0..<rowCount).map { Double(rows[$0 * count + feature]) }
            let center = median(column)
            let deviation = median(column.map { abs($0 - center) })
            return deviation > 0 ? deviation : 1
        }
    }

    /// The median (the mean of the middle two for an even count), as numpy's.
    static func median(_ values: [Double]) -> Double {
        guard !values.isEmpty else { return 0 }
        let sorted = values.sorted()
        let middle = sorted.count / 2
        return sorted.count % 2 == 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2
    }

    /// d(a, b) in MAD units; categorical features count 1 when they differ.
    func distance(_ a: [Double], _ b: [Double]) -> Double {
        var total = 0.0
        for feature in 0..<count where a[feature] != b[feature] {
            total += domains.categories[feature] == nil ? abs(a[feature] - b[feature]) / scale[feature] : 1
        }
        return total
    }

    /// The features whose values differ.
    func changes(from instance: [Double], to candidate: [Double]) -> [Int] {
        (0..<count).filter { instance[$0] != candidate[$0] }
    }

    /// The candidate made admissible for `instance`: features that may not vary keep the
    /// instance's values; the others are clipped to their range (widened to hold the
    /// instance's own value, which is always admissible), rounded when whole-numbered and
    /// moved to the nearest listed code when categorical. Values are float32 numbers, as the
    /// model reads them, so distances are those of the inputs the model is asked about.
    func project(_ candidate: [Double], onto instance: [Double]) -> [Double] {
        var result = instance
        for feature in varying where candidate[feature] != instance[feature] {
            result[feature] = Double(Float(admissible(candidate[feature], feature: feature, instance: instance[feature])))
        }
        return result
    }

    /// One feature's value made admissible.
    func admissible(_ value: Double, feature: Int, instance: Double) -> Double {
        let range = min(ranges[feature].lowerBound, instance)...max(ranges[feature].upperBound, instance)
        if let codes = domains.categories[feature] {
            let allowed = codes.filter { range.contains($0) || $0 == instance }
            return (allowed.isEmpty ? codes : allowed).min { abs($0 - value) < abs($1 - value) } ?? instance
        }
        let clipped = Swift.min(Swift.max(value, range.lowerBound), range.upperBound)
        guard domains.integer.contains(feature) else { return clipped }
        let rounded = clipped.rounded()
        if range.contains(rounded) { return rounded }
        let inward = rounded < range.lowerBound ? range.lowerBound.rounded(.up) : range.upperBound.rounded(.down)
        return range.contains(inward) ? inward : instance
    }

    /// The name of a feature for responses (its index when the sidecar names none).
    func label(_ feature: Int) -> JSONValue {
        names.map { .string($0[feature]) } ?? .number(Double(feature))
    }
}
