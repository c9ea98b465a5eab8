extension ComputationGraph {
    /// `steps` with the `Mul` of each SiLU pair, Mul(x, Sigmoid(x)) in either operand order,
    /// replaced by a ``SiLUProduct`` — same node, same slots, same values (see there for why).
    ///
    /// A pair is marked whether or not the `Sigmoid`'s output also feeds other nodes: the
    /// rules that treat the pair as one nonlinearity of x send nothing back through the
    /// `Mul`'s Sigmoid operand, so any other reader's gradient still reaches x through the
    /// `Sigmoid` under that reader's own rule, and each node keeps Σ multiplier·Δin = Δout.
    static func markingSiLUPairs(_ steps: [Step]) -> [Step] {
        var producer: [Int: Int] = [:]
        for (index, step) in steps.enumerated() {
            for case let slot? in step.outputs { producer[slot] = index }
        }
        func isSigmoid(of input: Int, at slot: Int) -> Bool {
            guard let index = producer[slot], let sigmoid = steps[index].op as? ElementwiseActivation else { return false }
            return sigmoid.kind == .sigmoid && steps[index].inputs == [input]
        }
        return steps.map { step in
            guard let binary = step.op as? ElementwiseBinary, binary.kind == .mul, step.inputs.count == 2,
                let first = step.inputs[0], let second = step.inputs[1], first != second
            else { return step }
            let sigmoidOperand: Int
            if isSigmoid(of: first, at: second) {
                sigmoidOperand = 1
            } else if isSigmoid(of: second, at: first) {
                sigmoidOperand = 0
            } else {
                return step
            }
            return Step(node: step.node, op: SiLUProduct(sigmoidOperand: sigmoidOperand), inputs: step.inputs, outputs: step.outputs)
        }
    }
}
