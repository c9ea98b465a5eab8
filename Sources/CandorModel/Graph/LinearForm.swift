import CandorTensor

/// The affine map from a model's features to the raw scores of its one linear node (before
/// the classifier's post-transform): scores = W·x + b in the input's own units. It exists
/// when everything between the input and that node is per-feature affine (`Scaler`, and
/// `Add`/`Sub`/`Mul`/`Div` by constants, as skl2onnx writes `StandardScaler` and
/// `MinMaxScaler`), so that SHAP's closed form for linear models applies to the whole
/// pipeline. A one-row binary classifier (s for class 1) gets the rows −s and s, its log-odds
/// for class 0 and class 1.
public struct LinearForm: Sendable, Equatable {
    /// W, one row per score column, one entry per feature.
    public let weights: [[Double]]
    public let intercepts: [Double]

    /// The score of each column for one instance.
    public func scores(_ features: ArraySlice<Float>) -> [Double] {
        zip(weights, intercepts).map { row, intercept in
            zip(row, features).reduce(intercept) { $0 + $1.0 * Double($1.1) }
        }
    }

    /// The linear form of `graph` with the given feature count, or nil when it has none.
    static func of(_ graph: ComputationGraph, features: Int) -> LinearForm? {
        guard graph.inputSlots.count == 1, let input = graph.inputSlots.first, features > 0 else { return nil }
        /// value = scale ⊙ x + offset, per feature.
        struct Diagonal {
            var scale: [Double]
            var offset: [Double]
        }
        var affine: [Int: Diagonal] = [
            input: Diagonal(scale: .init(repeating: 1, count: features), offset: .init(repeating: 0, count: features))
        ]
        var result: LinearForm?
        for step in graph.steps {
            let tracked = step.inputs.enumerated().compactMap { position, slot in slot.flatMap { affine[$0] }.map { (position, $0) } }
            guard let (position, value) = tracked.first else { continue }
            guard tracked.count == 1, let output = step.outputs.first ?? nil else { return nil }
            switch step.op {
            case is IdentityOperator:
                affine[output] = value
            case let cast as CastOperator where cast.target == .float32:
                affine[output] = value
            case let scaler as ScalerOperator:
                guard let (offset, scale) = try? scaler.coefficients(width: features) else { return nil }
                affine[output] = Diagonal(
                    scale: zip(value.scale, scale).map { $0 * Double($1) },
                    offset: (0..<features).map { (value.offset[$0] - Double(offset[$0])) * Double(scale[$0]) })
            case let binary as ElementwiseBinary:
                guard step.inputs.count == 2, position < 2,
                    let other = Self.featureConstant(graph, step.inputs[1 - position], features: features)
                else { return nil }
                switch (binary.kind, position) {
                case (.add, _):
                    affine[output] = Diagonal(scale: value.scale, offset: zip(value.offset, other).map { $0 + $1 })
                case (.sub, 0):
                    affine[output] = Diagonal(scale: value.scale, offset: zip(value.offset, other).map { $0 - $1 })
                case (.sub, _):
                    affine[output] = Diagonal(scale: value.scale.map { -$0 }, offset: zip(other, value.offset).map { $0 - $1 })
                case (.mul, _):
                    affine[output] = Diagonal(
                        scale: zip(value.scale, other).map { $0 * $1 }, offset: zip(value.offset, other).map { $0 * $1 })
                case (.div, 0):
                    affine[output] = Diagonal(
                        scale: zip(value.scale, other).map { $0 / $1 }, offset: zip(value.offset, other).map { $0 / $1 })
                case (.div, _):
                    return nil
                }
            case let linear as LinearPredictor:
                guard result == nil, let weights = try? linear.weights(width: features) else { return nil }
                let rows = weights.shape[0]
                var matrix: [[Double]] = []
                var intercepts: [Double] = []
                for row in 0..<rows {
                    let coefficients = weights.scalars[(row * features)..<((row + 1) * features)].map(Double.init)
                    matrix.append(zip(coefficients, value.scale).map { $0 * $1 })
                    intercepts.append(
                        zip(coefficients, value.offset).reduce(linear.intercepts.isEmpty ? 0 : Double(linear.intercepts[row])) {
                            $0 + $1.0 * $1.1
                        })
                }
                if linear.expandsBinary(rows: rows) {
                    matrix.insert(matrix[0].map { -$0 }, at: 0)
                    intercepts.insert(-intercepts[0], at: 0)
                }
                result = LinearForm(weights: matrix, intercepts: intercepts)
            default:
                return nil
            }
        }
        return result
    }

    /// A constant that broadcasts over the feature axis of [N, features]: a scalar or one value
    /// per feature, as Double.
    private static func featureConstant(_ graph: ComputationGraph, _ slot: Int?, features: Int) -> [Double]? {
        guard let slot, case .float(let constant)? = graph.constants[slot] else { return nil }
        let shape = constant.shape.filter { $0 != 1 }
        if constant.count == 1 { return .init(repeating: Double(constant.scalars[0]), count: features) }
        guard shape == [features], constant.shape.last == features else { return nil }
        return constant.scalars.map(Double.init)
    }
}
