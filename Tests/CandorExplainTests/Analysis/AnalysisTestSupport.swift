import CandorModel
import CandorTensor
import CandorTestSupport
import Foundation
import Testing

@testable import CandorExplain

/// A tabular model written as a Swift function of one row, for property tests whose answer
/// is known by construction (a feature the function never reads, a tree it is).
struct RowFunctionModel: PredictiveModel {
    let featureCount: Int
    let outputCount: Int
    let function: @Sendable ([Float]) -> [Float]

    var inputs: [TensorInfo] {
        [TensorInfo(name: "x", elementType: .float32, shape: [.symbolic("batch"), .fixed(featureCount)])]
    }
    var outputs: [TensorInfo] {
        [TensorInfo(name: "y", elementType: .float32, shape: [.symbolic("batch"), .fixed(outputCount)])]
    }
    var elementsPerInstance: Int { featureCount + outputCount }

    func predict(_ inputs: [Tensor]) throws(ModelError) -> [Tensor] {
        let rows = inputs[0].shape[0]
        var values: [Float] = []
        for row in 0..<rows {
            values += function(Array(inputs[0].scalars[(row * featureCount)..<((row + 1) * featureCount)]))
        }
        do { return [try Tensor(shape: [rows, outputCount], scalars: values)] } catch {
            throw ModelError(.inconsistentShapes, "\(error)")
        }
    }
}

/// Running analyses in tests.
enum AnalysisRun {
    /// The analysis's result for `parameters`, with the progress it reported.
    static func run(
        _ analysis: any Analysis, _ parameters: [String: JSONValue], on problem: AnalysisProblem,
        cancellation: CancellationFlag = CancellationFlag()
    ) throws(ExplanationError) -> (result: [String: JSONValue], progress: AnalysisProgress) {
        let plan = try analysis.prepare(parameters, for: problem)
        return try run(plan, on: problem, cancellation: cancellation)
    }

    static func run(
        _ plan: any AnalysisPlan, on problem: AnalysisProblem, cancellation: CancellationFlag = CancellationFlag()
    ) throws(ExplanationError) -> (result: [String: JSONValue], progress: AnalysisProgress) {
        let progress = AnalysisProgress(total: plan.progressTotal, unit: plan.progressUnit)
        let context = AnalysisContext(explanation: ExplanationContext(cancellation: cancellation), progress: progress)
        let result = try plan.run(problem, context: context)
        return (result.objectValue ?? [:], progress)
    }

    /// The explanation error `body` throws, or nil.
    static func error(_ body: () throws -> Void) -> ExplanationError? {
        do { try body() } catch { return error as? ExplanationError }
        return nil
    }

    /// `count` rows of `features` values drawn from `values` with a seeded generator.
    static func rows(_ count: Int, features: Int, values: [Float], seed: UInt64 = 1) throws -> Tensor {
        var random = SeededRandom(seed: seed)
        let scalars = (0..<(count * features)).map { _ in values[random.integer(below: values.count)] }
        return try Tensor(shape: [count, features], scalars: scalars)
    }

    /// A JSON file of the repository (`models/…`, `Tests/Fixtures/…`).
    static func repositoryJSON(_ path: String) throws -> Any {
        try JSONSerialization.jsonObject(with: Data(contentsOf: Fixtures.repository.appendingPathComponent(path)))
    }

    /// An ONNX model of the repository.
    static func repositoryModel(_ path: String) throws -> ONNXModel {
        try ONNXModelLoader.load(contentsOf: Fixtures.repository.appendingPathComponent(path))
    }
}

extension [String: JSONValue] {
    func number(_ key: String) -> Double? { self[key]?.doubleValue }

    func array(_ key: String) -> [JSONValue] {
        if case .array(let items)? = self[key] { return items }
        return []
    }
}
