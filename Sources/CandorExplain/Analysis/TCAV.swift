import CandorModel
import CandorTensor

/// Testing with concept activation vectors (Kim, Wattenberg, Gilmer, Cai, Wexler, Viégas &
/// Sayres, "Interpretability Beyond Feature Attribution: Quantitative Testing with Concept
/// Activation Vectors (TCAV)", ICML 2018), as Captum 0.9's `TCAV` computes it: for a concept
/// given by examples, a CAV is the normal of a linear classifier separating the concept's
/// activations at a layer from those of a set of random examples; an input's conceptual
/// sensitivity is the directional derivative ∇ₗf(x)·v of the analysed output at the layer
/// along the CAV; the TCAV score is the share of the dataset's rows whose sensitivity is
/// positive, and the magnitude its mean. Repeating this against several random sets gives a
/// distribution of scores, and a t-test against the random sets' own scores (Captum's
/// tutorial: `ttest_ind` of the concept's scores and the random concept's, experiment by
/// experiment) says whether the concept's score is more than the chance of one random split.
///
/// The CAV classifier is Captum's default by default: scikit-learn's `SGDClassifier` (hinge
/// loss, α = 0.01, tol 1e-3) on a random two-thirds of the examples, re-implemented
/// (``HingeSGD``) with Candor's seeded random numbers in place of Python's and NumPy's, so a
/// result is deterministic per `seed` and, over seeds, distributed as Captum's over its seeds —
/// scale included: SGD stops long before the regularised optimum, with a CAV norm (and so
/// magnitudes) one to two orders of magnitude above the optimum's, so a converged classifier
/// could not reproduce Captum's magnitudes. `classifier: "svm"` fits that optimum exactly
/// (``LinearSVM``) on all the examples instead: seed-free, with signs (scores) close to SGD's
/// and far smaller magnitudes.
public struct TCAV: Analysis {
    /// The most concepts one request may test.
    static let maximumConcepts = 16
    /// The most examples (concept and random together) whose activations are kept: their Gram
    /// matrix is held whole (50 MB at this size).
    static let maximumExamples = 2500
    /// The regularisation α of the hinge loss: Captum's `DefaultClassifier`'s
    /// `SGDClassifier(alpha=0.01)`.
    static let regularization = 0.01

