extension ComputationGraph {
    /// The nodes LRP has no rule for (``LRPTreatment/refused(reason:)``) among those output
    /// `output` depends on, in execution order; empty when LRP can explain it.
    ///
    /// The walk goes back from the output along the inputs each node sends relevance to, so
    /// the `Sigmoid` of a SiLU pair (``SiLUProduct``), which gets none, counts only where
    /// another node on the way also reads it.
    func lrpRefusals(feeding output: Int) -> [LRPRefusal] {
        guard outputSlots.indices.contains(output) else { return [] }
        var needed: Set<Int> = [outputSlots[output]]
        var refusals: [LRPRefusal] = []
        for step in steps.reversed() where step.outputs.contains(where: { $0.map(needed.contains) ?? false }) {
            let treatment = step.op.attributionRules.lrp
            if case .refused(let reason) = treatment { refusals.append(LRPRefusal(node: step.node, reason: reason)) }
            for operand in treatment.relevanceOperands(count: step.inputs.count) {
                if let slot = step.inputs[operand] { needed.insert(slot) }
            }
        }
        return refusals.reversed()
    }
}
