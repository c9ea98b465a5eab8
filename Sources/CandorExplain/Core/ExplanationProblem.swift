import CandorModel
import CandorTensor

/// What is to be explained: a batch of instances, the output and (optionally) the targets.
public struct ExplanationProblem: Sendable {
    public let model: any PredictiveModel
    /// One batched tensor per model input, [batch] + instance shape.
    public let inputs: [Tensor]
    /// Index of the explained model output.
    public let output: Int
    /// A class index per instance into the flattened per-instance output; nil means each
    /// instance's argmax.
    public let targets: [Int]?
    /// What the model's sidecar says about its training data (background rows, statistics).
    public let dataset: DatasetSummary

    public init(model: any PredictiveModel, inputs: [Tensor], output: Int, targets: [Int]?, dataset: DatasetSummary = .none) {
        self.model = model
        self.inputs = inputs
        self.output = output
        self.targets = targets
        self.dataset = dataset
    }

    public var batchSize: Int { inputs.first?.shape.first ?? 0 }
}

/// The problem after the model has been run once: targets are known.
public struct ResolvedProblem: Sendable {
    public let problem: ExplanationProblem
    /// The explained output for every instance, [batch, ...].
    public let outputValues: Tensor
    public let targets: [Int]
}

extension ExplanationProblem {
    /// Elements in one instance of each input.
    var instanceSizes: [Int] { inputs.map { batchSize > 0 ? $0.count / batchSize : 0 } }

    /// Whether the instances are images: one input of [channels, height, width] or
    /// [height, width] instances.
    var holdsImages: Bool { inputs.count == 1 && (3...4).contains(inputs[0].rank) }

    /// Per-instance values of input `input` as a tensor of the instance's shape; a count that
    /// does not fit the shape is a method's bug, reported as a model failure rather than
    /// hidden.
    func instanceTensor(_ values: [Float], input: Int) throws(ExplanationError) -> Tensor {
        let shape = Array(inputs[input].shape.dropFirst())
        do { return try Tensor(shape: shape, scalars: values) } catch {
            throw ExplanationError(
                .modelFailure, "\(values.count) attributions do not fit input \(input)'s instance shape \(shape): \(error)")
        }
    }
}

extension ResolvedProblem {
    /// f(x) at the target, for instance `row`.
    func targetOutput(_ row: Int) -> Float {
        outputValues.scalars[row * outputsPerInstance + targets[row]]
    }

    /// Values the explained output has for one instance.
    var outputsPerInstance: Int { problem.batchSize > 0 ? outputValues.count / problem.batchSize : 0 }

    /// Instance `row` alone, as a problem of one (for metrics that rank each instance's
    /// features in its own order).
    func row(_ row: Int) -> ResolvedProblem {
        let range = row..<(row + 1)
        let single = ExplanationProblem(
            model: problem.model, inputs: problem.inputs.map { $0.rows(range) }, output: problem.output, targets: [targets[row]],
            dataset: problem.dataset)
        return ResolvedProblem(problem: single, outputValues: outputValues.rows(range), targets: [targets[row]])
    }
}