    public let descriptor = MethodDescriptor(
        name: "tcav", family: "global",
        summary:
            "concept sensitivity (TCAV): the share of rows whose analysed output rises along a concept's activation vector at a layer, against random example sets, with a t-test",
        reference: "Kim et al. 2018 (TCAV); Captum 0.9 `TCAV` and its tutorial's t-test", requirement: .differentiable,
        checkedAgainst:
            "Captum 0.9 `TCAV` over 50 seeds on the shapes CNN (3 concepts, 2 layers): scores and magnitudes within its spread; svm against scikit-learn's SVC CAVs, SGD against SGDClassifier, p against SciPy",
        details: """
            `concepts` gives each concept's examples (an object of instance arrays by concept name, each shaped
            like one instance). The random examples are `random` (an array of instances, cut in the order
            given into `n_random` sets of `random_set_size`), or without it `n_random` × `random_set_size`
            rows drawn without replacement from the dataset (`seed`); `random_set_size` defaults to the largest
            concept's example count, or fewer when the examples cannot supply `n_random` sets of it. For each
            concept and each random set, the examples' activations at `layer` (flattened; by default the output
            of the model's last convolution) are separated by a linear classifier on 0.01/2·‖w‖² + mean hinge
            loss, whose normal w, pointing to the concept and not normalised, is the CAV: with `classifier`
            "sgd", scikit-learn's `SGDClassifier(alpha=0.01, max_iter=1000, tol=1e-3)` algorithm as Captum's
            default classifier runs it — a seeded shuffle holding out int(0.33 n) examples (on which its
            accuracy is measured), then SGD with the "optimal" learning rate, reshuffling every epoch, stopped
            after five epochs without improvement — with Candor's random numbers; with "svm", the exact
            minimiser (LIBSVM's solver, unregularised intercept) on all the examples. Each dataset row's sensitivity is ∇f(x)·w, the gradient of
            the analysed output (`target`) at the layer; a run's score is the share of rows with a positive
            sensitivity, its magnitude their mean, and the random set's score the share with a negative one
            (Captum's score of the second concept of the pair). `tcav_score` and `magnitude` average the runs;
            `p_value` is Student's two-sample t-test (SciPy's `ttest_ind`) of the concept's scores against the
            random sets' scores over the runs, as Captum's tutorial tests them (0 when both are constant and
            differ, 1 when they are equal), and `significant` is p < `alpha`. `accuracies` are each CAV's
            share of correctly classified examples (held-out ones for sgd, all for svm). At most 16 concepts, 1000 examples per concept and
            2500 examples in all.
            """,
        parameters: [
            ParameterSpec(
                "concepts", .object,
                summary:
                    "required: each concept's examples, an object of instance arrays by concept name (at most 16 concepts, each of 2 to 1000 instances)"
            ),
            ParameterSpec(
                "random", .instances,
                summary:
                    "the random examples, cut in order into n_random sets of random_set_size (default: rows drawn from the dataset)"),
            ParameterSpec("n_random", .integer, default: 10, minimum: 2, maximum: 100, summary: "random sets, one CAV per concept each"),
            ParameterSpec(
                "random_set_size", .integer, minimum: 2, maximum: 1000,
                summary: "examples per random set (default: the largest concept's count, or what the random examples allow)"),
            LayerSelection.parameter("the layer whose activations the CAVs separate (default: the output of the last convolution)"),
            ParameterSpec(
                "alpha", .number, default: 0.05, minimum: 0, maximum: 1,
                summary: "significance level of the t-test: a concept is significant when p < alpha"),
            ParameterSpec.choice(
                "classifier", default: Classifier.sgd,
                summary:
                    "how a CAV is fitted: sgd, Captum's default (scikit-learn's hinge-loss SGDClassifier, alpha 0.01, on a seeded two-thirds of the examples), or svm, the exact minimiser of the same objective on all of them (seed-free)"
            ),
            ParameterSpec.seed(of: "the random sets drawn from the dataset and the SGD's splits and shuffles"),
        ])

    public init() {}

    /// How a CAV is fitted.
    enum Classifier: String, CaseIterable, Sendable {
        /// Captum's default: scikit-learn's hinge-loss SGD (``HingeSGD``) on two-thirds of the
        /// examples, seeded.
        case sgd
        /// The exact minimiser of the same objective on all the examples (``LinearSVM``).
        case svm
    }

