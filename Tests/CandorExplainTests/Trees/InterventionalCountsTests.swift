import CandorModel
import CandorTensor
import Testing

@testable import CandorExplain

/// Interventional TreeSHAP from the background's mask counts gives the values of walking every
/// tree once per reference row, with one row, a few, and more rows than a leaf has masks; trees
/// with more than ten features on a path are walked.
@Suite struct InterventionalCountsTests {
    @Test(arguments: [
        (depth: 3, features: 2, references: 1), (depth: 6, features: 4, references: 9), (depth: 7, features: 12, references: 300),
        (depth: 12, features: 40, references: 7),
    ])
    func countsGiveTheWalksValues(_ shape: (depth: Int, features: Int, references: Int)) throws {
        var random = SeededRandom(seed: UInt64(shape.depth * 1000 + shape.features + shape.references))
        let trees = try (0..<8).map { _ in try TreeShapTablesTests.randomTree(depth: shape.depth, features: shape.features, random: &random)
        }
        let width = shape.features
        let instances = TreeShapTablesTests.instances(6, width: width, random: &random)
        let references = TreeShapTablesTests.instances(shape.references, width: width, random: &random)
        let ensemble = try TreeEnsemble(
            trees: trees, treeColumn: Array(repeating: 0, count: trees.count), baseMargin: [0], featureCount: width, transform: .identity)
        let counts = InterventionalCounts(ensemble, references: references, count: shape.references)
        #expect(counts.layout.trees.contains { $0 == nil } == (shape.depth > TreeShapTables.maximumPathFeatures))
        // The trees' mean outputs over the rows, counted or walked, sum to the mean margin.
        let margins = ensemble.margins(try Tensor(shape: [shape.references, width], scalars: references))
        #expect(abs(counts.treeMeans.reduce(0, +) - margins.reduce(0, +) / Double(shape.references)) < 1e-9)
        var phi = [Double](repeating: 0, count: instances.count)
        try counts.accumulate(
            ensemble, instances: instances, targets: Array(repeating: 0, count: 6), into: &phi, context: ExplanationContext()
        ) { tree, row, phi in
            for reference in 0..<shape.references {
                var one = [Double](repeating: 0, count: width)
                one.withUnsafeMutableBufferPointer { one in
                    InterventionalTreeShap.accumulate(
                        trees[tree], instance: instances[(row * width)..<((row + 1) * width)],
                        reference: references[(reference * width)..<((reference + 1) * width)], into: one)
                }
                for feature in 0..<width { phi[feature] += one[feature] / Double(shape.references) }
            }
        }
        TreeShapTablesTests.expectClose(
            phi, TreeShapTablesTests.interventionalReference(trees, instances: instances, references: references, width: width))
    }

    /// The counts kept with the model serve only the same rows: alternating backgrounds, one
    /// of them with its rows reordered (the same values, another key), each get their own
    /// counts and mean margins, equal to counting afresh.
    @Test func keptCountsServeOnlyTheSameBackground() throws {
        var random = SeededRandom(seed: 99)
        let width = 5
        let trees = try (0..<6).map { _ in try TreeShapTablesTests.randomTree(depth: 5, features: width, random: &random) }
        let ensemble = try TreeEnsemble(
            trees: trees, treeColumn: Array(repeating: 0, count: trees.count), baseMargin: [0.5], featureCount: width, transform: .identity)
        let first = TreeShapTablesTests.instances(4, width: width, random: &random)
        let second = TreeShapTablesTests.instances(3, width: width, random: &random)
        let reordered = Array(first[(2 * width)...] + first[..<(2 * width)])
        let instances = TreeShapTablesTests.instances(2, width: width, random: &random)
        func values(_ counts: InterventionalCounts) throws -> [Double] {
            var phi = [Double](repeating: 0, count: instances.count)
            try counts.accumulate(ensemble, instances: instances, targets: [0, 0], into: &phi, context: ExplanationContext()) { _, _, _ in }
            return phi
        }
        for references in [first, second, first, reordered, second] {
            let rows = references.count / width
            let kept = CountedBackgrounds.counted(
                BackgroundRows(rows: [try Tensor(shape: [rows, width], scalars: references)], count: rows), of: ensemble)
            #expect(kept.references == references)
            #expect(try values(kept.counts) == values(InterventionalCounts(ensemble, references: references, count: rows)))
            let margins = ensemble.margins(try Tensor(shape: [rows, width], scalars: references))
            #expect(abs(kept.meanMargins[0] - margins.reduce(0, +) / Double(rows)) < 1e-12)
        }
    }
}
