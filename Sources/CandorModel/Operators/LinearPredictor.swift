import CandorTensor

/// `LinearRegressor` and `LinearClassifier` (ai.onnx.ml): raw scores s = X·Wᵀ + b, one per
/// target or class, then the `post_transform` — scikit-learn's linear models, logistic
/// regression and linear SVMs as skl2onnx writes them. W's row count follows from the
/// input's feature count at run time, as in onnxruntime.
///
/// The classifier's outputs are the label (int64: the class label of the highest score — of
/// a positive raw score for a one-row binary classifier — or its position when the labels
/// are strings, which Candor's tensors do not carry) and the scores. With one coefficient row and two classes the scores are [1 − t(s), t(s)], as
/// onnxruntime reports them.
/// Reference: https://onnx.ai/onnx/operators/onnx_aionnxml_LinearClassifier.html
public struct LinearPredictor: Operator {
    public var attributionRules: AttributionRules {
        AttributionRules(
            deepLift: .gradient,
            lrp: .refused(
                reason:
                    "LRP's weight-layer rules cover Conv, Gemm and MatMul (Captum's nn.Conv2d and nn.Linear), not an ai.onnx.ml linear model and its post-transform"
            ))
    }

    /// W, row-major, [rows × features].
    public let coefficients: [Float]
    /// b, one per row; empty for none.
    public let intercepts: [Float]
    public let transform: PostTransform
    /// The class labels (classifier), nil for a regressor.
    let labels: [Int64]?

    init(classifier: Bool, attributes: inout NodeAttributes, context: OperatorContext) throws(ModelError) {
        let node = context.node
        coefficients = try attributes.floats("coefficients") ?? []
        intercepts = try attributes.floats("intercepts") ?? []
        transform = try PostTransform.named(try attributes.string("post_transform"), node: node)
        guard !coefficients.isEmpty else { throw ModelError(.unsupportedAttribute, "\(node): no coefficients") }
        if classifier {
            _ = try attributes.int("multi_class", default: 0)  // onnxruntime ignores it too
            let names = try attributes.strings("classlabels_strings")
            let labels = try attributes.ints("classlabels_ints") ?? names.map { $0.indices.map(Int64.init) } ?? []
            guard labels.count >= 2 else {
                throw ModelError(.unsupportedAttribute, "\(node): a classifier needs at least two class labels")
            }
            self.labels = labels
        } else {
            let targets = try attributes.int("targets", default: 1)
            guard targets >= 1, coefficients.count % targets == 0, intercepts.isEmpty || intercepts.count == targets else {
                throw ModelError(
                    .unsupportedAttribute,
                    "\(node): \(coefficients.count) coefficients and \(intercepts.count) intercepts for \(targets) targets")
            }
            guard transform == .none else {
                throw ModelError(.unsupportedAttribute, "\(node): a regressor's post_transform must be NONE")
            }
            labels = nil
        }
    }

    /// W as a [rows, width] tensor for inputs of `width` features.
    public func weights(width: Int) throws(TensorError) -> Tensor {
        guard width > 0, coefficients.count % width == 0 else {
            throw .shapeMismatch("\(coefficients.count) coefficients do not divide into rows of \(width) features")
        }
        let rows = coefficients.count / width
        guard intercepts.isEmpty || intercepts.count == rows else {
            throw .shapeMismatch("\(intercepts.count) intercepts for \(rows) coefficient rows")
        }
        if let labels, rows != labels.count, !(rows == 1 && labels.count == 2 && transform.expandsBinaryScores) {
            throw .shapeMismatch("\(rows) coefficient rows for \(labels.count) classes with post_transform \(transform.rawValue)")
        }
        return try Tensor(shape: [rows, width], scalars: coefficients)
    }

    /// Whether one score row is reported as two columns [1 − t(s), t(s)].
    func expandsBinary(rows: Int) -> Bool { labels?.count == 2 && rows == 1 }

    /// The raw scores X·Wᵀ + b, [batch, rows].
    private func scores(_ x: Tensor) throws(TensorError) -> (scores: Tensor, weights: Tensor) {
        guard x.rank == 2 else {
            throw .invalidShape("\(labels == nil ? "LinearRegressor" : "LinearClassifier") needs [N, C] input, got \(x.shape)")
        }
        let weights = try weights(width: x.shape[1])
        var scores = try MatrixMultiplication.batched(x, weights, transposeB: true)
        if !intercepts.isEmpty {
            let rows = intercepts.count
            for index in scores.scalars.indices { scores.scalars[index] += intercepts[index % rows] }
        }
        return (scores, weights)
    }

    public func forward(_ inputs: [GraphValue?]) throws(TensorError) -> [GraphValue] {
        let (raw, weights) = try scores(try inputs.float(0, "X"))
        guard let labels else { return [.float(raw)] }
        let batch = raw.shape[0]
        let rows = weights.shape[0]
        let binary = expandsBinary(rows: rows)
        let width = binary ? 2 : rows
        var output = [Float]()
        output.reserveCapacity(batch * width)
        var label = [Int64]()
        label.reserveCapacity(batch)
        for row in 0..<batch {
            let scores = raw.scalars[(row * rows)..<((row + 1) * rows)].map(Double.init)
            var transformed = transform.apply(scores)
            if binary { transformed = [1 - transformed[0], transformed[0]] }
            output += transformed.map(Float.init)
            // onnxruntime labels a one-row binary classifier by the sign of its raw score.
            let best = binary ? (scores[0] > 0 ? 1 : 0) : transformed.indices.max { transformed[$0] < transformed[$1] } ?? 0
            label.append(labels[best])
        }
        return [.integer(try IntegerTensor(shape: [batch], values: label)), .float(try Tensor(shape: [batch, width], scalars: output))]
    }

    public func backward(
        _ inputs: [GraphValue?], outputs: [GraphValue], outputGradients: [Tensor?], wanted: [Bool]
    ) throws(TensorError) -> [Tensor?] {
        let (raw, weights) = try scores(try inputs.float(0, "X"))
        var scoreGradient: Tensor
        if labels == nil {
            scoreGradient = outputGradients.firstGradient(like: raw)
        } else {
            // The scores are recomputed from the raw ones: `outputs` leaves out an unnamed label.
            guard let g = outputGradients.count == 2 ? outputGradients[1] : nil else {
                return [Tensor(zerosLike: try inputs.float(0, "X"))]
            }
            let rows = weights.shape[0]
            let width = g.shape.count == 2 ? g.shape[1] : rows
            scoreGradient = Tensor(zerosLike: raw)
            for row in 0..<raw.shape[0] {
                let scores = raw.scalars[(row * rows)..<((row + 1) * rows)].map(Double.init)
                var outputGradient = g.scalars[(row * width)..<((row + 1) * width)].map(Double.init)
                let outputValues = transform.apply(scores)
                if expandsBinary(rows: rows) {
                    // y = [1 − t, t]: ∂L/∂t = g₁ − g₀.
                    outputGradient = [outputGradient[1] - outputGradient[0]]
                }
                let gradient = transform.vectorJacobianProduct(scores: scores, outputs: outputValues, outputGradient: outputGradient)
                for column in 0..<rows { scoreGradient.scalars[row * rows + column] = Float(gradient[column]) }
            }
        }
        return [try MatrixMultiplication.batched(scoreGradient, weights)]
    }
}
