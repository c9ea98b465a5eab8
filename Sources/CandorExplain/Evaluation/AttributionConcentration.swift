import CandorModel
import CandorTensor
import Foundation

/// `sparseness`: the Gini index of |φ| (Chalasani et al., "Concise Explanations of Neural
/// Networks using Adversarial Training", ICML 2020), as Quantus `Sparseness` computes it: |φ|
/// scaled by its maximum, 10⁻⁷ added to every element (so an all-zero explanation is uniform,
/// not undefined), then Σᵢ (2i − n − 1)·aᵢ / (n·Σa) over the ascending values. 0 for equal
/// attributions, towards 1 as one feature takes them all.
public struct Sparseness: QualityMetric {
    public let descriptor = MethodDescriptor(
        name: "sparseness", family: "evaluation",
        summary: "Gini index of |attributions|: 0 spread evenly, towards 1 concentrated on few features",
        reference: "Quantus Sparseness (Chalasani et al. 2020)", requirement: .any,
        checkedAgainst:
            "Quantus 0.6 Sparseness on the MLP and CNN integrated-gradients goldens (golden/evaluation.json); even and one-hot attributions",
        parameters: [])

    public init() {}

    public func prepare(_ parameters: [String: JSONValue], for problem: ExplanationProblem) throws(ExplanationError) -> any MetricPlan {
        let reader = try ParameterReader(parameters, specs: descriptor.parameters, method: descriptor.name)
        return AttributionStatistic(effectiveParameters: reader.effective) { magnitudes in
            let values = magnitudes.map { $0 + 1e-7 }.sorted()
            let n = Double(values.count)
            let weighted = values.enumerated().reduce(0.0) { $0 + (2 * Double($1.offset + 1) - n - 1) * $1.element }
            return weighted / (n * values.reduce(0, +))
        }
    }
}

/// `complexity`: the Shannon entropy (natural log) of the shares pᵢ = |φᵢ| / Σ|φ| (Bhatt et
/// al., "Evaluating and Aggregating Feature-based Model Explanations", IJCAI 2020), as Quantus
/// `Complexity` computes it: −Σ pᵢ log(pᵢ + 10⁻¹²). 0 when one feature holds every
/// attribution, log n when all n hold equal shares — which is also what an all-zero
/// explanation gets (Quantus divides 0 by 0 there; every feature holds an equal nothing).
public struct Complexity: QualityMetric {
    public let descriptor = MethodDescriptor(
        name: "complexity", family: "evaluation",
        summary: "entropy of the share of |attributions| each feature holds: 0 for one feature, log n for all equal",
        reference: "Quantus Complexity (Bhatt et al. 2020)", requirement: .any,
        checkedAgainst:
            "Quantus 0.6 Complexity on the MLP and CNN integrated-gradients goldens (golden/evaluation.json); even and one-hot attributions",
        parameters: [])

    public init() {}

    public func prepare(_ parameters: [String: JSONValue], for problem: ExplanationProblem) throws(ExplanationError) -> any MetricPlan {
        let reader = try ParameterReader(parameters, specs: descriptor.parameters, method: descriptor.name)
        return AttributionStatistic(effectiveParameters: reader.effective) { magnitudes in
            let total = magnitudes.reduce(0, +)
            guard total > 0 else { return log(Double(magnitudes.count)) }
            return -magnitudes.reduce(0.0) { entropy, magnitude in
                let share = magnitude / total
                return entropy + share * log(share + 1e-12)
            }
        }
    }
}

/// A metric that is a function of one instance's attribution magnitudes alone, |φ| / max|φ|
/// (all zeros stay zeros) in float64 over every input's elements.
struct AttributionStatistic: MetricPlan {
    let effectiveParameters: [String: JSONValue]
    let statistic: @Sendable ([Double]) -> Double

    func evaluate(_ subject: EvaluationSubject, context: ExplanationContext) throws(ExplanationError) -> [MetricValue] {
        (0..<subject.attributions.count).map { row in
            let magnitudes = subject.flatAttributions(row).map { Double(abs($0)) }
            let largest = magnitudes.max() ?? 0
            return MetricValue(statistic(largest > 0 ? magnitudes.map { $0 / largest } : magnitudes))
        }
    }
}
