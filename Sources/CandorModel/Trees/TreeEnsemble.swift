import CandorTensor
import Foundation

/// A tree ensemble (gradient-boosted trees, random forests) as a model: each tree adds its
/// leaf value to one output column of the raw score ("margin"), which starts at a base score;
/// the prediction applies the objective's transform to the margin. Inputs are one flat
/// feature vector per instance; NaN marks a missing value and follows each split's default.
///
/// Outputs, named and ordered by its `signature`: the margin [N, K], the raw score TreeSHAP
/// explains; the scores, `probabilities` [N, 2] (a binary classifier's one margin column s,
/// as [1 − t(s), t(s)] the way `predict_proba` and onnxruntime give it) or [N, K], or
/// `prediction` [N, K] for a regressor; and for an ONNX classifier its int64 `label` [N].
public struct TreeEnsemble: PredictiveModel {
    public enum Transform: Sendable, Equatable {
        /// Regression: the prediction is the margin.
        case identity
        /// Binary classification: p = 1 / (1 + e^(−margin)).
        case logistic
        /// Multi-class: softmax over the K margins.
        case softmax
        /// Multi-class: onnxruntime's SOFTMAX_ZERO, which leaves zero margins at zero.
        case softmaxZero
        /// Classification whose margins already are the class scores (a random forest's
        /// averaged votes, as skl2onnx writes it).
        case scores

        /// The classifier score transform applied to each row of margins.
        var postTransform: PostTransform {
            switch self {
            case .identity, .scores: .none
            case .logistic: .logistic
            case .softmax: .softmax
            case .softmaxZero: .softmaxZero
            }
        }
    }

    public let trees: [DecisionTree]
    /// The margin column each tree adds to.
    public let treeColumn: [Int]
    /// The margin before any tree, per column.
    public let baseMargin: [Double]
    public let featureCount: Int
    public let transform: Transform
    /// The input's and outputs' names and what each output holds.
    public let signature: TreeEnsembleSignature
    /// What explanation methods derive from the trees once (TreeSHAP's per-tree tables).
    public let memo = ModelMemo()

    /// - Parameter signature: the names the file declares; nil for Candor's own (`features`
    ///   in, `margin` and `probabilities` or `prediction` out).
    public init(
        trees: [DecisionTree], treeColumn: [Int], baseMargin: [Double], featureCount: Int, transform: Transform,
        signature: TreeEnsembleSignature? = nil
    ) throws(ModelError) {
        guard trees.count == treeColumn.count, !baseMargin.isEmpty, treeColumn.allSatisfy({ baseMargin.indices.contains($0) }),
            featureCount > 0, baseMargin.allSatisfy(\.isFinite)
        else {
            throw ModelError(.invalidModel, "the tree ensemble's trees, their output columns and its base scores do not fit together")
        }
        let signature = signature ?? .undeclared(isRegressor: transform == .identity)
        guard signature.outputs.contains(where: { $0.content == .margin }),
            Set(signature.outputs.map(\.name)).count == signature.outputs.count
        else {
            throw ModelError(.invalidModel, "the tree ensemble's outputs need distinct names and a raw score")
        }
        if signature.outputs.contains(where: { $0.content == .label }) {
            // One score column is a binary classifier's positive class: two labels.
            guard transform != .identity, let labels = signature.classLabels?.labels, labels.count == max(baseMargin.count, 2) else {
                throw ModelError(
                    .invalidModel,
                    "the tree classifier's class labels (\(signature.classLabels?.labels.count ?? 0)) do not match its \(baseMargin.count) score columns"
                )
            }
        }
        self.signature = signature
        self.trees = trees
        self.treeColumn = treeColumn
        self.baseMargin = baseMargin
        self.featureCount = featureCount
        self.transform = transform
        pathWork = trees.reduce(0) { total, tree in
            total + tree.left.filter { $0 == -1 }.count * (tree.depth + 1) * (tree.depth + 1)
        }
    }

    /// About how many steps one path-dependent TreeSHAP walk of every tree takes: Σ leaves ×
    /// (depth + 1)², the algorithm's O(T L D²).
    public let pathWork: Int

    public var columns: Int { baseMargin.count }

    /// Whether every tree knows how much training data reached each node (XGBoost's and
    /// LightGBM's own files do; ONNX conversions drop it).
    public var hasCovers: Bool { trees.allSatisfy { $0.cover[0] > 0 } }

    public var inputs: [TensorInfo] {
        [TensorInfo(name: signature.input, elementType: .float32, shape: [.symbolic("N"), .fixed(featureCount)])]
    }

    /// Whether a one-column margin is reported as two class scores [1 − t(s), t(s)].
    private var expandsBinary: Bool { transform != .identity && columns == 1 }

    public var outputs: [TensorInfo] {
        signature.outputs.map { output in
            switch output.content {
            case .margin: TensorInfo(name: output.name, elementType: .float32, shape: [.symbolic("N"), .fixed(columns)])
            case .scores:
                TensorInfo(name: output.name, elementType: .float32, shape: [.symbolic("N"), .fixed(expandsBinary ? 2 : columns)])
            case .label: TensorInfo(name: output.name, elementType: .int64, shape: [.symbolic("N")])
            }
        }
    }

    /// The index of the raw-score output, which TreeSHAP explains.
    public var marginOutput: Int { signature.outputs.firstIndex { $0.content == .margin } ?? 0 }

    public var elementsPerInstance: Int { featureCount + 3 * columns }

    /// The raw score of each instance, [batch × columns], in double precision.
    public func margins(_ features: Tensor) -> [Double] {
        let rows = features.shape.first ?? 0
        var result = [Double](repeating: 0, count: rows * columns)
        for row in 0..<rows {
            let instance = features.scalars[(row * featureCount)..<((row + 1) * featureCount)]
            for column in 0..<columns { result[row * columns + column] = baseMargin[column] }
            for (tree, column) in zip(trees, treeColumn) {
                result[row * columns + column] += tree.value[tree.leaf(for: instance)]
            }
        }
        return result
    }

    public func predict(_ inputs: [Tensor]) throws(ModelError) -> [Tensor] {
        guard inputs.count == 1, let features = inputs.first, features.rank == 2, features.shape[1] == featureCount else {
            throw ModelError(.inconsistentShapes, "a tree ensemble takes one input of shape [batch, \(featureCount)]")
        }
        let rows = features.shape[0]
        let margin = margins(features)
        func marginRow(_ row: Int) -> ArraySlice<Double> { margin[(row * columns)..<((row + 1) * columns)] }
        do {
            return try signature.outputs.map { output throws(TensorError) -> Tensor in
                switch output.content {
                case .margin:
                    return try Tensor(shape: [rows, columns], scalars: margin.map(Float.init))
                case .scores:
                    var prediction: [Double] = []
                    prediction.reserveCapacity(rows * (expandsBinary ? 2 : columns))
                    let postTransform = transform.postTransform
                    for row in 0..<rows {
                        let scores = postTransform.apply(Array(marginRow(row)))
                        prediction += expandsBinary ? [1 - scores[0], scores[0]] : scores
                    }
                    return try Tensor(shape: [rows, expandsBinary ? 2 : columns], scalars: prediction.map(Float.init))
                case .label:
                    // Checked at init: a label output comes with class labels.
                    let labels = signature.classLabels
                    return try Tensor(shape: [rows], scalars: (0..<rows).map { Float(labels?.label(marginRow($0)) ?? 0) })
                }
            }
        } catch {
            throw ModelError(.tooLarge, "\(error)")
        }
    }
}
