import CandorModel
import CandorTensor

/// Minimal perturbation: the smallest amount of one perturbation (a rotation, a blur, a patch,
/// a shift of one feature, …) that changes the model's prediction, or moves it to a desired
/// class — a robustness probe rather than an attribution. Searched as Captum's
/// `captum.robust.MinParamPerturbation` searches (linear over a grid, or binary), with the
/// image perturbations defined as `scipy.ndimage` computes them, so that the answers equal
/// Captum's with those perturbation functions.
public struct MinPerturbation: Explainer {
    public let descriptor = MethodDescriptor(
        name: "min_perturbation", family: "robustness",
        summary: "the smallest amount of one perturbation (rotation, blur, patch, feature shift, …) that changes the prediction",
        reference: "Captum MinParamPerturbation", requirement: .any,
        checkedAgainst:
            "Captum 0.9 `MinParamPerturbation`, perturbations in SciPy/numpy, every kind, both modes, on shapes_cnn and breast_cancer_mlp: equal min_param and search order, perturbed input and output to float32 tolerance",
        details: """
            The prediction is the argmax of the explained output (ties: the first). An input counts
            as flipped when its prediction differs from `target` (by default each instance's own
            prediction — Captum's default `correct_fn`), or, with `desired_class`, when its
            prediction is that class. `min_param` is the first amount that flips, searched as
            Captum's `MinParamPerturbation` searches (`num_attempts` 1: every perturbation here is
            deterministic):

            - `linear`: arg_min, arg_min + arg_step, … accumulated by repeated addition while below
              arg_max (arg_max itself is not tried) — the smallest grid value that flips.
            - `binary`: Captum's bisection of [arg_min, arg_max) to arg_step resolution: midpoint
              arg_low + ⌊⌊(arg_high − arg_low) / arg_step⌋ / 2⌋·arg_step (Python's float floor
              division; at least one step while one fits), arg_high ← midpoint when it flips,
              arg_low ← midpoint when not, ending when the midpoint equals arg_low (math.isclose).
              It assumes flipping is monotone in the amount; when it is not, it may return a
              flipping amount larger than the linear answer, as Captum does.

            arg_max must exceed arg_min + arg_step (Captum's assertion), and the grid may hold at
            most 100 000 values. Values are computed in double and rounded to float32. Image
            perturbations need image instances ([C, H, W] or [H, W]) and transform each [H, W]
            channel; p is the amount, s = −1 with `direction` "negative" and +1 otherwise:

            - `rotation` (degrees, default 0…180 by 1): `scipy.ndimage.rotate(channel, s·p,
              order=1, reshape=False, mode="constant", cval=baselines)` — bilinear, about the centre
              ((H − 1)/2, (W − 1)/2); a source point outside the image takes the fill value.
            - `translation` (pixels, default 0…min(H, W) by 1): `scipy.ndimage.shift(channel,
              shift, order=1, mode="constant", cval=baselines)` with shift (rows, columns) =
              (s·p, s·p) for `axis` "both", (0, s·p) for "x", (s·p, 0) for "y" (down and right
              positive).
            - `gaussian_noise` (σ, default 0…1 by 0.01; any single input): x + σ·z, z one draw of
              independent standard normals per element from `seed` (Candor's generator, the same
              z for every σ and for each instance whatever its place in the batch), so the search
              runs along one direction.
            - `gaussian_blur` (σ pixels, default 0…10 by 0.1, at most 256):
              `scipy.ndimage.gaussian_filter(channel, σ, mode="reflect", truncate=4.0)`.
            - `brightness` (default 0…1 by 0.01): x·(1 + s·p).
            - `contrast` (default 0…1 by 0.01): m + (1 + s·p)·(x − m), m the mean of all the
              instance's values.
            - `occlusion` (the patch side in pixels, integers, default 1…min(H, W) + 1 by 1): a
              square patch set to `baselines` on every channel, at every position from 0 in steps
              of `strides` (cut off at the edge, as `occlusion` slides windows); p flips when the
              patch flips the prediction at any position, and `position` [top, left] is the first
              such position in row-major order.
            - `feature_shift` (tables: one input of flat feature vectors, with the sidecar's
              training_statistics std; default 0…10 by 0.1): each feature j in turn, with x_j +
              p·std_j and then x_j − p·std_j; p flips when any of them does, and `feature` (with
              `feature_name`) and `sign` say which, the first in that order.

            Each explanation answers `found`, `min_param` (null when nothing flips), `searched`
            [arg_min, arg_max] and, when found, `perturbed` (the perturbed instance, shaped like
            it), `perturbed_output` (the explained output for it), `perturbed_prediction` and the
            perturbation's `position` or `feature`/`sign`. The attributions are perturbed − input
            (zeros when nothing flips). Candidate amounts are evaluated many to a forward pass;
            the answer is the first flip in Captum's order. The goldens
            (`scripts/fixtures/make_min_perturbation_fixtures.py`) also compare each perturbation
            alone with SciPy on a small image.
            """,
        parameters: [
            ParameterSpec.choice(
                "perturbation", PerturbationKind.allCases, default: nil,
                summary:
                    "the perturbation to search (required): rotation, translation, gaussian_noise, gaussian_blur, brightness, contrast, occlusion or feature_shift"
            ),
            ParameterSpec(
                "arg_min", .number, minimum: -1_000_000, maximum: 1_000_000,
                summary: "the smallest amount tried (default: the perturbation's, see below)"),
            ParameterSpec(
                "arg_max", .number, minimum: -1_000_000, maximum: 1_000_000,
                summary: "the end of the searched range, not itself tried (default: the perturbation's)"),
            ParameterSpec(
                "arg_step", .number, minimum: 1e-9, maximum: 1_000_000,
                summary: "the grid step of the linear search, the resolution of the binary one (default: the perturbation's)"),
            ParameterSpec.choice(
                "mode", SearchMode.allCases, default: .linear, summary: "linear (the smallest grid value) or binary search"),
            ParameterSpec(
                "desired_class", .classLabel,
                summary:
                    "search for the smallest amount that makes this class (an index or the sidecar's class name) the prediction (default: any class but target)"
            ),
            ParameterSpec(
                "baselines", .number, minimum: -1_000_000_000, maximum: 1_000_000_000,
                summary: "rotation, translation, occlusion: the value of pixels from outside the image or under the patch (default 0)"),
            ParameterSpec.choice(
                "direction", PerturbationDirection.allCases, default: nil,
                summary: "rotation, translation, brightness, contrast: apply the amount as +p or −p (default positive)"),
            ParameterSpec.choice(
                "axis", TranslationAxis.allCases, default: nil,
                summary: "translation: move along both axes, x only or y only (default both)"),
            ParameterSpec(
                "seed", .integer, minimum: 0, maximum: 4_294_967_295, summary: "gaussian_noise: the seed of its one direction (default 0)"),
            ParameterSpec(
                "strides", .integers, minimum: 1, maximum: 1_000_000,
                summary: "occlusion: the patch's step down and across, one integer or [rows, columns] (default 1)"),
        ])

