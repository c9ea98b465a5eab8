import Foundation

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

extension DesiredOutcome {
    /// How far an output row is from the outcome: 0 exactly when it is reached. For classes,
    /// DiCE's hinge `yloss` on the class probabilities (the explained output when it is a
    /// probability vector, its softmax otherwise): the largest competing probability minus the
    /// desired one (for "any other class", the prediction's probability minus the largest
    /// other). For a range, the distance from the value to the range.
    func shortfall(_ output: ArraySlice<Float>, original: Int) -> Double {
        if isReached(by: output, original: original) { return 0 }
        let gap: Double
        switch self {
        case .range(let range):
            let value = Double(output.first ?? 0)
            gap = value < range.lowerBound ? range.lowerBound - value : value - range.upperBound
        case .classIndex(let desired):
            let probabilities = ClassProbabilities(output).values
            gap = probabilities.indices.filter { $0 != desired }.map { probabilities[$0] }.max().map { $0 - probabilities[desired] } ?? 0
        case .otherClass:
            let probabilities = ClassProbabilities(output).values
            gap = probabilities.indices.filter { $0 != original }.map { probabilities[$0] }.max().map { probabilities[original] - $0 } ?? 0
        }
        // A tie resolved against the outcome is still short of it.
        return max(gap, .leastNormalMagnitude)
    }

}

/// An output row read as class probabilities, with the way back to the output: a row that
/// already is a probability vector (entries in [0, 1] summing to 1 within 10⁻³) is taken as
/// it is, any other as logits through a softmax.
struct ClassProbabilities {
    let values: [Double]
    let fromLogits: Bool

    init(_ output: ArraySlice<Float>) {
        let raw = output.map(Double.init)
        let sum = raw.reduce(0, +)
        if raw.allSatisfy({ (0...1).contains($0) }), abs(sum - 1) <= 1e-3 {
            values = raw
            fromLogits = false
            return
        }
        let largest = raw.max() ?? 0
        let exponentials = raw.map { Foundation.exp($0 - largest) }
        let total = exponentials.reduce(0, +)
        values = exponentials.map { $0 / total }
        fromLogits = true
    }

    /// ∂pₜ/∂(output k) for every k: pₜ(δₜₖ − pₖ) through the softmax, δₜₖ otherwise.
    func derivatives(of target: Int) -> [Double] {
        values.indices.map { index in
            fromLogits ? values[target] * ((index == target ? 1 : 0) - values[index]) : (index == target ? 1 : 0)
        }
    }
}
