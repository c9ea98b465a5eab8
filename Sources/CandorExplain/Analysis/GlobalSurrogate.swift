import CandorModel
import CandorTensor

/// Model distillation into a readable tree: a CART decision tree (Breiman et al. 1984; see
/// ``CARTTree``) fitted on the model's own answers over the dataset — its argmax class, or the
/// analysed value — and reported as rules, with its fidelity (agreement with the model) on
/// rows held out of the fit, as Distill-and-Compare does (Tan, Caruana, Hooker & Lou,
/// "Distill-and-Compare: Auditing Black-Box Models Using Transparent Model Distillation",
/// AIES 2018). The held-out fidelity says how far the rules can be trusted to describe the
/// model: a shallow tree that agrees with it 95% of the time is a faithful summary; one that
/// agrees 60% of the time is not.
public struct GlobalSurrogate: Analysis {
    enum Kind: String, CaseIterable {
        case auto, classification, regression
    }

    /// The most rows × features the fit accepts: each node sorts every feature's values, about
    /// rows × features × max_depth × log(rows) steps in all.
    static let maximumCells = 20_000_000
    /// The deepest tree accepted, and the most leaves (2¹² = 4096 leaves at most without
    /// `max_leaves`): a readable surrogate is far smaller, and the nodes stay bounded.
    static let maximumDepth = 12
    static let maximumLeaves = 256

    public let descriptor = MethodDescriptor(
        name: "surrogate", family: "global",
        summary:
            "distils the model into a depth-limited CART decision tree fitted on its own answers over the dataset, returned as rules, with its fidelity on held-out rows",
        reference:
            "CART (Breiman et al. 1984) as scikit-learn 1.9.1's DecisionTreeClassifier/Regressor; Distill-and-Compare (Tan et al. 2018)",
        requirement: .any,
        checkedAgainst:
            "scikit-learn 1.9.1 DecisionTreeClassifier/Regressor fitted on the same training rows of the same model answers (a breast-cancer MLP's classes, a diabetes MLP's values; depth, max_leaves and min_samples_leaf settings): held-out fidelity no worse than scikit-learn's by more than 0.01, the same tree where scikit-learn's is free of ties; property tests (a depth-2 tree model recovered with fidelity 1, max_leaves and min_samples_leaf honoured)",
        details: """
            The dataset's rows are split at random (`seed`) into a held-out share `test_fraction`
            (rounded up, as scikit-learn's train_test_split) and training rows. A CART tree is grown on the
            training rows to predict the model's answers: with `kind` "classification" (the default for
            an output with more than one value per row) its argmax class, by Gini impurity, and the
            fidelity is the share of held-out rows where the tree's class is the model's; with
            "regression" the analysed value (`target`), by squared error, and the fidelity is R² on the
            held-out rows. Splits are scikit-learn's: thresholds halfway between consecutive distinct
            values, every node split until `max_depth`, purity or `min_samples_leaf` stops it, or, with
            `max_leaves`, best first (scikit-learn's max_leaf_nodes). Each leaf becomes a rule: the
            conditions on its path (the tightest bound per feature and side, thresholds printed to four
            significant digits; the `tree` holds them exactly), its prediction (the class name when the
            sidecar names classes), the training rows it covers and, for classes, their distribution.
            """,
        parameters: [
            ParameterSpec(
                "max_depth", .integer, default: 3, minimum: 1, maximum: Double(maximumDepth), summary: "the deepest the tree grows"),
            ParameterSpec(
                "max_leaves", .integer, minimum: 2, maximum: Double(maximumLeaves),
                summary: "most leaves, the tree then grown best first (default: no limit but max_depth)"),
            ParameterSpec(
                "min_samples_leaf", .integer, default: 1, minimum: 1, maximum: 1_000_000, summary: "fewest training rows in a leaf"),
            ParameterSpec(
                "test_fraction", .number, default: 0.25, minimum: 0.01, maximum: 0.9,
                summary: "share of the rows held out to measure fidelity"),
            ParameterSpec.seed(of: "the held-out split"),
            ParameterSpec.choice(
                "kind", default: Kind.auto,
                summary:
                    "classification (the model's argmax class) or regression (the analysed value); auto: classification when the output has more than one value per row"
            ),
        ])

    public init() {}