    /// The search modes of Captum's `MinParamPerturbation`.
    enum SearchMode: String, CaseIterable, Sendable {
        case linear
        case binary
    }

    /// The most perturbed copies (amounts × occlusion positions or shifted features) one
    /// instance's linear search may evaluate.
    public static let maximumCopies = 2_000_000
    /// The largest blur σ (its kernel has 2⌊4σ + 0.5⌋ + 1 taps).
    public static let maximumBlurSigma = 256.0

    public init() {}

    public func prepare(_ parameters: [String: JSONValue], for problem: ExplanationProblem) throws(ExplanationError) -> any ExplanationPlan
    {
        var reader = try ParameterReader(parameters, specs: descriptor.parameters, method: descriptor.name)
        guard reader.isGiven("perturbation") else {
            throw ExplanationError(
                .invalidParameter,
                "parameter 'perturbation' of min_perturbation is required: one of \(PerturbationKind.allCases.map(\.rawValue).joined(separator: ", "))"
            )
        }
        let kind = try reader.choice("perturbation", as: PerturbationKind.self)
        let shape = try Self.instanceShape(of: problem, for: kind)
        let others = ["baselines", "direction", "axis", "seed", "strides"].filter { !kind.ownParameters.contains($0) }
        if let stray = others.first(where: reader.isGiven) {
            throw ExplanationError(.invalidParameter, "parameter '\(stray)' does not apply to the \(kind.rawValue) perturbation")
        }
        // The perturbation's own parameters: echoed (with their defaults) only where they apply.
        var perturbation = Perturbation(kind: kind, shape: shape)
        if kind.ownParameters.contains("baselines") {
            perturbation.fill = Float(try reader.optionalDouble("baselines") ?? 0)
            if !reader.isGiven("baselines") { reader.record("baselines", .number(0)) }
        }
        if kind.ownParameters.contains("direction") {
            let direction = try Self.choice("direction", default: PerturbationDirection.positive, &reader)
            perturbation.sign = direction == .negative ? -1 : 1
        }
        if kind == .translation { perturbation.axis = try Self.choice("axis", default: TranslationAxis.both, &reader) }
        if kind == .gaussianNoise {
            perturbation.seed = UInt64(try reader.optionalInt("seed") ?? 0)
            if !reader.isGiven("seed") { reader.record("seed", .number(0)) }
        }
        if kind == .occlusion {
            perturbation.strides = try reader.integers("strides", count: 2) ?? [1, 1]
            if !reader.isGiven("strides") { reader.record("strides", .number(1)) }
        }
        if kind == .featureShift {
            perturbation.standardDeviations = try Self.standardDeviations(problem, features: shape[0])
        }

        let (height, width) = (perturbation.imageShape.height, perturbation.imageShape.width)
        let range = try Self.range(&reader, kind: kind, side: min(height, width))
        let mode = try reader.choice("mode", as: SearchMode.self)
        let outputCount =
            problem.model.outputs.indices.contains(problem.output)
            ? Self.fixedCount(problem.model.outputs[problem.output].instanceShape) : nil
        if let outputCount, outputCount <= 1 {
            throw ExplanationError(
                .methodNotApplicable,
                "min_perturbation looks for a change of the predicted class (the argmax of the explained output), which has a single value per instance for this model"
            )
        }
        let desired = try reader.classLabel("desired_class", classCount: outputCount ?? Int.max, classNames: problem.dataset.classNames)
        let grid = ParameterSearch.linearGrid(from: range.lower, to: range.upper, step: range.step)
        guard let grid else {
            throw ExplanationError(
                .invalidParameter,
                "min_perturbation's range \(ParameterReader.format(range.lower))…\(ParameterReader.format(range.upper)) by \(range.step) holds more than \(ParameterSearch.maximumCandidates) values: use a larger 'arg_step' or a smaller range"
            )
        }
        if mode == .linear {
            var copies = 0
            for amount in grid { copies += perturbation.copies(at: amount) }
            guard copies <= Self.maximumCopies else {
                throw ExplanationError(
                    .invalidParameter,
                    "min_perturbation would evaluate \(copies) perturbed copies of each instance, more than \(Self.maximumCopies): use a larger 'arg_step'\(kind == .occlusion ? " or 'strides'" : "") or a smaller range"
                )
            }
        }
        return Plan(
            effectiveParameters: reader.effective, perturbation: perturbation, mode: mode, range: range, grid: grid,
            desiredClass: desired, featureNames: problem.dataset.featureNames)
    }

