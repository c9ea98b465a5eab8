import CandorExplain
import Foundation

/// A test analysis whose length the test sets: `steps` steps of `step_milliseconds` each,
/// advancing progress and checking cancellation between steps like a real analysis between
/// batches; then the mean of the analysed output over the rows.
struct StepAnalysis: Analysis {
    let descriptor = MethodDescriptor(
        name: "steps", family: "test", summary: "Waits in steps, then averages the output.", reference: "none", requirement: .any,
        checkedAgainst: "nothing",
        parameters: [
            ParameterSpec("steps", .integer, default: 3, minimum: 0, maximum: 10_000, summary: "Steps."),
            ParameterSpec("step_milliseconds", .integer, default: 1, minimum: 0, maximum: 10_000, summary: "Each step's length."),
            ParameterSpec("payload", .integer, default: 0, minimum: 0, maximum: 1_000_000, summary: "Numbers added to the result."),
        ])

    struct Plan: AnalysisPlan {
        let steps: Int
        let milliseconds: Int
        let payload: Int
        let effectiveParameters: [String: JSONValue]
        var progressTotal: Int { steps }
        var progressUnit: String { "steps" }

        func run(_ problem: AnalysisProblem, context: AnalysisContext) throws(ExplanationError) -> JSONValue {
            for _ in 0..<steps {
                try context.checkCancellation()
                Thread.sleep(forTimeInterval: Double(milliseconds) / 1000)
                context.progress.advance()
            }
            let outputs = try problem.outputs(context: context, countsProgress: false)
            let target = try problem.target(outputsPerRow: outputs.perRow, analysis: "steps")
            let values = outputs.column(target)
            return .object([
                "rows": .number(Double(values.count)), "mean_output": .number(values.reduce(0, +) / Double(values.count)),
                "payload": .array((0..<payload).map { .number(Double($0)) }),
            ])
        }
    }

    func prepare(_ parameters: [String: JSONValue], for problem: AnalysisProblem) throws(ExplanationError) -> any AnalysisPlan {
        var reader = try ParameterReader(parameters, specs: descriptor.parameters, method: descriptor.name)
        let steps = try reader.int("steps")
        let milliseconds = try reader.int("step_milliseconds")
        let payload = try reader.int("payload")
        return Plan(steps: steps, milliseconds: milliseconds, payload: payload, effectiveParameters: reader.effective)
    }
}

extension AnalysisCatalog {
    /// The shipped analyses and the test one.
    static let withSteps = AnalysisCatalog(analyses: AnalysisCatalog.standard.analyses + [StepAnalysis()])
}
