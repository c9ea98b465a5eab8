import CandorExplain
import CandorModel
import CandorTensor
import CandorTestSupport
import Foundation
import Testing

/// A tabular model written as a Swift function of one row, for properties whose answer is known
/// in closed form (additive and linear models); `onPredict` runs before every batch (a test
/// cancels a job from there).
struct FunctionModel: PredictiveModel {
    let featureCount: Int
    let outputCount: Int
    let function: @Sendable ([Float]) -> [Float]
    var onPredict: (@Sendable () -> Void)?

    init(features: Int, outputs: Int = 1, onPredict: (@Sendable () -> Void)? = nil, _ function: @escaping @Sendable ([Float]) -> [Float]) {
        self.featureCount = features
        self.outputCount = outputs
        self.function = function
        self.onPredict = onPredict
    }

    var inputs: [TensorInfo] { [TensorInfo(name: "x", elementType: .float32, shape: [.symbolic("N"), .fixed(featureCount)])] }
    var outputs: [TensorInfo] { [TensorInfo(name: "y", elementType: .float32, shape: [.symbolic("N"), .fixed(outputCount)])] }
    var elementsPerInstance: Int { featureCount + outputCount }

    func predict(_ inputs: [Tensor]) throws(ModelError) -> [Tensor] {
        onPredict?()
        let rows = inputs[0].shape[0]
        let scalars = inputs[0].scalars
        var result: [Float] = []
        for row in 0..<rows { result += function(Array(scalars[(row * featureCount)..<((row + 1) * featureCount)])) }
        do { return [try Tensor(shape: [rows, outputCount], scalars: result)] } catch {
            throw ModelError(.inconsistentShapes, "\(error)")
        }
    }
}

/// Runs analyses the way a job does, and reads their JSON results.
enum AnalysisTesting {
    /// Prepares and runs `name` on `problem`, returning the result and the progress reached.
    static func run(
        _ name: String, _ parameters: [String: JSONValue], problem: AnalysisProblem,
        context explanation: ExplanationContext = ExplanationContext()
    ) throws -> (result: JSONValue, plan: any AnalysisPlan, progress: AnalysisProgress) {
        let analysis = try #require(AnalysisCatalog.standard.analysis(named: name))
        let plan = try analysis.prepare(parameters, for: problem)
        let progress = AnalysisProgress(total: plan.progressTotal, unit: plan.progressUnit)
        let result = try plan.run(problem, context: AnalysisContext(explanation: explanation, progress: progress))
        return (result, plan, progress)
    }

    /// The error preparing or running `name` throws, if any.
    static func error(
        _ name: String, _ parameters: [String: JSONValue], problem: AnalysisProblem,
        context: ExplanationContext = ExplanationContext()
    ) -> ExplanationError? {
        do {
            _ = try run(name, parameters, problem: problem, context: context)
            return nil
        } catch let error as ExplanationError {
            return error
        } catch {
            return ExplanationError(.modelFailure, "unexpected error \(error)")
        }
    }

    /// The result's `features` items as objects.
    static func features(_ result: JSONValue) -> [[String: JSONValue]] {
        guard case .array(let items)? = result.objectValue?["features"] else { return [] }
        return items.compactMap(\.objectValue)
    }

    /// Every number of nested JSON arrays, row-major.
    static func numbers(_ value: JSONValue?) -> [Double] {
        switch value {
        case .number(let number)?: [number]
        case .array(let items)?: items.flatMap { numbers($0) }
        default: []
        }
    }

    /// The rows `values` as a dataset tensor.
    static func rows(_ values: [[Float]]) throws -> Tensor {
        try Tensor(shape: [values.count, values.first?.count ?? 0], scalars: values.flatMap { $0 })
    }

    /// Request parameters from a fixture's Foundation JSON.
    static func parameters(_ object: Any?) throws -> [String: JSONValue] {
        let data = try JSONSerialization.data(withJSONObject: object ?? [String: Any]())
        return try JSONDecoder().decode([String: JSONValue].self, from: data)
    }

    /// A fixture's JSON value as a `JSONValue`, for comparing results.
    static func json(_ object: Any) throws -> JSONValue {
        let data = try JSONSerialization.data(withJSONObject: object, options: .fragmentsAllowed)
        return try JSONDecoder().decode(JSONValue.self, from: data)
    }
}

/// Compares a result with its golden, field by field: the same keys, strings and array shapes,
/// and numbers within `tolerance(field)` = (absolute, relative) of the expected ones (the
/// field is the nearest enclosing object key). Records the largest differences seen per field.
struct GoldenComparison {
    let tolerance: (String) -> (absolute: Double, relative: Double)
    private(set) var failures: [String] = []
    /// The largest |actual − expected| and |actual − expected| / |expected| seen, per field.
    private(set) var largest: [String: (absolute: Double, relative: Double)] = [:]

    init(tolerance: @escaping (String) -> (absolute: Double, relative: Double)) {
        self.tolerance = tolerance
    }

    mutating func compare(_ actual: JSONValue?, _ expected: JSONValue, path: String, field: String = "") {
        switch (actual, expected) {
        case (.number(let value)?, .number(let reference)):
            let difference = abs(value - reference)
            let (absolute, relative) = tolerance(field)
            let seen = largest[field] ?? (0, 0)
            largest[field] = (max(seen.absolute, difference), max(seen.relative, reference == 0 ? 0 : difference / abs(reference)))
            if !(difference <= absolute + relative * abs(reference)) { failures.append("\(path): \(value) vs \(reference)") }
        case (.array(let values)?, .array(let references)):
            guard values.count == references.count else {
                failures.append("\(path): \(values.count) items vs \(references.count)")
                return
            }
            for (index, reference) in references.enumerated() { compare(values[index], reference, path: "\(path)[\(index)]", field: field) }
        case (.object(let fields)?, .object(let references)):
            for (key, reference) in references.sorted(by: { $0.key < $1.key }) {
                compare(fields[key], reference, path: "\(path).\(key)", field: key)
            }
            let extra = Set(fields.keys).subtracting(references.keys)
            if !extra.isEmpty { failures.append("\(path): unexpected fields \(extra.sorted())") }
        case (let value?, let reference) where value == reference:
            break
        default:
            failures.append("\(path): \(String(describing: actual)) vs \(expected)")
        }
    }
}
