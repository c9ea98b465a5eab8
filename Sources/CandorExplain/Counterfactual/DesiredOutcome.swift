/// What a counterfactual must make the model say: a given class, any class but the one
/// predicted now, or (a model with one output value, a regressor or a score) a value in a
/// range. A classifier's prediction is the argmax of the explained output (the first of
/// equal values), as Candor resolves default targets.
enum DesiredOutcome: Sendable, Equatable {
    /// Any class other than the instance's current prediction (DiCE's `"opposite"` for two
    /// classes, Alibi's `target_class="other"`).
    case otherClass
    case classIndex(Int)
    case range(ClosedRange<Double>)

    /// The argmax of one output row.
    static func prediction(_ output: ArraySlice<Float>) -> Int {
        var best = output.startIndex
        for index in output.indices where output[index] > output[best] { best = index }
        return best - output.startIndex
    }

    /// Whether one output row reaches the outcome, for an instance originally predicted
    /// `original`.
    func isReached(by output: ArraySlice<Float>, original: Int) -> Bool {
        switch self {
        case .otherClass: Self.prediction(output) != original
        case .classIndex(let desired): Self.prediction(output) == desired
        case .range(let range): output.count == 1 && output.first.map { range.contains(Double($0)) } ?? false
        }
    }

    /// The outcome as the response echoes it.
    var json: JSONValue {
        switch self {
        case .otherClass: .object(["class": "any other"])
        case .classIndex(let desired): .object(["class": .number(Double(desired))])
        case .range(let range): .object(["range": .array([.number(range.lowerBound), .number(range.upperBound)])])
        }
    }
}
