import CandorModel
import CandorTensor

/// TreeSHAP: the exact SHAP values of a tree ensemble's raw score — the `margin` output, before
/// the logistic or softmax transform — for the target column, summed over its trees.
///
/// - `tree_path_dependent` (Lundberg et al., 2018; `TreeShapAlgorithm`): absent features are
///   integrated out along the tree with the training data's node covers; `base_value` is the
///   base score plus each tree's cover-weighted mean leaf.
/// - `interventional` (Lundberg et al., 2020; `InterventionalTreeShap`): absent features take
///   each background row's values, v(S) = mean_b f(x_S, b_∖S); `base_value` is the mean margin
///   over the background.
///
/// Either way the values add up to the margin minus `base_value` (local accuracy). SHAP
/// `TreeExplainer`.
///
/// Both are computed per leaf and tree by tree, the batch's instances shared with an idle
/// worker: path-dependent from tables (`TreeShapTables`, after FastTreeSHAP v2) made once per
/// model and kept with it; interventional from the background rows' fail masks counted per leaf
/// (`InterventionalCounts`, the model's last two backgrounds kept counted), or from tables made
/// for the request when the batch is large enough to pay for them. Trees past the tables'
/// limits are walked as the papers do.
public struct TreeShap: Explainer {
    public let descriptor = MethodDescriptor(
        name: "tree_shap", family: "shapley",
        summary: "exact SHAP values of a tree ensemble's raw score (TreeSHAP, path-dependent or interventional); returns base_value",
        reference: "SHAP TreeExplainer", requirement: .treeEnsemble,
        checkedAgainst:
            "SHAP 0.51 `TreeExplainer` on XGBoost and LightGBM models (path-dependent, interventional, interaction values) and on skl2onnx and onnxmltools ONNX conversions (interventional)",
        details: """
            The exact SHAP values of a tree ensemble's raw score (`margin`, before the logistic or
            softmax transform) for the target column: `tree_path_dependent` integrates absent features
            out along each tree with the training data's node covers (Lundberg et al., 2018);
            `interventional` gives them each background row's values (Lundberg et al., 2020).
            `base_value` is the expected margin, and the values add up to the margin minus it exactly.

            Checked against SHAP's float64 values to float32 precision: path-dependent on XGBoost (regression, binary
            with missing values, multiclass) and LightGBM (binary, regression) models read from their
            own files, interventional on the two XGBoost models with backgrounds, interaction values on
            the XGBoost regressor; the models' margins equal the libraries' own, missing values
            included. ONNX conversions carry no covers, so only `interventional` applies: skl2onnx's
            forests and boosting and onnxmltools' XGBoost and LightGBM boosters equal SHAP's values on
            the library models, every class.
            """,
        parameters: [
            ParameterSpec.choice(
                "feature_perturbation", default: FeaturePerturbation.treePathDependent,
                summary: "how absent features are treated: by the trees' node covers, or by background rows"),
            BackgroundRows.parameter("interventional: the reference rows (omitted or \"model\": the sidecar's background)"),
            ParameterSpec(
                "interactions", .boolean, default: false,
                summary: "tree_path_dependent: also return SHAP interaction values, a features × features matrix per instance"),
        ])

    /// The most (instance, background row, tree) walks of one interventional request.
    public static let maximumTreeWalks = 1 << 24
    /// The most steps of path-dependent walks in one request (Σ leaves × (depth + 1)² per
    /// instance, times 2·features + 1 with interactions).
    public static let maximumPathWork = 1 << 33
    /// The most features for interaction values (the matrix has features² entries).
    public static let maximumInteractionFeatures = 256

    /// How absent features are treated, by API name (SHAP's `feature_perturbation`).
    enum FeaturePerturbation: String, CaseIterable, Sendable {
        /// By the trees' node covers (Lundberg et al. 2018, Algorithm 2).
        case treePathDependent = "tree_path_dependent"
        /// By background rows (Lundberg et al. 2020, "From local explanations to global
        /// understanding").
        case interventional
    }

    public init() {}

