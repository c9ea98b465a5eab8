import CandorTensor

/// A linear classifier trained as scikit-learn 1.x's `SGDClassifier(loss="hinge", penalty="l2",
/// alpha=α, max_iter=1000, tol=1e-3)` trains it (`_plain_sgd`): plain stochastic gradient
/// descent on the L2-regularised hinge loss with the "optimal" learning rate
/// η_t = 1/(α(t₀ + t − 1)) (Bottou's heuristic t₀ = 1/(α·√(1/√α))), the examples shuffled every
/// epoch, stopped when the epoch's mean objective has not improved by `tol` for five epochs —
/// the classifier Captum's TCAV trains by default. Only the shuffle's random numbers differ
/// from scikit-learn's (a seeded ``SeededRandom``), so over seeds the weights follow the same
/// distribution as Captum's over its seeds, and their scale (SGD stops well before the
/// regularised optimum, with ‖w‖ far above it) is Captum's too.
struct HingeSGD: Sendable {
    let weights: [Double]
    let intercept: Double
    let epochs: Int

    static let maximumEpochs = 1000
    static let tolerance = 1e-3
    static let epochsWithoutImprovement = 5

    /// Trains on rows `rows` of `features` (row-major, `width` per row) with labels ±1;
    /// `shuffles` false keeps the given order in every epoch (scikit-learn's `shuffle=False`).
    init(
        features: [Float], width: Int, rows: [Int], labels: [Double], alpha: Double, random: inout SeededRandom, shuffles: Bool = true,
        checkCancellation: () throws(ExplanationError) -> Void
    ) throws(ExplanationError) {
        var weights = [Double](repeating: 0, count: width)
        var scale = 1.0
        var intercept = 0.0
        let typical = (1 / alpha.squareRoot()).squareRoot()
        let start = 1 / (typical * alpha)
        var t = 1.0
        var best = Double.infinity
        var stalled = 0
        var order = Array(rows.indices)
        var epochs = 0
        // ‖w‖² kept up to date as w = scale · weights changes.
        var squaredNorm = 0.0
        for _ in 0..<Self.maximumEpochs {
            try checkCancellation()
            epochs += 1
            if shuffles {
                for index in stride(from: order.count - 1, to: 0, by: -1) { order.swapAt(index, random.integer(below: index + 1)) }
            }
            var objective = 0.0
            for position in order {
                let offset = rows[position] * width
                let label = labels[position]
                var dot = 0.0
                for feature in 0..<width { dot += weights[feature] * Double(features[offset + feature]) }
                let prediction = dot * scale + intercept
                let eta = 1 / (alpha * (start + t - 1))
                let margin = prediction * label
                objective += (margin <= 1 ? 1 - margin : 0) + alpha * 0.5 * squaredNorm
                let update = margin <= 1 ? eta * label : 0
                let shrink = Swift.max(0, 1 - eta * alpha)
                scale *= shrink
                squaredNorm *= shrink * shrink
                if shrink == 0 {
                    weights = [Double](repeating: 0, count: width)
                    scale = 1
                }
                if update != 0 {
                    // w += update·x with w = scale·weights; ‖w + u x‖² = ‖w‖² + 2u w·x + u²‖x‖².
                    var squares = 0.0
                    for feature in 0..<width {
                        let value = Double(features[offset + feature])
                        weights[feature] += update / scale * value
                        squares += value * value
                    }
                    squaredNorm += 2 * update * dot * scale + update * update * squares
                    intercept += update
                }
                if scale < 1e-9 {
                    for feature in 0..<width { weights[feature] *= scale }
                    scale = 1
                }
                t += 1
            }
            guard intercept.isFinite, squaredNorm.isFinite else {
                throw ExplanationError(.nonFiniteResult, "tcav: the CAV's stochastic gradient descent overflowed")
            }
            let mean = objective / Double(Swift.max(rows.count, 1))
            stalled = mean > best - Self.tolerance ? stalled + 1 : 0
            best = Swift.min(best, mean)
            if stalled >= Self.epochsWithoutImprovement { break }
        }
        self.weights = weights.map { $0 * scale }
        self.intercept = intercept
        self.epochs = epochs
    }
}
