import CandorTensor

/// LIME's local surrogate (Ribeiro et al., 2016; the `lime` package's `LimeBase`): a ridge
/// regression (α = 1, with intercept) of the model's outputs on the interpretable features of
/// the perturbed samples, each sample weighted by its proximity to the instance, over at most
/// `num_features` features chosen first.
struct LocalSurrogate {
    /// How the features entering the final regression are chosen, as `lime` names them.
    enum FeatureSelection: String, CaseIterable {
        /// `forward_selection` for at most 6 features, `highest_weights` above.
        case auto
        /// Greedily add the feature that most raises the weighted R² of an unregularised fit.
        case forwardSelection = "forward_selection"
        /// The largest |coefficient| of a ridge fit (α = 0.01) on every feature.
        case highestWeights = "highest_weights"
        /// Every feature.
        case none
    }

    struct Fit {
        /// (feature, coefficient) ordered by |coefficient|, largest first (ties keep feature order).
        let coefficients: [(feature: Int, weight: Double)]
        let intercept: Double
        /// Weighted R² of the surrogate on the samples.
        let score: Double
        /// The surrogate's prediction for the instance (the first sample).
        let localPrediction: Double
        /// Each coefficient's standard error over the samples, by feature (`standardErrors`).
        let standardErrors: [Int: Double]
    }

    /// Samples, row-major [rows × columns]; the first row is the instance itself.
    let data: [Double]
    let rows: Int
    let columns: Int
    let labels: [Double]
    let weights: [Double]
    /// Nil when no sample has weight.
    private let moments: WeightedMoments?

    init(data: [Double], rows: Int, columns: Int, labels: [Double], weights: [Double]) {
        self.data = data
        self.rows = rows
        self.columns = columns
        self.labels = labels
        self.weights = weights
        moments = WeightedMoments(data: data, rows: rows, columns: columns, labels: labels, weights: weights)
    }

    /// The weighted, centred second moments of every column and of the labels, computed in one
    /// pass over the samples: every fit below (forward selection's dozens, highest_weights',
    /// the final ridge) and its score read sub-blocks of them instead of passing over the
    /// samples again, since a weighted least-squares fit and its R² depend on the samples only
    /// through these sums.
    private struct WeightedMoments {
        /// Weighted means x̄ of the columns, and ȳ of the labels.
        let means: [Double]
        let meanY: Double
        /// Σ w (x − x̄)(x − x̄)ᵀ, row-major columns × columns.
        let gram: [Double]
        /// Σ w (x − x̄)(y − ȳ), per column.
        let cross: [Double]
        /// Σ w (y − ȳ)².
        let spread: Double

        init?(data: [Double], rows: Int, columns: Int, labels: [Double], weights: [Double]) {
            let totalWeight = weights.reduce(0, +)
            guard totalWeight > 0 else { return nil }
            meanY = zip(labels, weights).reduce(0) { $0 + $1.0 * $1.1 } / totalWeight
            var means = [Double](repeating: 0, count: columns)
            for row in 0..<rows {
                for column in 0..<columns { means[column] += data[row * columns + column] * weights[row] }
            }
            means = means.map { $0 / totalWeight }
            var centred = data
            var cross = [Double](repeating: 0, count: columns)
            var spread = 0.0
            for row in 0..<rows {
                let y = labels[row] - meanY
                spread += weights[row] * y * y
                for column in 0..<columns {
                    centred[row * columns + column] -= means[column]
                    cross[column] += weights[row] * centred[row * columns + column] * y
                }
            }
            self.means = means
            self.cross = cross
            self.spread = spread
            gram = LinearSolvers.weightedGram(centred, rows: rows, columns: columns, weights: weights)
        }

        /// The Gram matrix's block on `used`, with `ridge` added to its diagonal.
        func gram(_ used: [Int], ridge: Double) -> [Double] {
            var block = [Double](repeating: 0, count: used.count * used.count)
            for (i, a) in used.enumerated() {
                for (j, b) in used.enumerated() { block[i * used.count + j] = gram[a * means.count + b] }
                block[i * used.count + i] += ridge
            }
            return block
        }
    }

    func explain(features: Int, selection: FeatureSelection) -> Fit? {
        let used: [Int]
        switch selection {
        case .auto: used = features <= 6 ? forwardSelection(features) : highestWeights(features)
        case .forwardSelection: used = forwardSelection(features)
        case .highestWeights: used = highestWeights(features)
        case .none: used = Array(0..<columns)
        }
        guard let (coefficients, intercept) = ridge(used, alpha: 1) else { return nil }
        let prediction = intercept + zip(used, coefficients).reduce(0) { $0 + data[$1.0] * $1.1 }
        let ordered = zip(used, coefficients).map { (feature: $0, weight: $1) }.enumerated()
            .sorted {
                abs($0.element.weight) != abs($1.element.weight) ? abs($0.element.weight) > abs($1.element.weight) : $0.offset < $1.offset
            }
            .map(\.element)
        let errors = standardErrors(used, coefficients, intercept, alpha: 1) ?? []
        return Fit(
            coefficients: ordered, intercept: intercept, score: score(used, coefficients), localPrediction: prediction,
            standardErrors: Dictionary(uniqueKeysWithValues: zip(used, errors)))
    }

