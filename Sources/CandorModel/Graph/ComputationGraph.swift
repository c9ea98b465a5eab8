import CandorTensor

/// A validated ONNX graph ready to run: nodes in execution order reading and writing numbered
/// value slots, constants folded in. Immutable and shared by every worker; each call's
/// activations live in its own slot array.
public final class ComputationGraph: Sendable {
    /// One node to execute.
    struct Step: Sendable {
        let node: NodeIdentity
        let op: any Operator
        /// Input slots by position; nil for an omitted optional input.
        let inputs: [Int?]
        /// Output slots by position; nil for an output the graph never names.
        let outputs: [Int?]
    }

    /// Tensor name of every slot.
    let slotNames: [String]
    let slotIndex: [String: Int]
    /// Initial slot contents: initializers and folded constants.
    let constants: [GraphValue?]
    let steps: [Step]
    let inputSlots: [Int]
    let outputSlots: [Int]
    /// For each slot, the index of the last step reading it (or `steps.count` if it is a
    /// graph output), so forward-only runs can release activations early.
    private let lastUse: [Int]

    init(slotNames: [String], constants: [GraphValue?], steps: [Step], inputSlots: [Int], outputSlots: [Int]) {
        self.slotNames = slotNames
        self.slotIndex = Dictionary(slotNames.enumerated().map { ($1, $0) }, uniquingKeysWith: { first, _ in first })
        self.constants = constants
        self.steps = steps
        self.inputSlots = inputSlots
        self.outputSlots = outputSlots
        var lastUse = [Int](repeating: -1, count: slotNames.count)
        for (index, step) in steps.enumerated() {
            for case let slot? in step.inputs { lastUse[slot] = index }
        }
        for slot in outputSlots { lastUse[slot] = steps.count }
        self.lastUse = lastUse
    }

    /// Runs every step. With `retainingAll` false, activations no later step needs are released
    /// as soon as possible (prediction); with it true every slot keeps its value (gradients).
    ///
    /// With `elementBudget`, the run stops with `.tooLarge` once the activations it has
    /// computed exceed that many elements (the validating trial run of a model at load).
    ///
    /// `overrides` replace the values of intermediate slots as soon as they are computed, so
    /// every later step reads the given value (Captum's layer patching).
    func forward(
        _ inputs: [GraphValue], retainingAll: Bool, elementBudget: Int? = nil, overrides: [Int: GraphValue] = [:]
    ) throws(ModelError) -> [GraphValue?] {
        var values = constants
        var computedElements = 0
        for (slot, value) in zip(inputSlots, inputs) { values[slot] = overrides[slot] ?? value }
        for (index, step) in steps.enumerated() {
            let arguments = step.inputs.map { $0.flatMap { values[$0] } }
            let results: [GraphValue]
            do { results = try step.op.forward(arguments) } catch { throw ModelError.atNode(step.node, error) }
            guard results.count >= step.outputs.count(where: { $0 != nil }) else {
                throw ModelError(.inconsistentShapes, "\(step.node) produced \(results.count) outputs, fewer than the graph uses")
            }
            for (slot, value) in zip(step.outputs, results) {
                if let slot {
                    if let replacement = overrides[slot] {
                        guard replacement.shape == value.shape else {
                            throw ModelError(
                                .inconsistentShapes,
                                "the value given for '\(slotNames[slot])' has shape \(replacement.shape), not \(value.shape)")
                        }
                        values[slot] = replacement
                    } else {
                        values[slot] = value
                    }
                }
                computedElements += value.shape.reduce(1, *)
            }
            if let elementBudget, computedElements > elementBudget {
                throw ModelError(.tooLarge, "\(step.node): the model's activations for one instance exceed \(elementBudget) elements")
            }
            if !retainingAll {
                for case let slot? in step.inputs where lastUse[slot] == index && constants[slot] == nil {
                    values[slot] = nil
                }
            }
        }
        return values
    }

    /// Back-propagates `seeds` (∂L/∂slot for some slots) through the activations of a
    /// retaining forward pass and returns ∂L/∂slot for each slot in `targets`, each step's
    /// VJP replaced by `rule` where it gives one.
    ///
    /// Gradients stop at the slots in `cut` (replaced values, which do not depend on what
    /// computed them).
    func backward(
        values: [GraphValue?], seeds: [(slot: Int, gradient: Tensor)], targets: [Int], rule: (any BackwardRule)? = nil,
        cut: Set<Int> = []
    ) throws(ModelError) -> [Tensor] {
        // Only slots downstream of a target can carry a gradient that matters.
        var needsGradient = [Bool](repeating: false, count: slotNames.count)
        for slot in targets { needsGradient[slot] = true }
        for step in steps where step.inputs.contains(where: { $0.map { needsGradient[$0] } ?? false }) {
            for case let slot? in step.outputs { needsGradient[slot] = true }
        }

        var gradients = [Tensor?](repeating: nil, count: slotNames.count)
        for (slot, gradient) in seeds { gradients[slot] = try accumulate(gradients[slot], gradient, slot: slot) }
        for step in steps.reversed() {
            let outputGradients = step.outputs.map { $0.flatMap { gradients[$0] } }
            guard outputGradients.contains(where: { $0 != nil }), !step.outputs.contains(where: { $0.map(cut.contains) ?? false }),
                step.inputs.contains(where: { $0.map { needsGradient[$0] } ?? false })
            else { continue }
            let arguments = step.inputs.map { $0.flatMap { values[$0] } }
            let outputs = step.outputs.compactMap { $0.flatMap { values[$0] } }
            var inputGradients: [Tensor?]
            do throws(TensorError) {
                let backwardStep = BackwardStep(
                    op: step.op, inputs: arguments, outputs: outputs, outputGradients: outputGradients,
                    wanted: step.inputs.map { $0.map { needsGradient[$0] } ?? false })
                if let replaced = try rule?.inputGradients(backwardStep) {
                    inputGradients = replaced
                } else {
                    inputGradients = try backwardStep.gradient()
                }
            } catch {
                throw ModelError.atNode(step.node, error)
            }
            for (slot, gradient) in zip(step.inputs, inputGradients) {
                guard let slot, let gradient, needsGradient[slot] else { continue }
                gradients[slot] = try accumulate(gradients[slot], gradient, slot: slot)
            }
        }
        return targets.map { slot in
            // Integer slots (token ids) carry no gradient: zeros shaped like them.
            gradients[slot] ?? values[slot].flatMap { try? Tensor(repeating: 0, shape: $0.shape) } ?? Tensor(scalar: 0)
        }
    }

    private func accumulate(_ existing: Tensor?, _ gradient: Tensor, slot: Int) throws(ModelError) -> Tensor {
        guard let existing else { return gradient }
        do { return try existing.zipMap(gradient, +) } catch {
            throw ModelError(.inconsistentShapes, "gradients for '\(slotNames[slot])' disagree in shape: \(error)")
        }
    }
}
