import Foundation

/// The score transforms of the `ai.onnx.ml` classifiers (`post_transform`), applied to one
/// row of raw scores, with their vector-Jacobian products. Computed as onnxruntime computes
/// them, including its approximations: `SOFTMAX_ZERO` leaves scores within 1e-7 of zero out
/// of the exponentials, and `PROBIT` inverts erf with Winitzki's closed form (a ≈ 0.147),
/// not exactly.
/// Reference: https://onnx.ai/onnx/operators/onnx_aionnxml_LinearClassifier.html and
/// onnxruntime's `ml_common.h`.
public enum PostTransform: String, Sendable, CaseIterable {
    case none = "NONE"
    case logistic = "LOGISTIC"
    case softmax = "SOFTMAX"
    case softmaxZero = "SOFTMAX_ZERO"
    case probit = "PROBIT"

    /// The transform named by a node's `post_transform` attribute (absent: `NONE`).
    static func named(_ name: String?, node: NodeIdentity) throws(ModelError) -> PostTransform {
        guard let transform = PostTransform(rawValue: name ?? "NONE") else {
            throw ModelError(
                .unsupportedAttribute,
                "\(node): post_transform '\(name ?? "")' is not one of \(allCases.map(\.rawValue).joined(separator: ", "))")
        }
        return transform
    }

    /// The row's transformed scores.
    public func apply(_ scores: [Double]) -> [Double] {
        switch self {
        case .none: return scores
        case .logistic: return scores.map(Self.logistic)
        case .softmax:
            let top = scores.max() ?? 0
            let exponentials = scores.map { exp($0 - top) }
            let total = exponentials.reduce(0, +)
            return exponentials.map { $0 / total }
        case .softmaxZero:
            // exp(v) for the non-zero scores, v itself (≈ 0) for the others, normalised; the
            // shift by the maximum only keeps the exponentials in range.
            let top = scores.max() ?? 0
            let shifted = scores.map { Self.isZero($0) ? $0 * exp(-top) : exp($0 - top) }
            let total = shifted.reduce(0, +)
            return total == 0 ? scores.map { _ in 0.5 } : shifted.map { $0 / total }
        case .probit: return scores.map(Self.probit)
        }
    }

    /// ∂L/∂scores for one row, given its raw scores, the transformed `outputs` and ∂L/∂outputs.
    public func vectorJacobianProduct(scores: [Double], outputs: [Double], outputGradient g: [Double]) -> [Double] {
        switch self {
        case .none: return g
        case .logistic: return zip(g, outputs).map { $0 * $1 * (1 - $1) }
        case .softmax:
            let mean = zip(g, outputs).reduce(0) { $0 + $1.0 * $1.1 }
            return zip(g, outputs).map { $1 * ($0 - mean) }
        case .softmaxZero:
            // y = u / Σu with u = e^v (non-zero scores) or v: ∂L/∂v = u′·(g − Σ g·y)/Σu.
            let top = scores.max() ?? 0
            let total = scores.reduce(0) { $0 + (Self.isZero($1) ? $1 * exp(-top) : exp($1 - top)) }
            guard total != 0 else { return scores.map { _ in 0 } }  // the constant ½ row
            let mean = zip(g, outputs).reduce(0) { $0 + $1.0 * $1.1 }
            return scores.indices.map { index in
                let slope = Self.isZero(scores[index]) ? exp(-top) / total : outputs[index]
                return slope * (g[index] - mean)
            }
        case .probit: return zip(g, scores).map { $0 * Self.probitDerivative($1) }
        }
    }

    /// A binary classifier with one score column reports [1 − t(s), t(s)], as onnxruntime does
    /// (for `NONE` and `LOGISTIC`, the transforms it defines this case for).
    public var expandsBinaryScores: Bool { self == .none || self == .logistic }

    static func logistic(_ value: Double) -> Double { 1 / (1 + exp(-value)) }

    private static func isZero(_ value: Double) -> Bool { abs(value) <= 1e-7 }

    /// Winitzki's approximation a = 0.147 of erf⁻¹, as onnxruntime evaluates it.
    private static let winitzki = 0.147
    private static let piApproximation = 3.14159

    static func probit(_ p: Double) -> Double {
        let x = 2 * p - 1
        let w = (1 - x) * (1 + x)
        let logarithm = log(w)
        let v = 2 / (piApproximation * winitzki) + 0.5 * logarithm
        let v3 = -v + (v * v - logarithm / winitzki).squareRoot()
        return 2.squareRoot() * (x < 0 ? -1 : 1) * v3.squareRoot()
    }

    /// d probit / dp of the approximation above, by the chain rule through w, v and v3; at
    /// p = ½ (where the square root's derivative is singular) the exact value √(2π).
    static func probitDerivative(_ p: Double) -> Double {
        let x = 2 * p - 1
        let w = (1 - x) * (1 + x)
        let logarithm = log(w)
        let v = 2 / (piApproximation * winitzki) + 0.5 * logarithm
        let root = (v * v - logarithm / winitzki).squareRoot()
        let v3 = -v + root
        guard v3 > 0, root > 0 else { return (2 * Double.pi).squareRoot() }
        let dLogarithm = -2 * x / w
        let dv = 0.5 * dLogarithm
        let dv3 = -dv + (2 * v * dv - dLogarithm / winitzki) / (2 * root)
        let dErfInverse = (x < 0 ? -1 : 1) * dv3 / (2 * v3.squareRoot())
        return 2.squareRoot() * dErfInverse * 2
    }
}
