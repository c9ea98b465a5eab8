/// The running moments of a sampling method's draws, element by element, from which the
/// standard error of its estimate follows (`attributions_stderr`). Each sample is one value
/// per element (a noisy copy's attributions, a mask's weighted output, an ordering's marginal
/// contributions); the sums are updated in place (Welford; Pébay, "Formulas for robust,
/// one-pass parallel computation of covariances and arbitrary-order statistical moments",
/// 2008, for the third and fourth), so memory is a fixed few numbers per element however many
/// samples are drawn, and a large mean does not cancel the spread away as raw sums of squares
/// would.
struct SampleMoments: Sendable {
    /// Samples added so far.
    private(set) var count = 0
    private var mean: [Double]
    /// Σ (a − ā)², Σ (a − ā)³, Σ (a − ā)⁴ per element; the last two only when asked for.
    private var m2: [Double]
    private var m3: [Double]
    private var m4: [Double]

    /// Moments of samples of `elements` values; `fourthMoments` for the standard error of a
    /// variance.
    init(elements: Int, fourthMoments: Bool = false) {
        mean = [Double](repeating: 0, count: elements)
        m2 = mean
        m3 = fourthMoments ? mean : []
        m4 = m3
    }

    /// Adds one sample: a value for every element.
    mutating func add(_ sample: [Double]) {
        precondition(sample.count == mean.count, "a sample of \(sample.count) values for \(mean.count) elements")
        count += 1
        let n = Double(count)
        for (index, value) in sample.enumerated() {
            let delta = value - mean[index]
            let deltaN = delta / n
            let term = delta * deltaN * (n - 1)
            if !m4.isEmpty {
                let deltaN2 = deltaN * deltaN
                m4[index] += term * deltaN2 * (n * n - 3 * n + 3) + 6 * deltaN2 * m2[index] - 4 * deltaN * m3[index]
                m3[index] += term * deltaN * (n - 2) - 3 * deltaN * m2[index]
            }
            mean[index] += deltaN
            m2[index] += term
        }
    }

    /// The standard error of the sample mean, s/√n with s² the unbiased sample variance; nil
    /// below two samples, where the spread cannot be estimated.
    var standardErrorOfMean: [Float]? {
        guard count >= 2 else { return nil }
        let n = Double(count)
        return m2.map { Float(($0 / ((n - 1) * n)).squareRoot()) }
    }

    /// The standard error of the population variance V = m₂ = (1/n) Σ (a − ā)²:
    /// ((n − 1)/n) · √((m₄ − m₂² (n − 3)/(n − 1)) / n), the plug-in of the exact variance of
    /// the unbiased sample variance, Var(s²) = (μ₄ − σ⁴ (n − 3)/(n − 1)) / n, scaled by
    /// V = ((n − 1)/n) s² (m_k = (1/n) Σ (a − ā)^k). Nil below two samples or without
    /// `fourthMoments`.
    var standardErrorOfVariance: [Float]? {
        guard count >= 2, !m4.isEmpty else { return nil }
        let n = Double(count)
        return zip(m2, m4).map { sum2, sum4 in
            let (second, fourth) = (sum2 / n, sum4 / n)
            let variance = max(fourth - second * second * (n - 3) / (n - 1), 0) / n
            return Float((n - 1) / n * variance.squareRoot())
        }
    }
}
