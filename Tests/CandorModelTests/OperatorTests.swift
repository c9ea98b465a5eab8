import CandorModel
import CandorTensor
import CandorTestSupport
import Foundation
import Testing

/// One single-node graph from `Tests/Fixtures/operators/cases.json` with onnxruntime's output.
struct OperatorCase: CustomTestStringConvertible, Sendable {
    let name: String
    let model: String
    let inputs: [String: Tensor]
    let outputs: [String: Tensor]
    var testDescription: String { name }

    static func all() throws -> [OperatorCase] {
        guard let cases = try Fixtures.json("operators/cases.json") as? [[String: Any]] else { return [] }
        func tensors(_ value: Any?) throws -> [String: Tensor] {
            var result: [String: Tensor] = [:]
            for (name, entry) in value as? [String: [String: Any]] ?? [:] {
                let shape = (entry["shape"] as? [Int]) ?? []
                let data = ((entry["data"] as? [NSNumber]) ?? []).map(\.floatValue)
                result[name] = try Tensor(shape: shape, scalars: data)
            }
            return result
        }
        return try cases.map { entry in
            OperatorCase(
                name: entry["name"] as? String ?? "?", model: entry["model"] as? String ?? "",
                inputs: try tensors(entry["inputs"]), outputs: try tensors(entry["outputs"]))
        }
    }
}

@Suite struct OperatorTests {
    static let cases = (try? OperatorCase.all()) ?? []

    @Test func everyOperatorFixtureIsPresent() {
        #expect(Self.cases.count >= 60)
    }

    @Test(arguments: cases)
    func forwardEqualsOnnxRuntime(_ testCase: OperatorCase) throws {
        let model = try Fixtures.model(testCase.model)
        let inputs = model.inputs.compactMap { testCase.inputs[$0.name] }
        #expect(inputs.count == model.inputs.count)
        let outputs = try model.predict(inputs)
        for (info, actual) in zip(model.outputs, outputs) {
            let expected = try #require(testCase.outputs[info.name])
            #expect(actual.shape == expected.shape)
            #expect(isClose(actual.scalars, expected.scalars, absolute: 1e-5, relative: 1e-5), "\(actual.scalars) vs \(expected.scalars)")
        }
    }

    /// The vector-Jacobian product of every operator against central finite differences of
    /// ⟨s, f(x)⟩ for a fixed random s, element by element, in double-checked float32.
    @Test(arguments: cases.filter { !$0.inputs.isEmpty })
    func gradientAgreesWithCentralDifferences(_ testCase: OperatorCase) throws {
        let model = try Fixtures.model(testCase.model)
        var inputs = model.inputs.compactMap { testCase.inputs[$0.name] }
        let output = try model.predict(inputs)[0]
        var state: UInt64 = 42
        let seed = try Tensor(
            shape: output.shape,
            scalars: (0..<output.count).map { _ in
                state = state &* 6364136223846793005 &+ 1442695040888963407
                return Float(state >> 40) / Float(1 << 23) - 1
            })
        let (_, gradients) = try model.gradient(inputs, output: 0) { _, _ in seed }

        func loss(_ inputs: [Tensor]) throws -> Double {
            let value = try model.predict(inputs)[0]
            return zip(value.scalars, seed.scalars).reduce(0) { $0 + Double($1.0) * Double($1.1) }
        }
        let epsilon: Float = 1e-3
        for inputIndex in inputs.indices {
            for element in 0..<inputs[inputIndex].count {
                let original = inputs[inputIndex].scalars[element]
                inputs[inputIndex].scalars[element] = original + epsilon
                let plus = try loss(inputs)
                inputs[inputIndex].scalars[element] = original - epsilon
                let minus = try loss(inputs)
                inputs[inputIndex].scalars[element] = original
                let numeric = Float((plus - minus) / Double(2 * epsilon))
                let analytic = gradients[inputIndex].scalars[element]
                #expect(
                    abs(numeric - analytic) <= 2e-2 * max(1, abs(numeric)),
                    "input \(inputIndex) element \(element): finite difference \(numeric), gradient \(analytic)")
            }
        }
    }
}
