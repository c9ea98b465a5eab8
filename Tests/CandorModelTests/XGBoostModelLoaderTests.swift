import CandorModel
import CandorTensor
import CandorTestSupport
import Foundation
import Testing

@Suite struct XGBoostModelLoaderTests {
    static let regression = Fixtures.url("trees/xgb_regression.json")

    /// Truncated or mangled files are refused with a model error, never a crash.
    @Test func truncatedOrHostileFilesAreRefused() throws {
        let data = try Data(contentsOf: Self.regression)
        var random = SeededRandom(seed: 8)
        for cut in [0, 1, data.count / 3, data.count - 2] {
            #expect(throws: ModelError.self) { _ = try XGBoostModelLoader.load(data.prefix(cut)) }
        }
        for _ in 0..<200 {
            var mangled = data
            for _ in 0..<5 { mangled[random.integer(below: mangled.count)] = UInt8(random.integer(below: 256)) }
            _ = try? XGBoostModelLoader.load(mangled)  // loads or throws; must not crash
        }
    }

    /// The first tree's root entry of `key` replaced by `value`.
    func editedRoot(_ key: String, _ value: String) throws -> Data {
        let text = try String(contentsOf: Self.regression, encoding: .utf8)
        let start = try #require(text.range(of: "\"\(key)\":["))
        let end = try #require(text[start.upperBound...].firstIndex(of: ","))
        return Data(text.replacingCharacters(in: start.upperBound..<end, with: value).utf8)
    }

    /// A tree whose root points back at itself (a cycle) or splits on a feature the model lacks
    /// is refused at load, naming the problem.
    @Test func inconsistentTreesAreRefused() throws {
        #expect {
            _ = try XGBoostModelLoader.load(try editedRoot("left_children", "0"))
        } throws: { error in
            "\(error)".contains("children")
        }
        #expect {
            _ = try XGBoostModelLoader.load(try editedRoot("split_indices", "99"))
        } throws: { error in
            "\(error)".contains("feature 99")
        }
    }
}

@Suite struct TreeModelFileSafetyTests {
    /// Truncated or mangled LightGBM and ONNX tree files load or are refused, never crash.
    @Test(arguments: ["trees/lgbm_binary.txt", "trees/skl_gbt_binary.onnx"])
    func mangledFilesAreRefusedNotFatal(_ file: String) throws {
        let data = try Data(contentsOf: Fixtures.url(file))
        let load: (Data) throws -> TreeEnsemble =
            file.hasSuffix(".txt") ? { try LightGBMModelLoader.load($0) } : { try ONNXTreeEnsembleLoader.load($0) }
        for cut in [0, 1, data.count / 3] {
            #expect(throws: (any Error).self) { _ = try load(data.prefix(cut)) }
        }
        var random = SeededRandom(seed: 5)
        for _ in 0..<300 {
            var mangled = data
            for _ in 0..<4 { mangled[random.integer(below: mangled.count)] = UInt8(random.integer(below: 256)) }
            _ = try? load(mangled)
        }
    }
}

@Suite struct DecisionTreeValidationTests {
    func tree(left: [Int], right: [Int]) throws -> DecisionTree {
        let count = left.count
        return try DecisionTree(
            left: left, right: right, feature: Array(repeating: 0, count: count), threshold: Array(repeating: 0, count: count),
            defaultLeft: Array(repeating: true, count: count), value: Array(repeating: 1, count: count),
            cover: Array(repeating: 1, count: count), featureCount: 1)
    }

    /// A node reached from two parents (which would make walks exponential and the path
    /// depth wrong) or from both sides of one is refused.
    @Test func sharedChildrenAreRefused() {
        #expect(throws: DecisionTree.Invalid.self) { _ = try tree(left: [1, 2, -1], right: [2, 2, -1]) }
        #expect(throws: DecisionTree.Invalid.self) { _ = try tree(left: [1, 3, -1, -1], right: [2, 3, -1, -1]) }
        #expect(throws: Never.self) { _ = try tree(left: [1, -1, -1], right: [2, -1, -1]) }
    }

    /// A chain deeper than TreeSHAP walks is refused at load.
    @Test func overlyDeepTreesAreRefused() {
        let depth = DecisionTree.maximumDepth + 1
        // Node i (internal) → left i + 1, right the leaf depth + 1 + i.
        var left = [Int](repeating: -1, count: 2 * depth + 1)
        var right = left
        for node in 0..<depth {
            left[node] = node + 1
            right[node] = depth + 1 + node
        }
        #expect(throws: DecisionTree.Invalid.self) { _ = try tree(left: left, right: right) }
    }

    /// LightGBM's negative leaf encoding cannot overflow: `~Int.min` is refused, not trapped.
    @Test func extremeLeafIndicesAreRefused() throws {
        var text = try String(contentsOf: Fixtures.url("trees/lgbm_regression.txt"), encoding: .utf8)
        let range = try #require(text.range(of: "left_child="))
        text.insert(contentsOf: "-9223372036854775808 ", at: range.upperBound)
        #expect(throws: ModelError.self) { _ = try LightGBMModelLoader.load(Data(text.utf8)) }
    }
}
