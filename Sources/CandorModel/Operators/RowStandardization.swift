import CandorTensor

/// The kernel the normalisation operators share (`LayerNormalization`,
/// `InstanceNormalization`, `GroupNormalization`): consecutive rows of a tensor, each
/// standardised to x̂ = (x − μ) / √(σ² + ε) with its own mean and (biased) variance, and the
/// vector-Jacobian product of that map. μ and σ² are accumulated in double precision.
struct RowStandardization {
    /// Elements per row; the tensor holds `count / rowLength` rows.
    let rowLength: Int
    let epsilon: Float

    /// x̂ and each row's 1/√(σ² + ε).
    func standardised(_ x: Tensor) throws(TensorError) -> (normal: Tensor, inverseDeviations: [Float]) {
        guard rowLength > 0, x.count % rowLength == 0 else {
            throw .invalidShape("cannot normalise \(x.shape) in rows of \(rowLength) elements")
        }
        let rows = x.count / rowLength
        var normal = x
        var inverseDeviations = [Float](repeating: 0, count: rows)
        for row in 0..<rows {
            let range = (row * rowLength)..<((row + 1) * rowLength)
            var sum = 0.0
            for index in range { sum += Double(x.scalars[index]) }
            let mean = sum / Double(rowLength)
            var squares = 0.0
            for index in range { squares += (Double(x.scalars[index]) - mean) * (Double(x.scalars[index]) - mean) }
            let inverse = 1 / (squares / Double(rowLength) + Double(epsilon)).squareRoot()
            inverseDeviations[row] = Float(inverse)
            for index in range { normal.scalars[index] = Float((Double(x.scalars[index]) - mean) * inverse) }
        }
        return (normal, inverseDeviations)
    }

    /// ∂L/∂x from ∂L/∂x̂ (`gradient`): per row, (ĝ − mean(ĝ) − x̂ · mean(ĝ ⊙ x̂)) / √(σ² + ε).
    func inputGradient(_ gradient: Tensor, normal: Tensor, inverseDeviations: [Float]) throws(TensorError) -> Tensor {
        guard gradient.count == normal.count, inverseDeviations.count * rowLength == normal.count else {
            throw .shapeMismatch("the gradient \(gradient.shape) does not match the normalised \(normal.shape)")
        }
        var result = gradient
        for (row, inverse) in inverseDeviations.enumerated() {
            let range = (row * rowLength)..<((row + 1) * rowLength)
            var meanGradient = 0.0
            var meanProjection = 0.0
            for index in range {
                meanGradient += Double(gradient.scalars[index])
                meanProjection += Double(gradient.scalars[index]) * Double(normal.scalars[index])
            }
            meanGradient /= Double(rowLength)
            meanProjection /= Double(rowLength)
            for index in range {
                let centred = Double(gradient.scalars[index]) - meanGradient - Double(normal.scalars[index]) * meanProjection
                result.scalars[index] = Float(centred * Double(inverse))
            }
        }
        return result
    }
}
