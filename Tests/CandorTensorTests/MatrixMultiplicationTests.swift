import CandorTensor
import Testing

@Suite struct MatrixMultiplicationTests {
    /// Deterministic pseudo-random values in [−1, 1).
    static func values(_ count: Int, seed: UInt64) -> [Float] {
        var state = seed
        return (0..<count).map { _ in
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return Float(state >> 40) / Float(1 << 23) - 1
        }
    }

    /// The definition, Σₖ aᵢₖ bₖⱼ, as the reference the BLAS path must equal.
    static func naiveProduct(_ a: [Float], _ b: [Float], m: Int, k: Int, n: Int) -> [Float] {
        var c = [Float](repeating: 0, count: m * n)
        for i in 0..<m { for j in 0..<n { for p in 0..<k { c[i * n + j] += a[i * k + p] * b[p * n + j] } } }
        return c
    }

    @Test func twoDimensionalProductEqualsTheDefinition() throws {
        let a = try Tensor(shape: [5, 7], scalars: Self.values(35, seed: 1))
        let b = try Tensor(shape: [7, 3], scalars: Self.values(21, seed: 2))
        let c = try MatrixMultiplication.matmul(a, b)
        #expect(c.shape == [5, 3])
        let expected = Self.naiveProduct(a.scalars, b.scalars, m: 5, k: 7, n: 3)
        #expect(zip(c.scalars, expected).allSatisfy { abs($0 - $1) < 1e-5 })
    }

    @Test func leadingAxesBroadcast() throws {
        let a = try Tensor(shape: [2, 1, 3, 4], scalars: Self.values(24, seed: 3))
        let b = try Tensor(shape: [5, 4, 2], scalars: Self.values(40, seed: 4))
        let c = try MatrixMultiplication.matmul(a, b)
        #expect(c.shape == [2, 5, 3, 2])
        // Block (1, 3) is a[1] · b[3].
        let block = Self.naiveProduct(Array(a.scalars[12..<24]), Array(b.scalars[24..<32]), m: 3, k: 4, n: 2)
        let offset = (1 * 5 + 3) * 6
        #expect(zip(c.scalars[offset..<offset + 6], block).allSatisfy { abs($0 - $1) < 1e-5 })
    }

    @Test func vectorsArePromotedAndTheAddedAxisRemoved() throws {
        let v = try Tensor(shape: [3], scalars: [1, 2, 3])
        let m = try Tensor(shape: [3, 2], scalars: [1, 0, 0, 1, 1, 1])
        #expect(try MatrixMultiplication.matmul(v, m).shape == [2])
        #expect(try MatrixMultiplication.matmul(v, m).scalars == [4, 5])
        #expect(try MatrixMultiplication.matmul(try m.reshaped(to: [2, 3]), v).shape == [2])
        #expect(try MatrixMultiplication.matmul(v, v).shape == [])
    }

    @Test func mismatchedInnerDimensionsAreRefused() throws {
        let a = try Tensor(shape: [2, 3], scalars: Self.values(6, seed: 5))
        #expect(throws: TensorError.self) { try MatrixMultiplication.matmul(a, a) }
    }

    /// ⟨G, A·B⟩ changes by ⟨∂A, δA⟩ when A moves by δA: the gradients against central
    /// differences of the scalar loss.
    @Test(arguments: [([4, 3], [3, 2]), ([2, 4, 3], [3, 5]), ([3], [3, 2]), ([2, 3], [3]), ([2, 1, 2, 3], [4, 3, 2])])
    func gradientsAgreeWithCentralDifferences(shapeA: [Int], shapeB: [Int]) throws {
        var a = try Tensor(shape: shapeA, scalars: Self.values(shapeA.reduce(1, *), seed: 6))
        var b = try Tensor(shape: shapeB, scalars: Self.values(shapeB.reduce(1, *), seed: 7))
        let output = try MatrixMultiplication.matmul(a, b)
        let seed = try Tensor(shape: output.shape, scalars: Self.values(output.count, seed: 8))
        let gradA = try MatrixMultiplication.matmulGradientA(a, b, outputGradient: seed)
        let gradB = try MatrixMultiplication.matmulGradientB(a, b, outputGradient: seed)
        #expect(gradA.shape == a.shape && gradB.shape == b.shape)

        func loss(_ a: Tensor, _ b: Tensor) throws -> Double {
            let product = try MatrixMultiplication.matmul(a, b)
            return zip(product.scalars, seed.scalars).reduce(0) { $0 + Double($1.0) * Double($1.1) }
        }
        let epsilon: Float = 1e-2
        for index in 0..<a.count {
            let original = a.scalars[index]
            a.scalars[index] = original + epsilon
            let plus = try loss(a, b)
            a.scalars[index] = original - epsilon
            let minus = try loss(a, b)
            a.scalars[index] = original
            #expect(abs(Float((plus - minus) / Double(2 * epsilon)) - gradA.scalars[index]) < 1e-3)
        }
        for index in 0..<b.count {
            let original = b.scalars[index]
            b.scalars[index] = original + epsilon
            let plus = try loss(a, b)
            b.scalars[index] = original - epsilon
            let minus = try loss(a, b)
            b.scalars[index] = original
            #expect(abs(Float((plus - minus) / Double(2 * epsilon)) - gradB.scalars[index]) < 1e-3)
        }
    }
}
