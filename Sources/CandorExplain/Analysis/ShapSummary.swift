import CandorModel
import CandorTensor

/// A summary of a local method over a dataset (Lundberg et al., "From local explanations to
/// global understanding with explainable AI for trees", 2020): every row explained by the
/// method, then per feature the mean |φ| (SHAP's bar plot), the per-row values (its beeswarm)
/// and each feature's (value, φ) pairs (its dependence plot). The rows are explained in
/// chunks, each a request of the method as `POST …/explain` would make it, so the values are
/// exactly the per-row explain results.
public struct ShapSummary: Analysis {
    public let descriptor: MethodDescriptor
    private let methods: MethodCatalog

    /// Rows explained per chunk: progress and cancellation are checked between chunks.
    static let rowsPerChunk = 16
    /// The most attributions (rows × features) one result may hold, twice with the dependence
    /// pairs: at about 20 bytes a JSON value, a result near 40 MB at most.
    static let maximumValues = 1_000_000

    public init(methods: MethodCatalog = .standard) {
        self.methods = methods
        descriptor = MethodDescriptor(
            name: "shap_summary", family: "global",
            summary: "any local method over the dataset: mean |φ| per feature, the per-row values, dependence pairs",
            reference: "SHAP summary and dependence plots (Lundberg et al. 2020)", requirement: .any,
            checkedAgainst: "the per-row results of POST …/explain with the same method and parameters, value for value",
            details: """
                `method` names any explanation method that applies to the model (default: `tree_shap` for a tree
                ensemble, `linear_shap` for a linear model, `kernel_shap` otherwise), `method_params` its parameters,
                validated as an explain request's. Every row is explained for the analysed output and target. The result
                holds `features` (per feature: `mean_abs`, the mean |φ| SHAP's bar plot shows, and `mean`), `ranking`
                (feature names by decreasing `mean_abs`), `values` (rows × features: the beeswarm's points) and, with
                `dependence`, per feature its values and attributions in row order (the dependence plot's pairs).
                Progress counts rows explained.
                """,
            parameters: [
                ParameterSpec(
                    "method", .choice(methods.names),
                    summary: "the local method explaining each row (default: tree_shap, linear_shap or kernel_shap by model kind)"),
                ParameterSpec("method_params", .object, summary: "the method's parameters, as an explain request's params"),
                ParameterSpec("dependence", .boolean, default: true, summary: "also return each feature's (value, φ) pairs"),
            ])
    }

    public func prepare(_ parameters: [String: JSONValue], for problem: AnalysisProblem) throws(ExplanationError) -> any AnalysisPlan {
        var reader = try ParameterReader(parameters, specs: descriptor.parameters, method: descriptor.name)
        let features = try problem.featureCount(for: descriptor.name)
        let (values, overflow) = problem.rowCount.multipliedReportingOverflow(by: features)
        guard !overflow, values <= Self.maximumValues else {
            throw ExplanationError(
                .invalidInput,
                "shap_summary would return \(problem.rowCount) rows × \(features) features of attributions, more than the \(Self.maximumValues) allowed: send fewer rows"
            )
        }
        let name: String
        if let given = try reader.optionalString("method") {
            name = given
        } else {
            name =
                ModelRequirement.treeEnsemble.isMet(by: problem.model)
                ? "tree_shap" : ModelRequirement.linear.isMet(by: problem.model) ? "linear_shap" : "kernel_shap"
            reader.record("method", .string(name))
        }
        guard let explainer = methods.explainer(named: name) else {
            throw ExplanationError(.invalidParameter, "parameter 'method' of shap_summary names no method: '\(name.prefix(100))'")
        }
        guard explainer.descriptor.requirement.isMet(by: problem.model) else {
            throw ExplanationError(
                .methodNotApplicable,
                "shap_summary's method \(name) applies to \(explainer.descriptor.requirement.modelsDescription); this model is not one")
        }
        let methodParameters = try reader.object("method_params") ?? [:]
        let dependence = try reader.bool("dependence")
        let target = try problem.target(outputsPerRow: try problem.outputWidth(for: descriptor.name), analysis: descriptor.name)
        // The method validates its parameters on the first row, so a mistake is a 400 now.
        let call = MethodCall(explainer: explainer, parameters: methodParameters)
        _ = try explainer.prepare(methodParameters, for: Self.chunk(problem, rows: 0..<Swift.min(1, problem.rowCount), target: target))
        return Plan(
            call: call, features: features, target: target, dependence: dependence, effectiveParameters: reader.effective,
            rows: problem.rowCount)
    }

    /// Rows `range` of the dataset as an explanation problem for `target`.
    static func chunk(_ problem: AnalysisProblem, rows range: Range<Int>, target: Int?) -> ExplanationProblem {
        ExplanationProblem(
            model: problem.model, inputs: problem.rows.map { $0.rows(range) }, output: problem.output,
            targets: target.map { Array(repeating: $0, count: range.count) }, dataset: problem.dataset)
    }

    struct Plan: AnalysisPlan {
        let call: MethodCall
        let features: Int
        /// The analysed output value, resolved when prepared.
        let target: Int
        let dependence: Bool
        let effectiveParameters: [String: JSONValue]
        let rows: Int

        var progressTotal: Int { rows }
        var progressUnit: String { "rows explained" }

        func run(_ problem: AnalysisProblem, context: AnalysisContext) throws(ExplanationError) -> JSONValue {
            var values: [Float] = []
            values.reserveCapacity(rows * features)
            for start in stride(from: 0, to: rows, by: ShapSummary.rowsPerChunk) {
                try context.checkCancellation()
                let range = start..<Swift.min(start + ShapSummary.rowsPerChunk, rows)
                let attributions = try call.attributions(
                    for: ShapSummary.chunk(problem, rows: range, target: target), context: context.explanation)
                for row in attributions { values += row[0].scalars }
                context.progress.advance(by: range.count)
            }
            return summary(values, problem: problem)
        }

        private func summary(_ values: [Float], problem: AnalysisProblem) -> JSONValue {
            let count = Double(Swift.max(rows, 1))
            var meanAbs = [Double](repeating: 0, count: features)
            var mean = [Double](repeating: 0, count: features)
            for row in 0..<rows {
                for feature in 0..<features {
                    let value = Double(values[row * features + feature])
                    meanAbs[feature] += abs(value) / count
                    mean[feature] += value / count
                }
            }
            let ranking = (0..<features).sorted { (meanAbs[$0], $1) > (meanAbs[$1], $0) }
            var result: [String: JSONValue] = [
                "method": .string(call.explainer.descriptor.name),
                "target": .number(Double(target)),
                "features": .array(
                    (0..<features).map { feature in
                        .object([
                            "feature": .string(problem.featureName(feature)), "mean_abs": .number(meanAbs[feature]),
                            "mean": .number(mean[feature]),
                        ])
                    }),
                "ranking": .array(ranking.map { .string(problem.featureName($0)) }),
                "values": .array((0..<rows).map { row in .array((0..<features).map { .float(values[row * features + $0]) }) }),
            ]
            if dependence {
                let data = problem.rows[0].scalars
                result["dependence"] = .array(
                    (0..<features).map { feature in
                        .object([
                            "feature": .string(problem.featureName(feature)),
                            "values": .array((0..<rows).map { .float(data[$0 * features + feature]) }),
                            "attributions": .array((0..<rows).map { .float(values[$0 * features + feature]) }),
                        ])
                    })
            }
            return .object(result)
        }
    }
}
