import CandorTensor
import Foundation
import Testing

@Suite struct ElementaryFunctionsTests {
    /// Sample points across the whole float range that matters, tiny and huge included.
    static let points: [Float] = {
        var values: [Float] = [0, -0, 1e-30, 1e-8, 1e-4, 9.9e-5, 0.5, 1, 2, 8.99, 9, 9.01, 20, 88, 104, 1e30, .infinity]
        var x: Float = -12
        while x <= 12 {
            values.append(x)
            x += 0.0137
        }
        return values + values.map { -$0 }
    }()

    /// The distance in units of the last place between a float and the exact value.
    func ulps(_ value: Float, _ exact: Double) -> Double {
        abs(Double(value) - exact) / Double(Float(exact).ulp)
    }

    @Test func tanhIsWithinOneUlpOfTheDoublePrecisionValue() {
        for x in Self.points {
            let result = ElementaryFunctions.tanh(x)
            #expect(ulps(result, Foundation.tanh(Double(x))) <= 1, "tanh(\(x)) = \(result)")
            #expect(abs(result) <= 1)
        }
    }

    @Test func sigmoidIsWithinOneUlpOfTheDoublePrecisionValue() {
        for x in Self.points {
            let exact = 1 / (1 + Foundation.exp(-Double(x)))
            let result = ElementaryFunctions.sigmoid(x)
            #expect(ulps(result, exact) <= 1 || abs(Double(result) - exact) < 1e-38, "sigmoid(\(x)) = \(result)")
        }
    }

    /// The four-lane tensor versions give the element-wise results.
    @Test func tensorsGiveTheElementwiseResults() throws {
        let tensor = try Tensor(shape: [Self.points.count], scalars: Self.points)
        for (x, result) in zip(Self.points, ElementaryFunctions.tanh(tensor).scalars) {
            #expect(ulps(result, Foundation.tanh(Double(x))) <= 1, "tanh(\(x)) = \(result)")
        }
        for (x, result) in zip(Self.points, ElementaryFunctions.sigmoid(tensor).scalars) {
            let exact = 1 / (1 + Foundation.exp(-Double(x)))
            #expect(ulps(result, exact) <= 1 || abs(Double(result) - exact) < 1e-38, "sigmoid(\(x)) = \(result)")
        }
        let nan = try Tensor(shape: [5], scalars: [0, .nan, 1, -1, .nan])
        #expect(ElementaryFunctions.tanh(nan).scalars[1].isNaN && ElementaryFunctions.sigmoid(nan).scalars[4].isNaN)
    }

    @Test func notANumberStaysNotANumber() {
        #expect(ElementaryFunctions.tanh(.nan).isNaN)
        #expect(ElementaryFunctions.sigmoid(.nan).isNaN)
    }
}