    /// A choice that applies to this perturbation, its default recorded when not given.
    private static func choice<Choice: RawRepresentable>(
        _ name: String, default fallback: Choice, _ reader: inout ParameterReader
    ) throws(ExplanationError) -> Choice where Choice.RawValue == String {
        guard reader.isGiven(name) else {
            reader.record(name, .string(fallback.rawValue))
            return fallback
        }
        return try reader.choice(name, as: Choice.self)
    }

    /// The number of values per instance of an output whose instance axes are all fixed.
    private static func fixedCount(_ dimensions: [Dimension]) -> Int? {
        var count = 1
        for dimension in dimensions {
            guard let extent = dimension.fixedValue else { return nil }
            count *= extent
        }
        return count
    }

    /// The instance shape the perturbation applies to, or a 400 naming what it needs.
    private static func instanceShape(of problem: ExplanationProblem, for kind: PerturbationKind) throws(ExplanationError) -> [Int] {
        guard problem.inputs.count == 1, let input = problem.inputs.first else {
            throw ExplanationError(
                .methodNotApplicable, "min_perturbation perturbs a single input; this model has \(problem.inputs.count)")
        }
        let shape = Array(input.shape.dropFirst())
        if kind.needsImages && !problem.holdsImages {
            throw ExplanationError(
                .methodNotApplicable,
                "the \(kind.rawValue) perturbation applies to images ([channels, height, width] or [height, width] instances); this model's instances have shape \(shape)"
            )
        }
        if kind == .featureShift && shape.count != 1 {
            throw ExplanationError(
                .methodNotApplicable,
                "the feature_shift perturbation applies to tables (flat feature vectors); this model's instances have shape \(shape)")
        }
        return shape
    }

