import CandorModel
import CandorTensor

/// Feature ablation: each feature group's attribution is f(x) − f(x with the group set to its
/// baseline), for the target output. Captum `FeatureAblation`.
public struct FeatureAblation: Explainer {
    public let descriptor = MethodDescriptor(
        name: "feature_ablation", family: "perturbation",
        summary: "f(x) − f(x with a feature group replaced by its baseline), for every group",
        reference: "Captum FeatureAblation", requirement: .any,
        parameters: [
            ParameterSpec.baselines("the replacement values: a number, one instance, or one per instance"),
            ParameterSpec.featureMask(
                "a group id per element, shaped like one instance; elements sharing an id are ablated together (default: each element alone)"
            ),
            ParameterSpec.perturbationsPerEval(of: "feature groups"),
        ])

    public init() {}

    public func prepare(_ parameters: [String: JSONValue], for problem: ExplanationProblem) throws(ExplanationError) -> any ExplanationPlan
    {
        var reader = try ParameterReader(parameters, specs: descriptor.parameters, method: descriptor.name)
        let baselines = try Baselines.resolve(reader.json("baselines"), for: problem)
        let groups = try FeatureGroups(featureMask: reader.json("feature_mask"), problem: problem)
        let groupsPerPass = try reader.optionalInt("perturbations_per_eval")
        return AblationPlan(
            model: problem.model, effectiveParameters: reader.effective, baselines: baselines, groups: groups, groupsPerPass: groupsPerPass)
    }
}

/// Occlusion: a window slides over the instance; each element's attribution is the mean, over
/// the windows covering it, of f(x) − f(x with the window set to the baseline). Zeiler &
/// Fergus, "Visualizing and Understanding Convolutional Networks", 2014; Captum `Occlusion`.
public struct Occlusion: Explainer {
    public let descriptor = MethodDescriptor(
        name: "occlusion", family: "perturbation",
        summary: "mean over the sliding windows covering an element of f(x) − f(x occluded)",
        reference: "Captum Occlusion", requirement: .any,
        parameters: [
            ParameterSpec(
                "sliding_window_shapes", .integers, minimum: 1, maximum: 1_000_000,
                summary: "the window's extent on each instance axis (required)"),
            ParameterSpec("strides", .integers, default: 1, minimum: 1, maximum: 1_000_000, summary: "the window's step on each axis"),
            ParameterSpec.baselines("the values an occluded element takes"),
            ParameterSpec.perturbationsPerEval(of: "window positions"),
        ])

    /// The most (window position, element) pairs one request may occlude.
    public static let maximumWindowElements = 1 << 24

    public init() {}

    public func prepare(_ parameters: [String: JSONValue], for problem: ExplanationProblem) throws(ExplanationError) -> any ExplanationPlan
    {
        var reader = try ParameterReader(parameters, specs: descriptor.parameters, method: descriptor.name)
        guard problem.inputs.count == 1, let input = problem.inputs.first else {
            throw ExplanationError(
                .methodNotApplicable, "occlusion slides one window over one input; this model has \(problem.inputs.count)")
        }
        let shape = Array(input.shape.dropFirst())
        guard let window = try reader.integers("sliding_window_shapes", count: shape.count) else {
            throw ExplanationError(
                .invalidParameter,
                "parameter 'sliding_window_shapes' of occlusion is required: the window's extent on each of the instance's \(shape.count) axes"
            )
        }
        if let axis = shape.indices.first(where: { window[$0] > shape[$0] }) {
            throw ExplanationError(
                .invalidParameter,
                "parameter 'sliding_window_shapes' is larger than the instance on axis \(axis) (\(window[axis]) > \(shape[axis]))")
        }
        let strides = try reader.integers("strides", count: shape.count) ?? Array(repeating: 1, count: shape.count)
        // A step longer than the window would leave elements no window covers (Captum refuses it too).
        if let axis = shape.indices.first(where: { strides[$0] > window[$0] && window[$0] < shape[$0] }) {
            throw ExplanationError(
                .invalidParameter,
                "parameter 'strides' is longer than the window on axis \(axis) (\(strides[axis]) > \(window[axis])), which would leave elements unexplained"
            )
        }
        // Window positions × window size elements are listed up front: bounded before building.
        let positions = shape.indices.reduce(1) { $0 * ((shape[$1] - window[$1] + strides[$1] - 1) / strides[$1] + 1) }
        let listed = positions.multipliedReportingOverflow(by: window.reduce(1, *))
        guard !listed.overflow, listed.partialValue <= Self.maximumWindowElements else {
            throw ExplanationError(
                .tooLarge,
                "occlusion with these windows and strides would occlude \(positions) windows of \(window.reduce(1, *)) elements, more than the \(Self.maximumWindowElements) allowed: use larger strides or a smaller window"
            )
        }
        let groups = FeatureGroups.slidingWindows(shape: shape, window: window, strides: strides, input: 0)
        let baselines = try Baselines.resolve(reader.json("baselines"), for: problem)
        let groupsPerPass = try reader.optionalInt("perturbations_per_eval")
        return AblationPlan(
            model: problem.model, effectiveParameters: reader.effective, baselines: baselines, groups: groups, groupsPerPass: groupsPerPass)
    }
}

extension ExplanationProblem {
    /// Elements in one instance of each input.
    var instanceSizes: [Int] { inputs.map { batchSize > 0 ? $0.count / batchSize : 0 } }
}