    public func prepare(_ parameters: [String: JSONValue], for problem: ExplanationProblem) throws(ExplanationError) -> any ExplanationPlan
    {
        var reader = try ParameterReader(parameters, specs: descriptor.parameters, method: descriptor.name)
        guard let ensemble = problem.model as? TreeEnsemble else {
            throw ExplanationError(
                .methodNotApplicable, "tree_shap explains tree ensembles (XGBoost models); this model is not one")
        }
        guard problem.output == ensemble.marginOutput else {
            throw ExplanationError(
                .invalidParameter,
                "tree_shap explains the raw score before the transform: ask for output '\(ensemble.outputs[ensemble.marginOutput].name)'")
        }
        var background: BackgroundRows?
        if try reader.choice("feature_perturbation", as: FeaturePerturbation.self) == .interventional {
            let rows = try BackgroundRows.resolve(&reader, problem: problem, method: descriptor.name)
            let work = problem.batchSize.multipliedReportingOverflow(by: rows.count * ensemble.trees.count)
            guard !work.overflow, work.partialValue <= Self.maximumTreeWalks else {
                throw ExplanationError(
                    .invalidParameter,
                    "interventional tree_shap walks every tree once per background row and instance: \(problem.batchSize) × \(rows.count) × \(ensemble.trees.count) is more than \(Self.maximumTreeWalks); use fewer background rows or instances"
                )
            }
            background = rows
        } else if !ensemble.hasCovers {
            throw ExplanationError(
                .methodNotApplicable,
                "this model has no node covers (ONNX conversions drop them), which tree_path_dependent needs: use feature_perturbation 'interventional' with background rows"
            )
        } else if reader.isGiven("background") {
            throw ExplanationError(
                .invalidParameter, "'background' is used by feature_perturbation 'interventional'; tree_path_dependent uses the node covers"
            )
        }
        let interactions = try reader.bool("interactions")
        if background == nil {
            let walks = interactions ? 1 + 2 * ensemble.featureCount : 1
            let work = ensemble.pathWork.multipliedReportingOverflow(by: problem.batchSize * walks)
            guard !work.overflow, work.partialValue <= Self.maximumPathWork else {
                throw ExplanationError(
                    .invalidParameter,
                    "tree_shap would take about \(work.overflow ? Int.max : work.partialValue) steps for this model and batch, more than the \(Self.maximumPathWork) allowed: send fewer instances\(interactions ? " or leave out interactions" : "")"
                )
            }
        }
        if interactions {
            guard background == nil else {
                throw ExplanationError(.invalidParameter, "interaction values are computed with feature_perturbation 'tree_path_dependent'")
            }
            guard ensemble.featureCount <= Self.maximumInteractionFeatures else {
                throw ExplanationError(
                    .invalidParameter,
                    "interaction values are a features × features matrix; this model has \(ensemble.featureCount) features, more than the \(Self.maximumInteractionFeatures) allowed"
                )
            }
        }
        return Plan(ensemble: ensemble, background: background, interactions: interactions, effectiveParameters: reader.effective)
    }

    struct Plan: ExplanationPlan {
        /// SHAP interaction values (Lundberg et al., 2020, eq. 8–9 as SHAP computes them): for
        /// i ≠ j, half the change in i's SHAP value between the games with j fixed present and
        /// fixed absent; the diagonal takes what is left of i's SHAP value, so each row sums to it.
        func interactionValues(
            instance: ArraySlice<Float>, column: Int, shapley: [Double], context: ExplanationContext
        ) throws(ExplanationError) -> [[Double]] {
            let width = ensemble.featureCount
            var matrix = [[Double]](repeating: [Double](repeating: 0, count: width), count: width)
            let trees = zip(ensemble.trees, ensemble.treeColumn).filter { $0.1 == column }.map(\.0)
            let used = Set(trees.flatMap { tree in tree.feature.indices.filter { !tree.isLeaf($0) }.map { tree.feature[$0] } })
            for j in used.sorted() {
                try context.checkCancellation()
                var present = [Double](repeating: 0, count: width)
                var absent = [Double](repeating: 0, count: width)
                for tree in trees {
                    TreeShapAlgorithm.accumulate(tree, instance: instance, condition: .init(feature: j, present: true), into: &present)
                    TreeShapAlgorithm.accumulate(tree, instance: instance, condition: .init(feature: j, present: false), into: &absent)
                }
                for i in 0..<width where i != j { matrix[i][j] = (present[i] - absent[i]) / 2 }
            }
            for i in 0..<width { matrix[i][i] = shapley[i] - (0..<width).reduce(0) { $1 == i ? $0 : $0 + matrix[i][$1] } }
            return matrix
        }

        let ensemble: TreeEnsemble
        let background: BackgroundRows?
        let interactions: Bool
        let effectiveParameters: [String: JSONValue]

