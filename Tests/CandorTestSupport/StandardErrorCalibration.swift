import CandorExplain
import CandorModel
import CandorTensor

/// One run of a sampling method: its estimates and their `attributions_stderr`, every
/// instance's inputs flattened in order.
package struct SampledAttributions {
    package let estimate: [Float]
    package let standardError: [Float]?
}

/// A sampling method on a fixed problem, run at any seed and sample count, to check its
/// standard errors: that the nominal 95% intervals cover the exact values about 95% of the
/// time, and that the standard error shrinks as 1/√n.
package struct StandardErrorCalibration {
    let method: any Explainer
    let problem: ExplanationProblem
    let parameters: [String: JSONValue]

    /// What nominal 95% intervals should cover over 100 seeds, pooled over elements.
    package static let acceptedCoverage = 0.9...0.99

    /// Whether a ``shrinkageWhenSamplesQuadruple(_:from:seed:)`` ratio is 2 (1/√n), within the
    /// spread of the standard errors themselves.
    package static func halves(_ ratio: Double) -> Bool { abs(ratio - 2) < 0.3 }

    /// `parameters` are the method's, without `seed` (set per run).
    package init(
        _ method: any Explainer, model: any PredictiveModel, inputs: [Tensor], targets: [Int], parameters: [String: JSONValue]
    ) {
        self.method = method
        problem = ExplanationProblem(model: model, inputs: inputs, output: 0, targets: targets)
        self.parameters = parameters
    }

    /// The method's result at `seed`, with `overrides` replacing the fixed parameters.
    package func run(seed: Int, _ overrides: [String: JSONValue] = [:]) throws -> SampledAttributions {
        var parameters = self.parameters.merging(overrides) { $1 }
        parameters["seed"] = .number(Double(seed))
        let plan = try method.prepare(parameters, for: problem)
        let explanations = try ExplanationRunner.run(plan, problem: problem, context: ExplanationContext())
        let errors = explanations.map(\.attribution.standardErrors)
        return SampledAttributions(
            estimate: explanations.flatMap { $0.attribution.attributions.flatMap(\.scalars) },
            standardError: errors.contains { $0 == nil } ? nil : errors.flatMap { $0!.flatMap(\.scalars) })
    }

    /// The fraction of nominal 95% intervals, estimate ± 1.96 · stderr, that contain `exact`,
    /// pooled over the elements and `seeds`.
    package func coverage(of exact: [Float], seeds: Range<Int> = 0..<100) throws -> Double {
        var covered = 0
        var total = 0
        for seed in seeds {
            let result = try run(seed: seed)
            guard let errors = result.standardError else { return 0 }
            precondition(result.estimate.count == exact.count, "\(result.estimate.count) estimates for \(exact.count) exact values")
            for (estimate, (error, value)) in zip(result.estimate, zip(errors, exact)) {
                if abs(estimate - value) <= 1.96 * error { covered += 1 }
                total += 1
            }
        }
        return Double(covered) / Double(total)
    }

    /// Σ stderr at `samples` / Σ stderr at 4 · `samples` (`parameter` the sample count), at
    /// one seed: about 2 when the standard error shrinks as 1/√n.
    package func shrinkageWhenSamplesQuadruple(_ parameter: String, from samples: Int, seed: Int = 7) throws -> Double {
        func total(_ count: Int) throws -> Double {
            let errors = try run(seed: seed, [parameter: .number(Double(count))]).standardError ?? []
            return errors.reduce(0) { $0 + Double($1) }
        }
        return try total(samples) / total(4 * samples)
    }
}