    public func prepare(_ parameters: [String: JSONValue], for problem: AnalysisProblem) throws(ExplanationError) -> any AnalysisPlan {
        let name = descriptor.name
        var reader = try ParameterReader(parameters, specs: descriptor.parameters, method: name)
        guard let model = problem.model as? any DifferentiableModel else {
            throw ExplanationError(.methodNotApplicable, "\(name) needs gradients, which this model does not provide")
        }
        let rows = problem.rowCount
        guard rows > 0 else { throw ExplanationError(.invalidInput, "\(name) needs a dataset of at least one row") }
        let inputs = zip(model.inputs, problem.rows).map { (name: $0.name, shape: Array($1.shape.dropFirst())) }

        guard let conceptValues = try reader.object("concepts"), !conceptValues.isEmpty else {
            throw ExplanationError(
                .invalidParameter, "parameter 'concepts' of \(name) is required: an object of instance arrays by concept name")
        }
        guard conceptValues.count <= Self.maximumConcepts else {
            throw ExplanationError(
                .invalidParameter,
                "parameter 'concepts' of \(name) names \(conceptValues.count) concepts, more than the \(Self.maximumConcepts) allowed")
        }
        var concepts: [ExampleSet] = []
        for (concept, value) in conceptValues.sorted(by: { $0.key < $1.key }) {
            let label = String(concept.prefix(100))
            let examples = try BackgroundRows.parse(value, inputs: inputs, what: "concept '\(label)' of parameter 'concepts'")
            let count = examples.first?.shape.first ?? 0
            guard count >= 2 else {
                throw ExplanationError(
                    .invalidParameter, "concept '\(label)' of parameter 'concepts' needs at least 2 examples, got \(count)")
            }
            concepts.append(ExampleSet(name: concept, examples: examples))
        }

        let runs = try reader.int("n_random")
        let requestedSize = try reader.optionalInt("random_set_size")
        let seed = try reader.seed()
        let pool: [Tensor]
        let poolRows: [Int]
        if reader.isGiven("random"), let value = reader.json("random") {
            pool = try BackgroundRows.parse(value, inputs: inputs, what: "parameter 'random'")
            poolRows = Array(0..<(pool.first?.shape.first ?? 0))
        } else {
            pool = problem.rows
            var random = SeededRandom(seed: seed)
            poolRows = random.permutation(of: rows)
        }
        let largest = concepts.map(\.count).max() ?? 2
        let size = requestedSize ?? Swift.min(largest, poolRows.count / runs)
        guard size >= 2, runs * size <= poolRows.count else {
            throw ExplanationError(
                .invalidParameter,
                "\(name) needs n_random (\(runs)) random sets of random_set_size (\(requestedSize.map(String.init) ?? "at least 2")) examples, and the \(reader.isGiven("random") ? "'random' instances" : "dataset") hold \(poolRows.count): send more, or lower n_random or random_set_size"
            )
        }
        reader.record("random_set_size", .number(Double(size)))
        var randomSets: [ExampleSet] = []
        for run in 0..<runs {
            let members = Array(poolRows[(run * size)..<((run + 1) * size)])
            var examples: [Tensor] = []
            for tensor in pool { examples.append(try Self.gather(tensor, rows: members)) }
            randomSets.append(ExampleSet(name: "random_\(run)", examples: examples))
        }
        let examples = concepts.reduce(0) { $0 + $1.count } + runs * size
        guard examples <= Self.maximumExamples else {
            throw ExplanationError(
                .invalidParameter,
                "\(name) would fit CAVs on \(examples) examples (concepts and random sets), more than the \(Self.maximumExamples) allowed: send fewer concept examples, or lower n_random or random_set_size"
            )
        }
        let layer = try LayerSelection.resolve(
            &reader, model: model, fallback: model.lastConvolutionOutput, method: name, batchSize: examples + rows)
        let alpha = try reader.double("alpha")
        let classifier = try reader.choice("classifier", as: Classifier.self)
        let width = try problem.outputWidth(for: name)
        let target = try problem.target(outputsPerRow: width, analysis: name)
        return Plan(
            model: model, layer: layer, output: problem.output, target: target, concepts: concepts, randomSets: randomSets,
            classifier: classifier, seed: seed, alpha: alpha,
            effectiveParameters: reader.effective, progressTotal: examples + rows + concepts.count * runs)
    }

    /// Rows `rows` of a batched tensor, in that order.
    static func gather(_ tensor: Tensor, rows: [Int]) throws(ExplanationError) -> Tensor {
        let size = tensor.shape.dropFirst().reduce(1, *)
        var scalars: [Float] = []
        scalars.reserveCapacity(rows.count * size)
        for row in rows { scalars += tensor.scalars[(row * size)..<((row + 1) * size)] }
        do { return try Tensor(shape: [rows.count] + tensor.shape.dropFirst(), scalars: scalars) } catch {
            throw ExplanationError(.invalidInput, "\(error)")
        }
    }

    /// A named set of examples, one tensor per model input.
    struct ExampleSet: Sendable {
        let name: String
        let examples: [Tensor]
        var count: Int { examples.first?.shape.first ?? 0 }
    }

    struct Plan: AnalysisPlan {
        let model: any DifferentiableModel
        let layer: String
        let output: Int
        let target: Int
        let concepts: [ExampleSet]
        let randomSets: [ExampleSet]
        let classifier: Classifier
        let seed: UInt64
        let alpha: Double
        let effectiveParameters: [String: JSONValue]
        /// One unit per example whose activations are taken, per dataset row whose gradient is
        /// taken, and per CAV fitted.
        let progressTotal: Int
        var progressUnit: String { "steps (examples, rows and CAVs)" }

