import CandorTensor
import Testing

@Suite struct BroadcastingTests {
    @Test func shapesAlignAtTheTrailingAxes() throws {
        #expect(try Broadcasting.shape([2, 3], [3]) == [2, 3])
        #expect(try Broadcasting.shape([4, 1], [1, 5]) == [4, 5])
        #expect(try Broadcasting.shape([2, 1, 3], [4, 1]) == [2, 4, 3])
        #expect(try Broadcasting.shape([], [2, 2]) == [2, 2])
    }

    @Test func incompatibleShapesAreRefused() {
        #expect(throws: TensorError.self) { try Broadcasting.shape([2, 3], [4]) }
    }

    @Test func hugeBroadcastResultsAreRefusedNotAllocated() {
        #expect(throws: TensorError.self) { try Broadcasting.shape([1 << 15, 1], [1, 1 << 15]) }
    }

    @Test func applyCombinesAColumnWithARow() throws {
        let column = try Tensor(shape: [2, 1], scalars: [1, 2])
        let row = try Tensor(shape: [3], scalars: [10, 20, 30])
        let sum = try Broadcasting.apply(column, row, +)
        #expect(sum.shape == [2, 3])
        #expect(sum.scalars == [11, 21, 31, 12, 22, 32])
    }

    @Test func reduceSumsTheGradientOverStretchedAxes() throws {
        let gradient = try Tensor(shape: [2, 3], scalars: [1, 2, 3, 4, 5, 6])
        #expect(try Broadcasting.reduce(gradient, toShape: [3]).scalars == [5, 7, 9])
        #expect(try Broadcasting.reduce(gradient, toShape: [2, 1]).scalars == [6, 15])
        #expect(try Broadcasting.reduce(gradient, toShape: []).scalars == [21])
    }
}