    /// The sidecar's training standard deviation of each of `features` features.
    private static func standardDeviations(_ problem: ExplanationProblem, features: Int) throws(ExplanationError) -> [Double] {
        guard let std = problem.dataset.statistics?.std else {
            throw ExplanationError(
                .missingReferenceData,
                "feature_shift moves features by multiples of their training standard deviation, and this model's sidecar has no training_statistics std"
            )
        }
        guard std.count == features, std.allSatisfy({ $0.isFinite && $0 >= 0 }) else {
            throw ExplanationError(
                .missingReferenceData,
                "the sidecar's training_statistics std has \(std.count) values for \(features) features, or a value that is not a finite non-negative number"
            )
        }
        return std
    }

    /// arg_min, arg_max and arg_step with the perturbation's defaults, checked.
    private static func range(_ reader: inout ParameterReader, kind: PerturbationKind, side: Int) throws(ExplanationError) -> SearchRange {
        let defaults = kind.defaultRange(side: side)
        func read(_ name: String, _ fallback: Double, _ reader: inout ParameterReader) throws(ExplanationError) -> Double {
            if let value = try reader.optionalDouble(name) { return value }
            reader.record(name, .number(fallback))
            return fallback
        }
        let lower = try read("arg_min", defaults.0, &reader)
        let upper = try read("arg_max", defaults.1, &reader)
        let step = try read("arg_step", defaults.2, &reader)
        guard upper > lower + step else {
            throw ExplanationError(
                .invalidParameter,
                "min_perturbation needs arg_max > arg_min + arg_step (Captum's condition), got \(ParameterReader.format(lower)), \(ParameterReader.format(upper)), \(ParameterReader.format(step))"
            )
        }
        switch kind {
        case .gaussianNoise, .gaussianBlur, .featureShift:
            guard lower >= 0 else {
                throw ExplanationError(
                    .invalidParameter, "the \(kind.rawValue) amount is a σ or a multiple of one: 'arg_min' must be at least 0")
            }
            if kind == .gaussianBlur && upper > maximumBlurSigma + step {
                throw ExplanationError(
                    .invalidParameter, "gaussian_blur's σ may be at most \(ParameterReader.format(maximumBlurSigma)): lower 'arg_max'")
            }
        case .occlusion:
            guard lower >= 1, lower == lower.rounded(), step == step.rounded() else {
                throw ExplanationError(
                    .invalidParameter,
                    "occlusion's amount is a patch side in pixels: 'arg_min' (at least 1) and 'arg_step' must be integers")
            }
            guard upper <= Double(side) + 1 else {
                throw ExplanationError(
                    .invalidParameter,
                    "occlusion's patch side may be at most the image's smaller side (\(side)): 'arg_max' must be at most \(side + 1)")
            }
        default: break
        }
        return SearchRange(lower: lower, upper: upper, step: step)
    }