        func run(_ problem: AnalysisProblem, context: AnalysisContext) throws(ExplanationError) -> JSONValue {
            // Every example's activations, concepts first, then the random sets in order.
            let sets = concepts + randomSets
            var activations: [Float] = []
            var width = 0
            for set in sets {
                let values = try layerPass(set.examples, context: context, wantsGradients: false)
                activations += values.scalars
                width = values.width
            }
            let sensitivitiesOf = try layerPass(problem.rows, context: context, wantsGradients: true)
            let gradients = sensitivitiesOf.scalars
            let rows = problem.rowCount
            guard width > 0, sensitivitiesOf.width == width else {
                throw ExplanationError(
                    .modelFailure, "tcav: layer '\(layer)' has \(sensitivitiesOf.width) values per row here and \(width) there")
            }
            let gram: [Double] = if classifier == .svm { try Self.gram(activations, width: width, context: context) } else { [] }

            var starts: [Int] = []
            var offset = 0
            for set in sets {
                starts.append(offset)
                offset += set.count
            }
            var results: [JSONValue] = []
            for (conceptIndex, concept) in concepts.enumerated() {
                var scores: [Double] = []
                var randomScores: [Double] = []
                var magnitudes: [Double] = []
                var accuracies: [Double] = []
                for (runIndex, randomSet) in randomSets.enumerated() {
                    try context.checkCancellation()
                    let members =
                        Array(starts[conceptIndex]..<(starts[conceptIndex] + concept.count))
                        + Array(starts[concepts.count + runIndex]..<(starts[concepts.count + runIndex] + randomSet.count))
                    let labels = members.indices.map { $0 < concept.count ? 1.0 : -1.0 }
                    let stream = conceptIndex * randomSets.count + runIndex
                    let (cav, accuracy) = try fit(
                        members: members, labels: labels, activations: activations, width: width, gram: gram, stream: stream,
                        context: context)
                    let sensitivities = (0..<rows).map { row in
                        (0..<width).reduce(0.0) { $0 + Double(gradients[row * width + $1]) * cav[$1] }
                    }
                    scores.append(Double(sensitivities.count { $0 > 0 }) / Double(rows))
                    randomScores.append(Double(sensitivities.count { $0 < 0 }) / Double(rows))
                    magnitudes.append(sensitivities.reduce(0, +) / Double(rows))
                    accuracies.append(accuracy)
                    context.progress.advance()
                }
                let pValue = StudentTTest.pValue(scores, randomScores) ?? 1
                results.append(
                    .object([
                        "concept": .string(concept.name),
                        "tcav_score": .number(scores.reduce(0, +) / Double(scores.count)),
                        "magnitude": .number(magnitudes.reduce(0, +) / Double(magnitudes.count)),
                        "scores": .array(scores.map(JSONValue.number)),
                        "random_scores": .array(randomScores.map(JSONValue.number)),
                        "magnitudes": .array(magnitudes.map(JSONValue.number)),
                        "accuracies": .array(accuracies.map(JSONValue.number)),
                        "p_value": .number(pValue),
                        "significant": .bool(pValue < alpha),
                    ]))
            }
            return .object(["layer": .string(layer), "target": .number(Double(target)), "concepts": .array(results)])
        }