/// Ablation and occlusion: an element's attribution is the sum of its groups' output drops
/// divided by the number of groups that contain it (1 for ablation's disjoint groups; the
/// window count for occlusion).
struct AblationPlan: ExplanationPlan {
    let model: any PredictiveModel
    let effectiveParameters: [String: JSONValue]
    let baselines: [Tensor]
    let groups: FeatureGroups
    let groupsPerPass: Int?

    func run(_ problem: ResolvedProblem, context: ExplanationContext) throws(ExplanationError) -> [InstanceAttribution] {
        let batch = problem.problem.batchSize
        let sizes = problem.problem.instanceSizes
        let perturbed = try PerturbedEvaluation(model: model, problem: problem, baselines: baselines, groups: groups)
            .targetOutputs(count: groups.groups.count, perPass: groupsPerPass, context: context) { [$0] }
        var totals = sizes.map { [Float](repeating: 0, count: $0 * batch) }
        var counts = sizes.map { [Int](repeating: 0, count: $0) }
        for (groupIndex, group) in groups.groups.enumerated() {
            for element in group {
                counts[element.input][element.index] += 1
                for row in 0..<batch {
                    totals[element.input][row * sizes[element.input] + element.index] +=
                        problem.targetOutput(row) - perturbed[groupIndex * batch + row]
                }
            }
        }
        return (0..<batch).map { row in
            InstanceAttribution(
                attributions: sizes.indices.map { input in
                    let values = (0..<sizes[input]).map { index in
                        counts[input][index] > 0 ? totals[input][row * sizes[input] + index] / Float(counts[input][index]) : 0
                    }
                    return problem.problem.instanceTensor(values, input: input)
                })
        }
    }
}

/// The forward passes every perturbation method is made of: the target output of every
/// instance with chosen feature groups replaced by their baseline values. Each (perturbation,
/// instance) pair is one row; rows are batched to the memory budget (or `perPass`
/// perturbations per pass), and cancellation is checked between passes.
struct PerturbedEvaluation {
    let model: any PredictiveModel
    let problem: ResolvedProblem
    let baselines: [Tensor]
    let groups: FeatureGroups
    /// Which row of `baselines` replaces instance `row` under perturbation `p`: the instance's
    /// own baseline (the default), or another instance (feature permutation).
    var baselineRow: (_ perturbation: Int, _ row: Int) -> Int = { _, row in row }

    /// The target outputs, perturbation-major: entry `p · batch + row` is instance `row` with
    /// the groups `replaced(p)` set to the baseline.
    func targetOutputs(
        count: Int, perPass: Int?, context: ExplanationContext, replaced: (Int) -> [Int]
    ) throws(ExplanationError) -> [Float] {
        let inputs = problem.problem.inputs
        let batch = problem.problem.batchSize
        let sizes = problem.problem.instanceSizes
        let perRow = problem.outputsPerInstance
        let rowBudget = max(1, context.maxBatchElements / model.elementsPerInstance)
        let passSize = max(1, min(perPass ?? Int.max, rowBudget / max(batch, 1)))
        var results: [Float] = []
        results.reserveCapacity(count * batch)
        for first in stride(from: 0, to: count, by: passSize) {
            try context.checkCancellation()
            let pass = first..<min(first + passSize, count)
            var perturbed: [Tensor] = []
            for (inputIndex, input) in inputs.enumerated() {
                let size = sizes[inputIndex]
                var scalars = [Float](repeating: 0, count: size * batch * pass.count)
                for (position, perturbation) in pass.enumerated() {
                    let offset = position * batch * size
                    scalars.replaceSubrange(offset..<offset + batch * size, with: input.scalars)
                    for groupIndex in replaced(perturbation) {
                        for element in groups.groups[groupIndex] where element.input == inputIndex {
                            for row in 0..<batch {
                                let source = baselineRow(perturbation, row)
                                scalars[offset + row * size + element.index] = baselines[inputIndex].scalars[source * size + element.index]
                            }
                        }
                    }
                }
                do { perturbed.append(try Tensor(shape: [batch * pass.count] + input.shape.dropFirst(), scalars: scalars)) } catch {
                    throw ExplanationError(.invalidInput, "the perturbed batch is too large: \(error)")
                }
            }
            let outputs: Tensor
            do { outputs = try model.predict(perturbed)[problem.problem.output] } catch { throw ExplanationError(error) }
            for position in 0..<pass.count {
                for row in 0..<batch {
                    results.append(outputs.scalars[(position * batch + row) * perRow + problem.targets[row]])
                }
            }
        }
        return results
    }
}

extension ResolvedProblem {
    /// f(x) at the target, for instance `row`.
    func targetOutput(_ row: Int) -> Float {
        outputValues.scalars[row * outputsPerInstance + targets[row]]
    }

    /// Values the explained output has for one instance.
    var outputsPerInstance: Int { problem.batchSize > 0 ? outputValues.count / problem.batchSize : 0 }
}

extension ExplanationProblem {
    /// Per-instance values of input `input` as a tensor of the instance's shape.
    func instanceTensor(_ values: [Float], input: Int) -> Tensor {
        (try? Tensor(shape: Array(inputs[input].shape.dropFirst()), scalars: values)) ?? Tensor(scalar: 0)
    }
}