    struct SearchRange: Sendable {
        let lower: Double
        let upper: Double
        let step: Double
    }

    struct Plan: ExplanationPlan {
        let effectiveParameters: [String: JSONValue]
        let perturbation: Perturbation
        let mode: SearchMode
        let range: SearchRange
        /// The linear grid (also bounds the binary search's).
        let grid: [Double]
        let desiredClass: Int?
        let featureNames: [String]?

        func run(_ problem: ResolvedProblem, context: ExplanationContext) throws(ExplanationError) -> [InstanceAttribution] {
            let input = problem.problem.inputs[0]
            let size = problem.problem.instanceSizes[0]
            let outputShape = Array(problem.outputValues.shape.dropFirst())
            guard problem.outputsPerInstance > 1 else {
                throw ExplanationError(
                    .methodNotApplicable,
                    "min_perturbation looks for a change of the predicted class (the argmax of the explained output), which has a single value per instance for this model"
                )
            }
            if let desiredClass, desiredClass >= problem.outputsPerInstance {
                throw ExplanationError(
                    .invalidParameter,
                    "parameter 'desired_class' of min_perturbation must be a class of the explained output (0…\(problem.outputsPerInstance - 1)), got \(desiredClass)"
                )
            }
            let evaluator = CopyEvaluator(
                model: problem.problem.model, output: problem.problem.output, instanceShape: Array(input.shape.dropFirst()),
                outputsPerInstance: problem.outputsPerInstance,
                rowsPerPass: context.rowsPerPass(for: problem.problem.model))
            var results: [InstanceAttribution] = []
            for row in 0..<problem.problem.batchSize {
                try context.checkCancellation()
                let values = Array(input.scalars[row * size..<(row + 1) * size])
                let instance = perturbation.instance(values)
                let target = problem.targets[row]
                let flips: ([Float]) -> Bool = { outputs in
                    let prediction = CopyEvaluator.prediction(outputs)
                    return desiredClass.map { prediction == $0 } ?? (prediction != target)
                }
                let hit: CopyEvaluator.Hit?
                switch mode {
                case .linear:
                    hit = try evaluator.firstFlip(grid, perturbation: perturbation, instance: instance, flips: flips, context: context)
                case .binary:
                    var search = ParameterSearch.Binary(from: range.lower, to: range.upper, step: range.step)
                    var best: CopyEvaluator.Hit?
                    // Captum's bisection ends by trying its lower end again; that answer is known.
                    var seen: [Double: Bool] = [:]
                    while let amount = search.next() {
                        if let flipped = seen[amount] {
                            search.record(flipped: flipped)
                            continue
                        }
                        let found = try evaluator.firstFlip(
                            [amount], perturbation: perturbation, instance: instance, flips: flips, context: context)
                        if let found, best.map({ $0.amount > found.amount }) ?? true { best = found }
                        seen[amount] = found != nil
                        search.record(flipped: found != nil)
                    }
                    hit = best
                }
                results.append(try answer(hit, values: values, outputShape: outputShape, problem: problem.problem))
            }
            return results
        }

