import CandorTensor
import Foundation

/// A tree ensemble (gradient-boosted trees, random forests) as a model: each tree adds its
/// leaf value to one output column of the raw score ("margin"), which starts at a base score;
/// the prediction applies the objective's transform to the margin. Inputs are one flat
/// feature vector per instance; NaN marks a missing value and follows each split's default.
///
/// Outputs: `margin` [N, K], the raw score TreeSHAP explains, and `probabilities` [N, 2]
/// (a binary classifier's one margin column s, as [1 − t(s), t(s)] the way `predict_proba`
/// and onnxruntime give it) or [N, K], or `prediction` [N, K] for a regressor.
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

    public init(
        trees: [DecisionTree], treeColumn: [Int], baseMargin: [Double], featureCount: Int, transform: Transform
    ) throws(ModelError) {
        guard trees.count == treeColumn.count, !baseMargin.isEmpty, treeColumn.allSatisfy({ baseMargin.indices.contains($0) }),
            featureCount > 0, baseMargin.allSatisfy(\.isFinite)
        else {
            throw ModelError(.invalidModel, "the tree ensemble's trees, their output columns and its base scores do not fit together")
        }
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
        [TensorInfo(name: "features", elementType: .float32, shape: [.symbolic("N"), .fixed(featureCount)])]
    }

    /// Whether a one-column margin is reported as two class scores [1 − t(s), t(s)].
    private var expandsBinary: Bool { transform != .identity && columns == 1 }

    public var outputs: [TensorInfo] {
        let predictionName = transform == .identity ? "prediction" : "probabilities"
        let predictionWidth = expandsBinary ? 2 : columns
        return [
            TensorInfo(name: "margin", elementType: .float32, shape: [.symbolic("N"), .fixed(columns)]),
            TensorInfo(name: predictionName, elementType: .float32, shape: [.symbolic("N"), .fixed(predictionWidth)]),
        ]
    }

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
        var prediction: [Double] = []
        prediction.reserveCapacity(rows * (expandsBinary ? 2 : columns))
        let postTransform = transform.postTransform
        for row in 0..<rows {
            let scores = postTransform.apply(Array(margin[(row * columns)..<((row + 1) * columns)]))
            prediction += expandsBinary ? [1 - scores[0], scores[0]] : scores
        }
        do {
            return [
                try Tensor(shape: [rows, columns], scalars: margin.map(Float.init)),
                try Tensor(shape: [rows, prediction.count / max(rows, 1)], scalars: prediction.map(Float.init)),
            ]
        } catch {
            throw ModelError(.tooLarge, "\(error)")
        }
    }
}