    /// scikit-learn's `Ridge(alpha, fit_intercept=True).fit(X[:, used], y, sample_weight=w)`:
    /// centre X and y at their weighted means, solve (XcᵀWXc + αI)β = XcᵀWyc, and put the
    /// intercept where the means meet. Singular normal equations without a ridge fall back to
    /// the minimum-norm least-squares solution on the samples, as numpy's `lstsq`.
    func ridge(_ used: [Int], alpha: Double) -> (coefficients: [Double], intercept: Double)? {
        guard let moments else { return nil }
        var beta = LinearSolvers.solve(moments.gram(used, ridge: alpha), used.map { moments.cross[$0] })
        if beta == nil, alpha == 0, let (centred, _, meanY) = centred(used) {
            beta = LinearSolvers.weightedLeastSquares(centred, rows: rows, columns: used.count, weights: weights, labels.map { $0 - meanY })
        }
        guard let beta else { return nil }
        return (beta, moments.meanY - zip(used, beta).reduce(0) { $0 + moments.means[$1.0] * $1.1 })
    }

    /// The `used` columns centred at their weighted means, the means, and the labels' mean;
    /// nil when no sample has weight.
    private func centred(_ used: [Int]) -> (data: [Double], means: [Double], meanY: Double)? {
        let totalWeight = weights.reduce(0, +)
        guard totalWeight > 0 else { return nil }
        let meanY = zip(labels, weights).reduce(0) { $0 + $1.0 * $1.1 } / totalWeight
        let means = used.map { column in (0..<rows).reduce(0) { $0 + data[$1 * columns + column] * weights[$1] } / totalWeight }
        var centred = [Double](repeating: 0, count: rows * used.count)
        for row in 0..<rows {
            for (position, column) in used.enumerated() {
                centred[row * used.count + position] = data[row * columns + column] - means[position]
            }
        }
        return (centred, means, meanY)
    }

    /// The coefficients' standard errors over the samples, which are independent draws: the
    /// heteroskedasticity-robust (HC0, White 1980) sandwich H⁻¹ (Σᵢ wᵢ² rᵢ² xᵢxᵢᵀ) H⁻¹ of the
    /// weighted ridge fit, with H = XᵀWX + αI on the centred features and rᵢ the residuals. It
    /// measures how far the coefficients would move on another draw of the neighbourhood —
    /// the error of the estimate, not of the surrogate's fit to the model.
    func standardErrors(_ used: [Int], _ beta: [Double], _ intercept: Double, alpha: Double) -> [Double]? {
        guard !used.isEmpty, let moments, let (centred, _, _) = centred(used) else { return nil }
        let n = used.count
        let hessian = moments.gram(used, ridge: alpha)
        let scores = (0..<rows).map { row in
            let residual = labels[row] - intercept - zip(used, beta).reduce(0) { $0 + data[row * columns + $1.0] * $1.1 }
            return weights[row] * weights[row] * residual * residual
        }
        let meat = LinearSolvers.weightedGram(centred, rows: rows, columns: n, weights: scores)
        var identity = [Double](repeating: 0, count: n * n)
        for j in 0..<n { identity[j * n + j] = 1 }
        guard let inverse = LinearSolvers.solve(hessian, identity) else { return nil }
        return (0..<n).map { j in
            var variance = 0.0
            for k in 0..<n {
                for l in 0..<n { variance += inverse[j * n + k] * meat[k * n + l] * inverse[l * n + j] }
            }
            return Swift.max(variance, 0).squareRoot()
        }
    }

    /// scikit-learn's weighted R²: 1 − Σw(y − ŷ)² / Σw(y − ȳ)², with 1 for a perfect fit of
    /// constant labels and 0 for an imperfect one, for a fit whose intercept puts it through
    /// the means (as `ridge`'s): y − ŷ = (y − ȳ) − (x − x̄)·β, so the residual sum is
    /// Σw(y − ȳ)² − 2β·Xcᵀ W yc + βᵀ XcᵀWXc β, from the moments.
    func score(_ used: [Int], _ coefficients: [Double]) -> Double {
        guard let moments else { return 0 }
        let block = moments.gram(used, ridge: 0)
        var residual = moments.spread
        for (i, a) in used.enumerated() {
            residual -= 2 * coefficients[i] * moments.cross[a]
            for j in used.indices { residual += coefficients[i] * block[i * used.count + j] * coefficients[j] }
        }
        residual = Swift.max(residual, 0)
        guard moments.spread > 0 else { return residual == 0 ? 1 : 0 }
        return 1 - residual / moments.spread
    }

    /// lime's `forward_selection`: each round adds the unused feature whose unregularised fit
    /// with the features so far scores highest (the first on ties).
    private func forwardSelection(_ count: Int) -> [Int] {
        var used: [Int] = []
        for _ in 0..<min(count, columns) {
            var best = 0
            var bestScore = -100_000_000.0
            for feature in 0..<columns where !used.contains(feature) {
                let candidate = used + [feature]
                guard let (coefficients, _) = ridge(candidate, alpha: 0) else { continue }
                let score = score(candidate, coefficients)
                if score > bestScore {
                    best = feature
                    bestScore = score
                }
            }
            used.append(best)
        }
        return used
    }

    /// lime's `highest_weights`: a ridge fit (α = 0.01) on every feature, ranked by
    /// |coefficient × the instance's value| (the instance's interpretable values are all 1 for
    /// binary features), largest first.
    private func highestWeights(_ count: Int) -> [Int] {
        guard let (coefficients, _) = ridge(Array(0..<columns), alpha: 0.01) else { return Array(0..<min(count, columns)) }
        let ranked = (0..<columns).map { (feature: $0, size: abs(coefficients[$0] * data[$0])) }.enumerated()
            .sorted { $0.element.size != $1.element.size ? $0.element.size > $1.element.size : $0.offset < $1.offset }
        return ranked.prefix(count).map(\.element.feature)
    }
}