        private func answer(_ hit: CopyEvaluator.Hit?, values: [Float], outputShape: [Int], problem: ExplanationProblem)
            throws(ExplanationError) -> InstanceAttribution
        {
            var extras: [String: JSONValue] = [
                "found": .bool(hit != nil),
                "min_param": hit.map { .number($0.amount) } ?? .null,
                "searched": .array([.number(range.lower), .number(range.upper)]),
            ]
            guard let hit else {
                return InstanceAttribution(
                    attributions: [try problem.instanceTensor([Float](repeating: 0, count: values.count), input: 0)], extras: extras)
            }
            let perturbed = try problem.instanceTensor(hit.perturbed, input: 0)
            extras["perturbed"] = TensorJSON.value(of: perturbed)
            do { extras["perturbed_output"] = TensorJSON.value(of: try Tensor(shape: outputShape, scalars: hit.outputs)) } catch {
                throw ExplanationError(.modelFailure, "the perturbed output does not fit the output's shape \(outputShape): \(error)")
            }
            extras["perturbed_prediction"] = .number(Double(CopyEvaluator.prediction(hit.outputs)))
            extras.merge(perturbation.detail(copy: hit.copy, at: hit.amount, featureNames: featureNames)) { _, new in new }
            let change = zip(hit.perturbed, values).map { $0 - $1 }
            return InstanceAttribution(attributions: [try problem.instanceTensor(change, input: 0)], extras: extras)
        }
    }
}

/// Evaluates the perturbed copies of one instance at a list of amounts, in order, many to a
/// forward pass (passes doubling up to as many rows as the memory budget allows), and stops
/// at the first copy that flips — the one Captum's sequential search would return.
struct CopyEvaluator {
    let model: any PredictiveModel
    let output: Int
    let instanceShape: [Int]
    let outputsPerInstance: Int
    let rowsPerPass: Int

    struct Hit {
        let amount: Double
        let copy: Int
        let perturbed: [Float]
        let outputs: [Float]
    }

    /// The argmax of one instance's outputs, the first of equal maxima (as `torch.argmax`).
    static func prediction(_ outputs: [Float]) -> Int {
        outputs.indices.max { outputs[$0] < outputs[$1] } ?? 0
    }

    func firstFlip(
        _ amounts: [Double], perturbation: Perturbation, instance: Perturbation.Instance, flips: ([Float]) -> Bool,
        context: ExplanationContext
    ) throws(ExplanationError) -> Hit? {
        var pending: [(amount: Double, copy: Int)] = []
        var scalars: [Float] = []
        func evaluate() throws(ExplanationError) -> Hit? {
            defer {
                pending.removeAll(keepingCapacity: true)
                scalars.removeAll(keepingCapacity: true)
            }
            try context.checkCancellation()
            let outputs: Tensor
            do {
                let batch = try Tensor(shape: [pending.count] + instanceShape, scalars: scalars)
                outputs = try model.predict([batch])[output]
            } catch let error as ModelError {
                throw ExplanationError(error)
            } catch {
                throw ExplanationError(.invalidInput, "the perturbed batch is too large: \(error)")
            }
            let size = instanceShape.reduce(1, *)
            for (index, item) in pending.enumerated() {
                let row = Array(outputs.scalars[index * outputsPerInstance..<(index + 1) * outputsPerInstance])
                guard row.allSatisfy(\.isFinite) else {
                    throw ExplanationError(.nonFiniteResult, "the model's output is NaN or infinite for a perturbed input")
                }
                if flips(row) {
                    return Hit(
                        amount: item.amount, copy: item.copy, perturbed: Array(scalars[index * size..<(index + 1) * size]), outputs: row)
                }
            }
            return nil
        }
        // Passes grow from a few rows to the budget's, doubling: an early flip costs little
        // beyond Captum's one-at-a-time search, a late one few passes.
        var passRows = min(rowsPerPass, 4)
        for amount in amounts {
            for copy in 0..<perturbation.copies(at: amount) {
                pending.append((amount, copy))
                scalars += perturbation.perturbed(instance, copy: copy, at: amount)
                if pending.count >= passRows {
                    if let hit = try evaluate() { return hit }
                    passRows = min(rowsPerPass, passRows * 2)
                }
            }
        }
        if !pending.isEmpty, let hit = try evaluate() { return hit }
        return nil
    }
}
