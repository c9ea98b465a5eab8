import CandorTensor

/// A layer with learned parameters, as the model-parameter randomization test (Adebayo et al.,
/// "Sanity Checks for Saliency Maps", NeurIPS 2018) re-draws them.
public struct ParameterisedLayer: Sendable, Equatable {
    /// The node's name in the graph (`#index` when the file gives none).
    public let name: String
    public let operatorType: String
    /// The constant tensors that are its parameters, by name: weights first, then the bias.
    public let parameters: [String]
    /// How many numbers they hold together.
    public let parameterCount: Int
    /// The graph slots of `parameters`.
    let slots: [Int]
}

extension ComputationGraph {
    /// Which inputs of each parameterised operator are its learned parameters (when they are
    /// constants), and which of those must be constant for the node to count as a layer at all.
    /// Running statistics (`BatchNormalization`'s mean and variance) are not learned, so they
    /// stay; `Gemm`'s and `MatMul`'s weight may be either operand.
    private static let parameterInputs: [String: (parameters: [Int], weights: [Int])] = [
        "Conv": ([1, 2], [1]),
        "ConvTranspose": ([1, 2], [1]),
        "Gemm": ([0, 1, 2], [0, 1]),
        "MatMul": ([0, 1], [0, 1]),
        "BatchNormalization": ([1, 2], [1]),
        "InstanceNormalization": ([1, 2], [1]),
        "LayerNormalization": ([1, 2], [1]),
        "GroupNormalization": ([1, 2], [1]),
    ]

    /// The layers with learned parameters, from the output down (reverse execution order):
    /// every `Conv`, `ConvTranspose`, `Gemm` and `MatMul` with a constant weight operand, with
    /// its constant bias — for `MatMul`, the constant operand of an `Add` that alone reads its
    /// result, as PyTorch exports `nn.Linear` on inputs of rank above 2 — and every
    /// `BatchNormalization`, `InstanceNormalization`, `LayerNormalization` and
    /// `GroupNormalization` with a constant scale, with its constant shift. A constant two
    /// layers read belongs to the one nearer the output; a layer left with none is no layer.
    func parameterisedLayers() -> [ParameterisedLayer] {
        var readers = [Int](repeating: 0, count: slotNames.count)
        for step in steps { for case let slot? in step.inputs { readers[slot] += 1 } }
        for slot in outputSlots { readers[slot] += 1 }
        var claimed = Set<Int>()
        var layers: [ParameterisedLayer] = []
        for (index, step) in steps.enumerated().reversed() {
            guard let positions = Self.parameterInputs[step.node.operatorType] else { continue }
            let constant = { (position: Int) -> Int? in
                guard position < step.inputs.count, let slot = step.inputs[position],
                    let tensor = self.constants[slot]?.floatTensor, tensor.count > 0
                else { return nil }
                return slot
            }
            guard positions.weights.contains(where: { constant($0) != nil }) else { continue }
            var slots = positions.parameters.compactMap(constant)
            if step.node.operatorType == "MatMul", let bias = biasOfMatMul(at: index, readers: readers) { slots.append(bias) }
            slots = slots.filter { claimed.insert($0).inserted }
            guard !slots.isEmpty else { continue }
            layers.append(
                ParameterisedLayer(
                    name: step.node.name, operatorType: step.node.operatorType, parameters: slots.map { slotNames[$0] },
                    parameterCount: slots.reduce(0) { $0 + (constants[$1]?.floatTensor?.count ?? 0) }, slots: slots))
        }
        return layers
    }

    /// The constant operand of the `Add` that is the only reader of `MatMul` step `index`'s result.
    private func biasOfMatMul(at index: Int, readers: [Int]) -> Int? {
        guard let product = steps[index].outputs.first ?? nil, readers[product] == 1,
            let add = steps[(index + 1)...].first(where: { $0.inputs.contains(product) }), add.node.operatorType == "Add",
            add.inputs.count == 2, let other = add.inputs.first(where: { $0 != product }) ?? nil,
            constants[other]?.floatTensor != nil
        else { return nil }
        return other
    }

    /// A graph like this one whose `layers` have every parameter re-drawn i.i.d. from N(0, σ²),
    /// σ the standard deviation of that tensor's own values (population, over all its elements;
    /// their root mean square when all are equal, so a constant scale of ones is re-drawn from
    /// N(0, 1) and an all-zero bias stays zero). The layer at position i of the model's list
    /// draws from stream i of `seed`, weights before bias, so randomizing layers one at a time
    /// gives the same graph as randomizing them together.
    func randomizing(_ layers: [(index: Int, layer: ParameterisedLayer)], seed: UInt64) -> ComputationGraph {
        var randomized = constants
        for (index, layer) in layers {
            var random = SeededRandom(seed: seed, stream: index)
            for slot in layer.slots {
                guard var tensor = constants[slot]?.floatTensor else { continue }
                let n = Double(tensor.count)
                let mean = tensor.scalars.reduce(0.0) { $0 + Double($1) } / n
                let variance = tensor.scalars.reduce(0.0) { $0 + (Double($1) - mean) * (Double($1) - mean) } / n
                let meanSquare = variance + mean * mean
                let sigma = (variance > 1e-12 * meanSquare ? variance : meanSquare).squareRoot()
                for position in tensor.scalars.indices { tensor.scalars[position] = Float(sigma * random.standardNormal()) }
                randomized[slot] = .float(tensor)
            }
        }
        return ComputationGraph(
            slotNames: slotNames, constants: randomized, steps: steps, inputSlots: inputSlots, outputSlots: outputSlots)
    }
}