    public func prepare(_ parameters: [String: JSONValue], for problem: AnalysisProblem) throws(ExplanationError) -> any AnalysisPlan {
        let name = descriptor.name
        var reader = try ParameterReader(parameters, specs: descriptor.parameters, method: name)
        let featureCount = try problem.featureCount(for: name)
        let settings = CARTTree.Settings(
            maxDepth: try reader.int("max_depth"), maxLeaves: try reader.optionalInt("max_leaves"),
            minSamplesLeaf: try reader.int("min_samples_leaf"))
        let fraction = try reader.double("test_fraction")
        let seed = try reader.seed()
        let requested = try reader.choice("kind", as: Kind.self)

        let rows = problem.rowCount
        let (cells, overflow) = rows.multipliedReportingOverflow(by: featureCount)
        guard !overflow, cells <= Self.maximumCells else {
            throw ExplanationError(
                .invalidInput,
                "\(name) fits a tree on rows × features = \(rows) × \(featureCount) values, more than the \(Self.maximumCells) allowed: use fewer rows"
            )
        }
        let heldOut = Int((fraction * Double(rows)).rounded(.up))
        guard rows - heldOut >= 2, heldOut >= 1 else {
            throw ExplanationError(
                .invalidInput,
                "\(name) needs at least two training rows and one held-out row: \(rows) rows with test_fraction \(fraction) leave \(rows - heldOut) for training"
            )
        }

        let width = try problem.outputWidth(for: name)
        let kind: Kind = requested == .auto ? (width > 1 ? .classification : .regression) : requested
        let target: Int
        if kind == .classification {
            guard width > 1 else {
                throw ExplanationError(
                    .invalidParameter,
                    "kind 'classification' predicts the model's class and the analysed output has one value per row: use 'regression'")
            }
            target = 0
        } else {
            target = try problem.target(outputsPerRow: width, analysis: name)
        }
        var random = SeededRandom(seed: seed)
        let testRows = random.permutation(of: rows).prefix(heldOut).sorted()
        return Plan(
            effectiveParameters: reader.effective, settings: settings, isClassification: kind == .classification, target: target,
            featureCount: featureCount, outputWidth: width, testRows: testRows, progressTotal: 2 * rows - heldOut)
    }

    struct Plan: AnalysisPlan {
        let effectiveParameters: [String: JSONValue]
        let settings: CARTTree.Settings
        let isClassification: Bool
        /// The analysed output value a regression tree predicts.
        let target: Int
        let featureCount: Int
        /// Values per row of the analysed output, as prepared for.
        let outputWidth: Int
        /// The held-out rows, ascending.
        let testRows: [Int]
        /// Every row evaluated by the model, then the training rows fitted by the tree.
        let progressTotal: Int
        var progressUnit: String { "rows" }

        func run(_ problem: AnalysisProblem, context: AnalysisContext) throws(ExplanationError) -> JSONValue {
            let outputs = try problem.outputs(context: context)
            try outputs.checkWidth(outputWidth, analysis: "surrogate")
            let answers: [Double] =
                isClassification
                ? (0..<outputs.count).map { Double(ImportanceScoring.predictedClass(outputs, row: $0)) } : outputs.column(target)
            let fit = try fitted(problem, answers: answers, classes: outputs.perRow, context: context)
            context.progress.advance(by: fit.trainingRows.count)
            return SurrogateReport(
                tree: fit.tree, problem: problem, classes: isClassification ? outputs.perRow : nil, trainingRows: fit.trainingRows.count
            ).json(fidelity: fit.fidelity, trainingFidelity: fit.trainingFidelity, heldOut: testRows.count)
        }

        /// The tree grown on the rows not held out, and its fidelity to `answers` on the
        /// held-out rows and on the training rows.
        func fitted(
            _ problem: AnalysisProblem, answers: [Double], classes: Int, context: AnalysisContext
        ) throws(ExplanationError) -> (tree: CARTTree, trainingRows: [Int], fidelity: Double, trainingFidelity: Double) {
            let held = Set(testRows)
            let trainingRows = (0..<problem.rowCount).filter { !held.contains($0) }
            let matrix = problem.rows[0].scalars
            let tree = try CARTTree(
                matrix: matrix, featureCount: featureCount, targets: answers, rows: trainingRows,
                criterion: isClassification ? .gini(classes: classes) : .squaredError, settings: settings,
                checkCancellation: context.checkCancellation)
            func fidelity(_ rows: [Int]) -> Double {
                let predicted = matrix.withUnsafeBufferPointer { buffer in
                    rows.map { tree.prediction(ofLeaf: tree.leaf(buffer, offset: $0 * featureCount)) }
                }
                let truth = rows.map { answers[$0] }
                if isClassification {
                    return Double(zip(predicted, truth).count { $0 == $1 }) / Double(Swift.max(rows.count, 1))
                }
                return ImportanceScoring.rSquared(predicted: predicted, truth: truth)
            }
            return (tree, trainingRows, fidelity(testRows), fidelity(trainingRows))
        }
    }
}