        /// The batch's SHAP values, [instances × features]. Its instances go in two chunks when
        /// a worker is idle to take one, both reading the model's path-dependent tables or the
        /// background's counts; interventional tables are built per call, so a batch that
        /// prefers them stays whole.
        func sharedShapleyValues(
            of instances: [Float], targets: [Int], counted: CountedBackgrounds.Entry?, context: ExplanationContext
        ) throws(ExplanationError) -> [Double] {
            let (rows, width) = (targets.count, ensemble.featureCount)
            let tabulates = counted.map {
                TreeShapTables.prefersInterventionalTables(ensemble, instances: rows, references: $0.references.count / Swift.max(width, 1))
            }
            let chunk = Swift.max(1, tabulates == true ? rows : context.sharedChunk(rows, of: rows))
            var phi: [Double] = []
            try SharedChunks.run(count: (rows + chunk - 1) / chunk, context: context) { index throws(ExplanationError) in
                let range = (index * chunk)..<Swift.min((index + 1) * chunk, rows)
                return try shapleyValues(
                    of: Array(instances[(range.lowerBound * width)..<(range.upperBound * width)]), targets: Array(targets[range]),
                    counted: counted, context: context)
            } collect: { part, _ in
                phi += part
            }
            return phi
        }

        /// Every instance's SHAP values, [instances × features]: from the tables (the model's
        /// path-dependent ones, or — interventional — the request's tables when the batch is large
        /// enough to pay for them, else the background's counts), and by walking the trees they
        /// leave out.
        func shapleyValues(
            of instances: [Float], targets: [Int], counted: CountedBackgrounds.Entry?, context: ExplanationContext
        ) throws(ExplanationError) -> [Double] {
            let width = ensemble.featureCount
            var phi = [Double](repeating: 0, count: targets.count * width)
            guard let counted else {
                try TreeShapTables.pathDependent(ensemble).accumulate(
                    ensemble, instances: instances, targets: targets, into: &phi, context: context
                ) { tree, row, phi in
                    TreeShapAlgorithm.accumulate(ensemble.trees[tree], instance: instances[(row * width)..<((row + 1) * width)], into: phi)
                }
                return phi
            }
            let references = counted.references
            let count = references.count / Swift.max(width, 1)
            var sum = [Double](repeating: 0, count: width)
            // A tree with too many features on a path is walked once per reference row.
            let walk = { (tree: Int, row: Int, phi: UnsafeMutableBufferPointer<Double>) in
                sum.withUnsafeMutableBufferPointer { sum in
                    sum.update(repeating: 0)
                    for reference in 0..<count {
                        InterventionalTreeShap.accumulate(
                            ensemble.trees[tree], instance: instances[(row * width)..<((row + 1) * width)],
                            reference: references[(reference * width)..<((reference + 1) * width)], into: sum)
                    }
                    for feature in 0..<width { phi[feature] += sum[feature] / Double(count) }
                }
            }
            if TreeShapTables.prefersInterventionalTables(ensemble, instances: targets.count, references: count) {
                try TreeShapTables(interventional: ensemble.trees, references: references, count: count).accumulate(
                    ensemble, instances: instances, targets: targets, into: &phi, context: context, walk: walk)
            } else {
                try counted.counts.accumulate(
                    ensemble, instances: instances, targets: targets, into: &phi, context: context, walk: walk)
            }
            return phi
        }

        func run(_ problem: ResolvedProblem, context: ExplanationContext) throws(ExplanationError) -> [InstanceAttribution] {
            let width = ensemble.featureCount
            let features = problem.problem.inputs[0]
            let counted = background.map { CountedBackgrounds.counted($0, of: ensemble) }
            let shapley = try sharedShapleyValues(of: features.scalars, targets: problem.targets, counted: counted, context: context)
            var results: [InstanceAttribution] = []
            for row in 0..<problem.problem.batchSize {
                try context.checkCancellation()
                let column = problem.targets[row]
                let instance = features.scalars[(row * width)..<((row + 1) * width)]
                let phi = Array(shapley[(row * width)..<((row + 1) * width)])
                var base = ensemble.baseMargin[column]
                if let counted {
                    base = counted.meanMargins[column]
                } else {
                    for (tree, treeColumn) in zip(ensemble.trees, ensemble.treeColumn) where treeColumn == column {
                        base += tree.expectedValue
                    }
                }
                var attribution = InstanceAttribution(attributions: [try problem.problem.instanceTensor(phi.map(Float.init), input: 0)])
                attribution.extras["base_value"] = .number(base)
                if interactions {
                    let matrix = try interactionValues(instance: instance, column: column, shapley: phi, context: context)
                    attribution.extras["interactions"] = .array(matrix.map { .array($0.map { .number($0) }) })
                }
                results.append(attribution)
            }
            return results
        }
    }
}
