/// The names a tree ensemble is served under and what each of its outputs holds.
///
/// A model file that declares names (an ONNX graph's input and outputs, as skl2onnx and
/// onnxmltools write them) is served under those names, so a client written against
/// onnxruntime keeps working: the classifier's integer `label`, the `probabilities` (or a
/// regressor's `variable`), plus the raw score as one more output, `margin`, which TreeSHAP
/// explains. Files without declared names (XGBoost's JSON, LightGBM's text) keep Candor's:
/// input `features`, outputs `margin` and `probabilities` or `prediction`.
public struct TreeEnsembleSignature: Sendable, Equatable {
    /// What an output holds.
    public enum Content: Sendable, Equatable {
        /// The raw score before the post-transform, [N, columns].
        case margin
        /// The class scores after the post-transform (a binary classifier's one column s as
        /// [1 − t(s), t(s)]), or a regressor's prediction.
        case scores
        /// The predicted class label, [N], as onnxruntime's `TreeEnsembleClassifier` picks it.
        case label
    }

    public struct Output: Sendable, Equatable {
        public let name: String
        public let content: Content

        public init(name: String, content: Content) {
            self.name = name
            self.content = content
        }
    }

    /// How a classifier's `label` output is chosen, as onnxruntime chooses it.
    public struct ClassLabels: Sendable, Equatable {
        /// The label of each class (an ONNX classifier's `classlabels_int64s`; for string
        /// labels, each class's position).
        public let labels: [Int64]
        /// A one-column binary classifier's label is labels[1] when its raw score exceeds this
        /// (0.5 when every leaf weight is ≥ 0, as for a forest's votes; 0 otherwise).
        public let binaryThreshold: Double

        public init(labels: [Int64], binaryThreshold: Double) {
            self.labels = labels
            self.binaryThreshold = binaryThreshold
        }

        /// The label of one instance from its raw scores: for one column, the side of the
        /// threshold; for more, the class of the first largest score.
        func label(_ margins: ArraySlice<Double>) -> Int64 {
            guard margins.count > 1, let first = margins.indices.first else {
                return labels[(margins.first ?? 0) > binaryThreshold ? 1 : 0]
            }
            var best = first
            for index in margins.indices where margins[index] > margins[best] { best = index }
            return labels[best - first]
        }
    }

    public let input: String
    public let outputs: [Output]
    public let classLabels: ClassLabels?

    /// Declared names; `outputs` must hold one `.margin` output, and a `.label` output needs
    /// `classLabels`.
    public init(input: String, outputs: [Output], classLabels: ClassLabels?) {
        self.input = input
        self.outputs = outputs
        self.classLabels = classLabels
    }

    /// Candor's own names, for files that declare none: `features` in, `margin` and
    /// `probabilities` (a classifier) or `prediction` (a regressor) out.
    public static func undeclared(isRegressor: Bool) -> TreeEnsembleSignature {
        TreeEnsembleSignature(
            input: "features",
            outputs: [
                Output(name: "margin", content: .margin), Output(name: isRegressor ? "prediction" : "probabilities", content: .scores),
            ],
            classLabels: nil)
    }

    /// The declared outputs followed by the raw score, named `margin` — or, should a declared
    /// output already have that name, `raw_margin` (`raw_raw_margin`…).
    public static func declared(input: String, outputs: [Output], classLabels: ClassLabels?) -> TreeEnsembleSignature {
        var name = "margin"
        while outputs.contains(where: { $0.name == name }) { name = "raw_" + name }
        return TreeEnsembleSignature(input: input, outputs: outputs + [Output(name: name, content: .margin)], classLabels: classLabels)
    }
}
