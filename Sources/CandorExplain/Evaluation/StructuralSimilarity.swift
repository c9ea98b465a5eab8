/// The mean structural similarity of two maps (Wang et al., "Image Quality Assessment: From
/// Error Visibility to Structural Similarity", IEEE TIP 2004), as scikit-image's
/// `structural_similarity` computes it by default and Quantus's `ssim` calls it: 7 × 7
/// uniform windows with the sample covariance (49/48), K₁ = 0.01 and K₂ = 0.03 of the data
/// range — here, as in Quantus, the range of both maps together — averaged over the windows
/// that lie wholly inside the map.
enum StructuralSimilarity {
    static let window = 7

    /// The mean SSIM of two row-major `height × width` maps; nil when the map is smaller than
    /// the window or both maps are one constant (the index is then undefined).
    static func mean(_ a: [Double], _ b: [Double], height: Int, width: Int) -> Double? {
        guard height >= window, width >= window, a.count == height * width, b.count == a.count,
            let low = (a + b).min(), let high = (a + b).max(), high > low
        else { return nil }
        let range = high - low
        let (c1, c2) = ((0.01 * range) * (0.01 * range), (0.03 * range) * (0.03 * range))
        let points = Double(window * window)
        let covariance = points / (points - 1)
        var total = 0.0
        for top in 0...(height - window) {
            for left in 0...(width - window) {
                var (sumA, sumB, sumAA, sumBB, sumAB) = (0.0, 0.0, 0.0, 0.0, 0.0)
                for row in top..<(top + window) {
                    for column in left..<(left + window) {
                        let (x, y) = (a[row * width + column], b[row * width + column])
                        (sumA, sumB) = (sumA + x, sumB + y)
                        (sumAA, sumBB, sumAB) = (sumAA + x * x, sumBB + y * y, sumAB + x * y)
                    }
                }
                let (meanA, meanB) = (sumA / points, sumB / points)
                let varianceA = covariance * (sumAA / points - meanA * meanA)
                let varianceB = covariance * (sumBB / points - meanB * meanB)
                let covarianceAB = covariance * (sumAB / points - meanA * meanB)
                total +=
                    (2 * meanA * meanB + c1) * (2 * covarianceAB + c2)
                    / ((meanA * meanA + meanB * meanB + c1) * (varianceA + varianceB + c2))
            }
        }
        return total / Double((height - window + 1) * (width - window + 1))
    }
}