        /// The CAV of the examples `members` (indices into the activations, labelled +1 for the
        /// concept and −1 for the random set), and its accuracy: with SGD, Captum's, on a third of
        /// the examples held out of its fit; with the SVM, on the examples it was fitted on.
        func fit(
            members: [Int], labels: [Double], activations: [Float], width: Int, gram: [Double], stream: Int, context: AnalysisContext
        ) throws(ExplanationError) -> (cav: [Double], accuracy: Double) {
            switch classifier {
            case .sgd:
                var random = SeededRandom(seed: seed, stream: stream + 1)
                // Captum's `_train_test_split`: a shuffle, then int(0.33 n) examples held out.
                let order = random.permutation(of: members.count)
                let held = Int(0.33 * Double(members.count))
                let training = Array(order[held...])
                let sgd = try HingeSGD(
                    features: activations, width: width, rows: training.map { members[$0] }, labels: training.map { labels[$0] },
                    alpha: TCAV.regularization, random: &random, checkCancellation: context.checkCancellation)
                let tested = held > 0 ? Array(order[..<held]) : training
                let correct = tested.count { position in
                    let offset = members[position] * width
                    let decision = (0..<width).reduce(sgd.intercept) { $0 + sgd.weights[$1] * Double(activations[offset + $1]) }
                    return (decision > 0) == (labels[position] > 0)
                }
                return (sgd.weights, Double(correct) / Double(tested.count))
            case .svm:
                let total = activations.count / width
                var subset = [Double](repeating: 0, count: members.count * members.count)
                for (a, i) in members.enumerated() {
                    for (b, j) in members.enumerated() { subset[a * members.count + b] = gram[i * total + j] }
                }
                let svm = try LinearSVM(
                    gram: subset, labels: labels, alpha: TCAV.regularization, checkCancellation: context.checkCancellation)
                var cav = [Double](repeating: 0, count: width)
                for (position, member) in members.enumerated() where svm.coefficients[position] != 0 {
                    let coefficient = svm.coefficients[position]
                    for feature in 0..<width { cav[feature] += coefficient * Double(activations[member * width + feature]) }
                }
                var correct = 0
                for position in members.indices {
                    var decision = svm.intercept
                    for (other, coefficient) in svm.coefficients.enumerated() where coefficient != 0 {
                        decision += coefficient * subset[position * members.count + other]
                    }
                    if (decision > 0) == (labels[position] > 0) { correct += 1 }
                }
                return (cav, Double(correct) / Double(members.count))
            }
        }

        /// The layer's values (or, with `wantsGradients`, the gradient of the analysed target
        /// at the layer) for every instance of `batch`, flattened per instance, in passes sized
        /// to the memory budget, advancing progress by the instances of each pass.
        func layerPass(
            _ batch: [Tensor], context: AnalysisContext, wantsGradients: Bool
        ) throws(ExplanationError) -> (scalars: [Float], width: Int) {
            let count = batch.first?.shape.first ?? 0
            let passSize = Swift.max(1, context.explanation.rowsPerPass(for: model))
            var scalars: [Float] = []
            var width = 0
            for start in stride(from: 0, to: count, by: passSize) {
                try context.checkCancellation()
                let range = start..<Swift.min(start + passSize, count)
                let result: GradientResult
                do {
                    result = try model.gradient(
                        batch.map { $0.rows(range) }, output: output, pass: BackwardPass(layers: [layer], needsInputGradients: false)
                    ) { value, rows throws(ModelError) in
                        if wantsGradients {
                            try TargetGradients.oneHot(like: value, targets: Array(repeating: target, count: rows.count))
                        } else {
                            Tensor(zerosLike: value)
                        }
                    }
                } catch {
                    throw ExplanationError(error)
                }
                let values = wantsGradients ? result.layerGradients[0] : result.layerValues[0]
                guard values.isFinite else {
                    throw ExplanationError(.nonFiniteResult, "tcav: layer '\(layer)' holds NaN or infinity for these instances")
                }
                width = values.count / Swift.max(range.count, 1)
                scalars += values.scalars
                context.progress.advance(by: range.count)
            }
            return (scalars, width)
        }

        /// The Gram matrix of the examples' activations, row-major, in double precision.
        static func gram(_ activations: [Float], width: Int, context: AnalysisContext) throws(ExplanationError) -> [Double] {
            let count = activations.count / width
            var gram = [Double](repeating: 0, count: count * count)
            for i in 0..<count {
                if i % 64 == 0 { try context.checkCancellation() }
                activations.withUnsafeBufferPointer { values in
                    for j in 0...i {
                        var sum = 0.0
                        for feature in 0..<width { sum += Double(values[i * width + feature]) * Double(values[j * width + feature]) }
                        gram[i * count + j] = sum
                        gram[j * count + i] = sum
                    }
                }
            }
            return gram
        }
    }
}
