import Foundation

/// A score of a model's predictions against true values, as scikit-learn 1.9.1's scorers of
/// the same names compute it (`sklearn.metrics.get_scorer`): larger is better, so the error
/// metrics are negated. `permutation_importance` measures the drop of one when a feature is
/// shuffled.
enum ImportanceScoring: String, CaseIterable, Sendable {
    case accuracy
    case r2
    case negLogLoss = "neg_log_loss"
    case negMeanSquaredError = "neg_mean_squared_error"

    /// Whether the score compares classes (labels are class indices, the output's values are
    /// class scores or probabilities), rather than the analysed value with numbers.
    var isClassification: Bool { self == .accuracy || self == .negLogLoss }

    /// How far a row of probabilities may sum from 1: scikit-learn's `log_loss` warns beyond
    /// rtol √ε of the predictions' dtype (float32 here); Candor refuses instead.
    static let probabilityTolerance = Double(Float.ulpOfOne).squareRoot()

    /// The score of rows `first ..< first + truth.count` of `outputs` against `truth`: class
    /// indices for the classification scores, numbers compared with output value `target`
    /// for the others.
    func score(_ outputs: OutputRows, first: Int, truth: [Double], target: Int) throws(ExplanationError) -> Double {
        let count = truth.count
        guard count > 0 else { return 0 }
        switch self {
        case .accuracy:
            var correct = 0
            for row in 0..<count where Self.predictedClass(outputs, row: first + row) == Int(truth[row]) { correct += 1 }
            return Double(correct) / Double(count)
        case .negLogLoss:
            return -(try Self.logLoss(outputs, first: first, truth: truth))
        case .r2:
            return Self.rSquared(predicted: (0..<count).map { Double(outputs[first + $0, target]) }, truth: truth)
        case .negMeanSquaredError:
            var sum = 0.0
            for row in 0..<count {
                let error = truth[row] - Double(outputs[first + row, target])
                sum += error * error
            }
            return -sum / Double(count)
        }
    }

    /// The row's largest value's index, the first on ties (numpy's `argmax`).
    static func predictedClass(_ outputs: OutputRows, row: Int) -> Int {
        var best = 0
        for column in 1..<max(outputs.perRow, 1) where outputs[row, column] > outputs[row, best] { best = column }
        return best
    }

    /// Cross-entropy of class probabilities, −mean log p(true class), with scikit-learn's
    /// `log_loss` clipping: p to [ε, 1 − ε], ε the machine epsilon of the predictions' dtype
    /// (float32, as Candor's and onnxruntime's outputs are), so a confident wrong answer costs
    /// −log ε ≈ 15.9 rather than infinity. Refuses (a 400) rows that are not probabilities.
    static func logLoss(_ outputs: OutputRows, first: Int, truth: [Double]) throws(ExplanationError) -> Double {
        let epsilon = Double(Float.ulpOfOne)
        var total = 0.0
        for row in 0..<truth.count {
            var sum = 0.0
            for column in 0..<outputs.perRow {
                let value = Double(outputs[first + row, column])
                guard value >= -probabilityTolerance, value <= 1 + probabilityTolerance else {
                    throw notProbabilities("row \(row) has the value \(value)")
                }
                sum += value
            }
            guard abs(sum - 1) <= probabilityTolerance else { throw notProbabilities("row \(row) sums to \(sum)") }
            let probability = Double(outputs[first + row, Int(truth[row])])
            total -= log(min(max(probability, epsilon), 1 - epsilon))
        }
        return total / Double(truth.count)
    }

    private static func notProbabilities(_ detail: String) -> ExplanationError {
        ExplanationError(
            .invalidParameter,
            "scoring 'neg_log_loss' needs an output of class probabilities (each row within [0, 1], summing to 1 within \(probabilityTolerance)); \(detail): analyse the model's probability output, or use 'accuracy'"
        )
    }

    /// The coefficient of determination, 1 − Σ(y − ŷ)² / Σ(y − ȳ)², as scikit-learn's
    /// `r2_score` (force_finite): 1 for a perfect fit of constant truth, 0 for an imperfect one.
    static func rSquared(predicted: [Double], truth: [Double]) -> Double {
        guard !truth.isEmpty else { return 0 }
        let mean = truth.reduce(0, +) / Double(truth.count)
        var residual = 0.0
        var total = 0.0
        for (value, actual) in zip(predicted, truth) {
            residual += (actual - value) * (actual - value)
            total += (actual - mean) * (actual - mean)
        }
        if total == 0 { return residual == 0 ? 1 : 0 }
        return 1 - residual / total
    }
}
