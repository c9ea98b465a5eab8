/// A linear support-vector machine fitted exactly: the minimiser of
/// (α/2)‖w‖² + (1/n) Σᵢ max(0, 1 − yᵢ(w·xᵢ + b)) with the intercept b unregularised — the
/// objective scikit-learn's `SGDClassifier(loss="hinge", alpha=α)` approaches by stochastic
/// gradient descent, and so the CAV Captum's default TCAV classifier estimates. It is solved
/// in the dual, a C-SVM with C = 1/(αn), by sequential minimal optimisation with second-order
/// working-set selection (Platt 1998; Fan, Chen & Lin, "Working Set Selection Using Second
/// Order Information for Training Support Vector Machines", JMLR 2005 — LIBSVM's solver), on a
/// precomputed Gram matrix. Deterministic: the same examples give the same w.
struct LinearSVM: Sendable {
    /// w's coefficients on the examples, αᵢyᵢ of the dual solution: w = Σᵢ coefficientsᵢ xᵢ.
    let coefficients: [Double]
    /// The intercept b of the decision value w·x + b.
    let intercept: Double
    /// Whether the solver met its tolerance within its iteration limit.
    let converged: Bool

    /// Fits the SVM to examples with Gram matrix `gram` (row-major n × n of xᵢ·xⱼ) and labels
    /// ±1, checking `checkCancellation` every 4096 iterations.
    init(
        gram: [Double], labels: [Double], alpha: Double, tolerance: Double = 1e-6,
        checkCancellation: () throws(ExplanationError) -> Void
    ) throws(ExplanationError) {
        let n = labels.count
        let bound = 1 / (alpha * Double(Swift.max(n, 1)))
        var dual = [Double](repeating: 0, count: n)
        // The gradient of ½αᵀQα − eᵀα, Qᵢⱼ = yᵢyⱼKᵢⱼ.
        var gradient = [Double](repeating: -1, count: n)
        let maximumIterations = Swift.max(100_000, 100 * n)
        var converged = false
        func isUpper(_ t: Int) -> Bool { dual[t] >= bound }
        func isLower(_ t: Int) -> Bool { dual[t] <= 0 }
        for iteration in 0..<maximumIterations {
            if iteration % 4096 == 4095 { try checkCancellation() }
            // i: the most violating index of I_up = {t: yₜ = 1, αₜ < C} ∪ {t: yₜ = −1, αₜ > 0}.
            var largest = -Double.infinity
            var first = -1
            for t in 0..<n where labels[t] > 0 ? !isUpper(t) : !isLower(t) {
                let value = -labels[t] * gradient[t]
                if value >= largest {
                    largest = value
                    first = t
                }
            }
            // j: the index of I_low whose pairing with i decreases the objective most.
            var largestLow = -Double.infinity
            var second = -1
            var best = Double.infinity
            if first >= 0 {
                let row = first * n
                for t in 0..<n where labels[t] > 0 ? !isLower(t) : !isUpper(t) {
                    let value = labels[t] * gradient[t]
                    largestLow = Swift.max(largestLow, value)
                    let difference = largest + value
                    guard difference > 0 else { continue }
                    let curvature = Swift.max(gram[row + first] + gram[t * n + t] - 2 * gram[row + t], 1e-12)
                    let decrease = -difference * difference / curvature
                    if decrease <= best {
                        best = decrease
                        second = t
                    }
                }
            }
            if first < 0 || second < 0 || largest + largestLow < tolerance {
                converged = true
                break
            }
            let (i, j) = (first, second)
            let curvature = Swift.max(gram[i * n + i] + gram[j * n + j] - 2 * gram[i * n + j], 1e-12)
            let (oldI, oldJ) = (dual[i], dual[j])
            if labels[i] != labels[j] {
                let delta = (-gradient[i] - gradient[j]) / curvature
                let difference = dual[i] - dual[j]
                dual[i] += delta
                dual[j] += delta
                if difference > 0 {
                    if dual[j] < 0 { (dual[j], dual[i]) = (0, difference) }
                } else if dual[i] < 0 {
                    (dual[i], dual[j]) = (0, -difference)
                }
                if difference > 0 {
                    if dual[i] > bound { (dual[i], dual[j]) = (bound, bound - difference) }
                } else if dual[j] > bound {
                    (dual[j], dual[i]) = (bound, bound + difference)
                }
            } else {
                let delta = (gradient[i] - gradient[j]) / curvature
                let sum = dual[i] + dual[j]
                dual[i] -= delta
                dual[j] += delta
                if sum > bound {
                    if dual[i] > bound { (dual[i], dual[j]) = (bound, sum - bound) }
                } else if dual[j] < 0 {
                    (dual[j], dual[i]) = (0, sum)
                }
                if sum > bound {
                    if dual[j] > bound { (dual[j], dual[i]) = (bound, sum - bound) }
                } else if dual[i] < 0 {
                    (dual[i], dual[j]) = (0, sum)
                }
            }
            let (changeI, changeJ) = (dual[i] - oldI, dual[j] - oldJ)
            for k in 0..<n {
                gradient[k] += labels[k] * (labels[i] * gram[k * n + i] * changeI + labels[j] * gram[k * n + j] * changeJ)
            }
        }
        // The intercept (LIBSVM's −ρ): the mean of yᵢGᵢ over free αᵢ, else the middle of its bounds.
        var (upperBound, lowerBound, freeSum, freeCount) = (Double.infinity, -Double.infinity, 0.0, 0)
        for t in 0..<n {
            let value = labels[t] * gradient[t]
            if isUpper(t) {
                if labels[t] < 0 { upperBound = Swift.min(upperBound, value) } else { lowerBound = Swift.max(lowerBound, value) }
            } else if isLower(t) {
                if labels[t] > 0 { upperBound = Swift.min(upperBound, value) } else { lowerBound = Swift.max(lowerBound, value) }
            } else {
                freeSum += value
                freeCount += 1
            }
        }
        let rho = freeCount > 0 ? freeSum / Double(freeCount) : (upperBound + lowerBound) / 2
        coefficients = zip(dual, labels).map { $0 * $1 }
        intercept = rho.isFinite ? -rho : 0
        self.converged = converged
    }
}
