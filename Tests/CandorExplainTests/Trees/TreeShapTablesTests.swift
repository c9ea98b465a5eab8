import CandorModel
import CandorTensor
import Testing

@testable import CandorExplain

/// The tabulated TreeSHAP gives Algorithm 2's values (and the interventional walks' values), on random trees that split
/// on the same feature more than once, send missing values to either side, and (for the
/// fallback) have more distinct features on a path than the tables take.
@Suite struct TreeShapTablesTests {
    /// A random tree: nodes in preorder, splits on `features` features drawn at random, covers
    /// that add up (each leaf at least 1), some leaves early.
    static func randomTree(depth: Int, features: Int, random: inout SeededRandom) throws -> DecisionTree {
        var left: [Int] = []
        var right: [Int] = []
        var feature: [Int] = []
        var threshold: [Double] = []
        var defaultLeft: [Bool] = []
        var value: [Double] = []
        var cover: [Double] = []
        func grow(_ level: Int) -> Int {
            let node = left.count
            left.append(-1)
            right.append(-1)
            feature.append(0)
            threshold.append(0)
            defaultLeft.append(Bool.random(using: &random))
            value.append(Double.random(in: -1...1, using: &random))
            cover.append(Double(Int.random(in: 1...20, using: &random)))
            if level < depth, level < 2 || Double.random(in: 0..<1, using: &random) < 0.8 {
                feature[node] = Int.random(in: 0..<features, using: &random)
                threshold[node] = Double.random(in: -1...1, using: &random)
                let l = grow(level + 1)
                let r = grow(level + 1)
                left[node] = l
                right[node] = r
                cover[node] = cover[l] + cover[r]
            }
            return node
        }
        _ = grow(0)
        return try DecisionTree(
            left: left, right: right, feature: feature, threshold: threshold, defaultLeft: defaultLeft, value: value, cover: cover,
            featureCount: features)
    }

    static func instances(_ count: Int, width: Int, random: inout SeededRandom) -> [Float] {
        (0..<(count * width)).map { _ in Double.random(in: 0..<1, using: &random) < 0.1 ? .nan : Float.random(in: -1...1, using: &random) }
    }

    /// Algorithm 2, instance by instance.
    static func reference(_ trees: [DecisionTree], instances: [Float], width: Int) -> [Double] {
        var phi = [Double](repeating: 0, count: instances.count)
        for row in 0..<(instances.count / width) {
            var values = [Double](repeating: 0, count: width)
            for tree in trees {
                TreeShapAlgorithm.accumulate(tree, instance: instances[(row * width)..<((row + 1) * width)], into: &values)
            }
            phi.replaceSubrange((row * width)..<((row + 1) * width), with: values)
        }
        return phi
    }

    /// Interventional TreeSHAP walked per instance and background row, averaged.
    static func interventionalReference(_ trees: [DecisionTree], instances: [Float], references: [Float], width: Int) -> [Double] {
        var phi = [Double](repeating: 0, count: instances.count)
        let count = references.count / width
        phi.withUnsafeMutableBufferPointer { phi in
            for row in 0..<(instances.count / width) {
                let values = UnsafeMutableBufferPointer(rebasing: phi[(row * width)..<((row + 1) * width)])
                for tree in trees {
                    for reference in 0..<count {
                        InterventionalTreeShap.accumulate(
                            tree, instance: instances[(row * width)..<((row + 1) * width)],
                            reference: references[(reference * width)..<((reference + 1) * width)], into: values)
                    }
                }
                for feature in 0..<width { values[feature] /= Double(count) }
            }
        }
        return phi
    }

    static func tabulated(_ tables: TreeShapTables, _ trees: [DecisionTree], instances: [Float], width: Int) throws -> [Double] {
        let ensemble = try TreeEnsemble(
            trees: trees, treeColumn: Array(repeating: 0, count: trees.count), baseMargin: [0], featureCount: width,
            transform: .identity)
        var phi = [Double](repeating: 0, count: instances.count)
        try tables.accumulate(
            ensemble, instances: instances, targets: Array(repeating: 0, count: instances.count / width), into: &phi,
            context: ExplanationContext()
        ) { tree, row, phi in
            TreeShapAlgorithm.accumulate(trees[tree], instance: instances[(row * width)..<((row + 1) * width)], into: phi)
        }
        return phi
    }

    static func expectClose(_ values: [Double], _ expected: [Double], _ comment: Comment? = nil) {
        for (value, reference) in zip(values, expected) {
            #expect(abs(value - reference) <= 1e-10 * max(1, abs(reference)), comment)
        }
    }

    @Test(arguments: [(depth: 3, features: 2), (depth: 6, features: 4), (depth: 7, features: 12)])
    func tablesGiveAlgorithmTwosValues(_ shape: (depth: Int, features: Int)) throws {
        var random = SeededRandom(seed: UInt64(shape.depth * 100 + shape.features))
        let trees = try (0..<20).map { _ in try Self.randomTree(depth: shape.depth, features: shape.features, random: &random) }
        let instances = Self.instances(25, width: shape.features, random: &random)
        let tables = TreeShapTables(pathDependent: trees)
        #expect(tables.trees.allSatisfy { $0 != nil })
        let values = try Self.tabulated(tables, trees, instances: instances, width: shape.features)
        Self.expectClose(values, Self.reference(trees, instances: instances, width: shape.features))
    }

    @Test(arguments: [(depth: 3, features: 2), (depth: 6, features: 4), (depth: 7, features: 12)])
    func interventionalTablesGiveTheWalksValues(_ shape: (depth: Int, features: Int)) throws {
        var random = SeededRandom(seed: UInt64(shape.depth * 1000 + shape.features))
        let trees = try (0..<10).map { _ in try Self.randomTree(depth: shape.depth, features: shape.features, random: &random) }
        let instances = Self.instances(15, width: shape.features, random: &random)
        let references = Self.instances(9, width: shape.features, random: &random)
        let tables = TreeShapTables(interventional: trees, references: references, count: 9)
        #expect(tables.trees.allSatisfy { $0 != nil })
        // Untabulated trees would be walked path-dependently here: none is.
        let values = try Self.tabulated(tables, trees, instances: instances, width: shape.features)
        Self.expectClose(values, Self.interventionalReference(trees, instances: instances, references: references, width: shape.features))
    }

    /// Trees past the budget, or with more than ten distinct features on a path, are walked.
    @Test func treesPastTheLimitsAreWalked() throws {
        var random = SeededRandom(seed: 7)
        let trees = try (0..<6).map { _ in try Self.randomTree(depth: 12, features: 40, random: &random) }
        #expect(TreeShapTables(pathDependent: trees).trees.contains { $0 == nil })
        let instances = Self.instances(5, width: 40, random: &random)
        let expected = Self.reference(trees, instances: instances, width: 40)
        for budget in [0, 1 << 12, TreeShapTables.maximumEntries] {
            let values = try Self.tabulated(
                TreeShapTables(pathDependent: trees, maximumEntries: budget), trees, instances: instances, width: 40)
            Self.expectClose(values, expected, "budget \(budget)")
        }
    }
}
