import CandorTensor

/// A loaded ONNX model: its compiled graph plus the declared and inferred shapes of its
/// inputs, outputs and every intermediate tensor.
public final class ONNXModel: DifferentiableModel, LinearFormModel, ParameterRandomizableModel {
    public let graph: ComputationGraph
    public let inputs: [TensorInfo]
    public let outputs: [TensorInfo]
    /// Every tensor a node computes at run time, in execution order (for layer methods).
    public let layers: [TensorInfo]
    /// The default-domain opset the model imports.
    public let opset: Int
    /// The tool that wrote the file (`pytorch`, `tf2onnx`, `skl2onnx`…), as recorded in it.
    public let producer: String
    /// The operator types the graph uses, sorted.
    public let operatorTypes: [String]
    /// The batch size the graph was exported with when its batch axis is fixed: batches are
    /// then evaluated in chunks of this size.
    public let fixedBatchSize: Int?
    public let elementsPerInstance: Int
    /// The affine map from the features to the raw scores of the graph's linear model, for
    /// a [N, features] input feeding one `LinearClassifier`/`LinearRegressor` through
    /// per-feature affine steps only; nil otherwise.
    public let linearForm: LinearForm?
    /// Elements per instance as a function of the extent n of the free axes besides the batch:
    /// constant + linear·n + quadratic·n² (nil for a model without such axes).
    let elementGrowth: (constant: Double, linear: Double, quadratic: Double)?
    /// The layers with learned parameters, from the output down (see
    /// ``ComputationGraph/parameterisedLayers()`` for what counts).
    public let parameterisedLayers: [ParameterisedLayer]
    public let attentionProbabilities: [String]

    init(
        graph: ComputationGraph, inputs: [TensorInfo], outputNames: [String], opset: Int, producer: String, elementBudget: Int
    ) throws(ModelError) {
        self.graph = graph
        self.inputs = inputs
        self.opset = opset
        self.producer = producer
        self.operatorTypes = Set(graph.steps.map(\.node.operatorType)).sorted()
        self.fixedBatchSize = inputs.first?.shape.first?.fixedValue

        // Shape inference by execution: run the graph on zero inputs with the free axes set to 1
        // and then 2; an axis whose extent follows them is free, any other is fixed. A graph
        // whose shapes do not fit fails here, naming the node.
        let trialSizes = fixedBatchSize == nil ? [1, 2] : [1]
        var trials: [[GraphValue?]] = []
        for size in trialSizes {
            trials.append(
                try graph.forward(try Self.zeros(inputs, batch: size, freeExtent: size), retainingAll: true, elementBudget: elementBudget))
        }
        let batchName: String = if case .symbolic(let name)? = inputs.first?.shape.first { name } else { "N" }
        func info(_ slot: Int) -> TensorInfo? {
            guard let first = trials[0][slot] else { return nil }
            let shapes = trials.compactMap { $0[slot]?.shape }
            let shape: [Dimension] = first.shape.indices.map { axis in
                shapes.allSatisfy { $0.count == first.shape.count && $0[axis] == first.shape[axis] }
                    ? .fixed(first.shape[axis]) : .symbolic(batchName)
            }
            return TensorInfo(name: graph.slotNames[slot], elementType: first.elementType, shape: shape)
        }
        var outputs: [TensorInfo] = []
        for (slot, name) in zip(graph.outputSlots, outputNames) {
            guard let output = info(slot) else {
                throw ModelError(.missingValue, "graph output '\(name)' was not computed")
            }
            outputs.append(output)
        }
        self.outputs = outputs
        self.layers = graph.steps.flatMap { $0.outputs.compactMap { $0 } }.compactMap(info)
        // Every tensor of a batch-1 pass is kept for the backward pass and gets a gradient.
        let rowsPerTrial = fixedBatchSize ?? 1
        let elements = { (trial: [GraphValue?]) -> Int in
            let values = trial.enumerated().reduce(0) { total, entry in
                graph.constants[entry.offset] == nil ? total + (entry.element?.shape.reduce(1, *) ?? 0) : total
            }
            return max(1, 2 * values / rowsPerTrial)
        }
        self.elementsPerInstance = elements(trials[0])
        // With free axes besides the batch (a text model's sequence), one instance's elements
        // grow with their extent: at most quadratically in a transformer (attention is n × n),
        // so three trials of one instance, at extents 1, 2 and 3, give the curve exactly. A
        // model these small extents do not fit keeps the figure at 1.
        let hasFreeAxes = inputs.contains { $0.shape.dropFirst().contains { $0.fixedValue == nil } }
        if hasFreeAxes, fixedBatchSize == nil,
            let two = try? graph.forward(Self.zeros(inputs, batch: 1, freeExtent: 2), retainingAll: true, elementBudget: elementBudget),
            let three = try? graph.forward(Self.zeros(inputs, batch: 1, freeExtent: 3), retainingAll: true, elementBudget: elementBudget)
        {
            let (e1, e2, e3) = (Double(elementsPerInstance), Double(elements(two)), Double(elements(three)))
            let quadratic = (e3 - 2 * e2 + e1) / 2
            let linear = e2 - e1 - 3 * quadratic
            elementGrowth = (constant: e1 - linear - quadratic, linear: linear, quadratic: quadratic)
        } else {
            elementGrowth = nil
        }
        if inputs.count == 1, let shape = inputs.first?.shape, shape.count == 2, let features = shape[1].fixedValue {
            linearForm = LinearForm.of(graph, features: features)
        } else {
            linearForm = nil
        }
        parameterisedLayers = graph.parameterisedLayers()
        attentionProbabilities = Self.attentionProbabilities(of: graph, layers: layers)
    }

    /// The softmaxes over the last axis of [batch, heads, n, n] tensors, in execution order.
    private static func attentionProbabilities(of graph: ComputationGraph, layers: [TensorInfo]) -> [String] {
        let shapes = Dictionary(layers.map { ($0.name, $0.shape) }, uniquingKeysWith: { first, _ in first })
        return graph.steps.compactMap { step in
            guard let softmax = step.op as? SoftmaxOperator, !softmax.isLogarithmic, !softmax.flattensTrailingAxes,
                softmax.axis == -1 || softmax.axis == 3, let slot = step.outputs.first.flatMap({ $0 })
            else { return nil }
            let name = graph.slotNames[slot]
            guard let shape = shapes[name], shape.count == 4, shape[2] == shape[3] else { return nil }
            return name
        }
    }

    /// Zeros for every input, the batch axis at `batch` and the other free axes at `freeExtent`.
    private static func zeros(_ inputs: [TensorInfo], batch: Int, freeExtent: Int) throws(ModelError) -> [GraphValue] {
        var values: [GraphValue] = []
        for input in inputs {
            let shape = input.shape.enumerated().map { axis, extent in extent.fixedValue ?? (axis == 0 ? batch : freeExtent) }
            do {
                let count = try shape.checkedElementCount()
                values.append(
                    input.elementType == .int64
                        ? .integer(try IntegerTensor(shape: shape, values: [Int64](repeating: 0, count: count)))
                        : .float(try Tensor(repeating: 0, shape: shape)))
            } catch {
                throw ModelError(.tooLarge, "input '\(input.name)': \(error)")
            }
        }
        return values
    }

    /// The model as explained with its free axes besides the batch at `extent` (a text batch's
    /// padded length): the same graph, with the elements one instance occupies at that extent,
    /// so that passes are sized for it rather than for an extent of 1.
    public func sized(forFreeExtent extent: Int) -> ONNXModel {
        guard let growth = elementGrowth, extent > 1 else { return self }
        let n = Double(extent)
        let estimate = growth.constant + growth.linear * n + growth.quadratic * n * n
        let elements =
            estimate.isFinite ? Int(Swift.min(Swift.max(estimate, Double(elementsPerInstance)), Double(1 << 50)).rounded()) : 1 << 50
        return ONNXModel(self, graph: graph, elementsPerInstance: elements)
    }

    /// `model` with another graph of the same shapes (its constants changed).
    private init(_ model: ONNXModel, graph: ComputationGraph, elementsPerInstance: Int? = nil) {
        self.graph = graph
        inputs = model.inputs
        outputs = model.outputs
        layers = model.layers
        opset = model.opset
        producer = model.producer
        operatorTypes = model.operatorTypes
        fixedBatchSize = model.fixedBatchSize
        self.elementsPerInstance = elementsPerInstance ?? model.elementsPerInstance
        elementGrowth = model.elementGrowth
        if let features = model.inputs.first?.shape.last?.fixedValue, model.linearForm != nil {
            linearForm = LinearForm.of(graph, features: features)
        } else {
            linearForm = nil
        }
        parameterisedLayers = model.parameterisedLayers
        attentionProbabilities = model.attentionProbabilities
    }

    public func randomizingParameters(ofLayers layers: Range<Int>, seed: UInt64) throws(ModelError) -> ONNXModel {
        guard layers.lowerBound >= 0, layers.upperBound <= parameterisedLayers.count else {
            throw ModelError(
                .missingValue,
                "the model has \(parameterisedLayers.count) parameterised layers, so no layers \(layers.lowerBound)..<\(layers.upperBound)")
        }
        return ONNXModel(self, graph: graph.randomizing(layers.map { ($0, parameterisedLayers[$0]) }, seed: seed))
    }

    public func predict(_ inputs: [Tensor]) throws(ModelError) -> [Tensor] {
        try inChunks(inputs) { chunk, _ throws(ModelError) in
            let values = try graph.forward(try graphValues(chunk), retainingAll: false)
            return try graph.outputSlots.map { slot throws(ModelError) in try Self.floatOutput(values[slot], name: graph.slotNames[slot]) }
        }
    }

    /// The output of the last `Conv` node in execution order: Grad-CAM's default layer.
    public var lastConvolutionOutput: String? {
        graph.steps.last { $0.node.operatorType == "Conv" }?.outputs.first?.map { graph.slotNames[$0] }
    }

    /// The `Gather` that looks graph input `input` up, row by row, in a constant table: a text
    /// model's word embeddings (the layer Captum's text tutorials attribute to,
    /// `model.embeddings`). Nil when the input feeds no such lookup.
    public func embeddingLookup(of input: String) -> EmbeddingLookup? {
        guard let inputSlot = graph.slotIndex[input] else { return nil }
        for step in graph.steps {
            guard let gather = step.op as? GatherOperator, gather.axis == 0, step.inputs.count > 1, step.inputs[1] == inputSlot,
                let tableSlot = step.inputs[0], case .float(let table)? = graph.constants[tableSlot], table.rank == 2,
                let output = step.outputs.first.flatMap({ $0 })
            else { continue }
            return EmbeddingLookup(layer: graph.slotNames[output], table: table)
        }
        return nil
    }

    /// The model's outputs with the values of intermediate tensors replaced (`overrides`, by
    /// layer name), forward only.
    public func predict(_ inputs: [Tensor], replacing overrides: [String: Tensor]) throws(ModelError) -> [Tensor] {
        var replaced: [Int: GraphValue] = [:]
        for (name, value) in overrides { replaced[try layerSlot(name)] = .float(value) }
        if !replaced.isEmpty, let size = fixedBatchSize, size != inputs.first?.shape.first {
            throw ModelError(
                .unsupportedFeature, "replacing layer values needs a model with a free batch axis; this one is fixed at \(size)")
        }
        let values = try graph.forward(try graphValues(inputs), retainingAll: false, overrides: replaced)
        return try graph.outputSlots.map { slot throws(ModelError) in try Self.floatOutput(values[slot], name: graph.slotNames[slot]) }
    }

    public func lrpRefusals(feeding output: Int) -> [LRPRefusal] { graph.lrpRefusals(feeding: output) }

    public func gradient(
        _ inputs: [Tensor], output: Int, pass: BackwardPass, seed: (Tensor, Range<Int>) throws(ModelError) -> Tensor
    ) throws(ModelError) -> GradientResult {
        guard graph.outputSlots.indices.contains(output) else {
            throw ModelError(.missingValue, "the model has no output number \(output)")
        }
        let layerSlots = try pass.layers.map { name throws(ModelError) in try layerSlot(name) }
        let seedSlot = try pass.seedLayer.map { name throws(ModelError) in try layerSlot(name) }
        var overrides: [Int: GraphValue] = [:]
        for (name, value) in pass.overrides { overrides[try layerSlot(name)] = .float(value) }
        let batch = inputs.first?.shape.first ?? 0
        if !overrides.isEmpty, let size = fixedBatchSize, size != batch {
            throw ModelError(
                .unsupportedFeature, "replacing layer values needs a model with a free batch axis; this one is fixed at \(size)")
        }
        let outputCount = graph.outputSlots.count
        let combined = try inChunks(inputs) { chunk, rows throws(ModelError) in
            let values = try graph.forward(try graphValues(chunk), retainingAll: true, overrides: overrides)
            let outputs = try graph.outputSlots.map { slot throws(ModelError) in
                try Self.floatOutput(values[slot], name: graph.slotNames[slot])
            }
            let outputSlot = try seedSlot ?? graph.outputSlots[output]
            // A padded chunk's extra rows get no gradient: the seed covers the real rows only.
            let value = try Self.floatOutput(values[outputSlot], name: graph.slotNames[outputSlot])
            var seedGradient = try seed(value.rank > 0 && value.shape[0] > rows.count ? value.rows(0..<rows.count) : value, rows)
            if seedGradient.rank > 0, seedGradient.shape[0] < value.shape.first ?? 0 {
                do {
                    seedGradient = try Tensor.concatenatingRows([seedGradient, Tensor(zerosLike: value.rows(rows.count..<value.shape[0]))])
                } catch {
                    throw ModelError(.inconsistentShapes, "\(error)")
                }
            }
            guard seedGradient.shape == value.shape else {
                throw ModelError(
                    .inconsistentShapes,
                    "the gradient seed has shape \(seedGradient.shape) but '\(graph.slotNames[outputSlot])' has \(value.shape)"
                )
            }
            let layerValues = try layerSlots.map { slot throws(ModelError) in
                try Self.floatOutput(values[slot], name: graph.slotNames[slot])
            }
            let gradients = try graph.backward(
                values: values, seeds: [(outputSlot, seedGradient)],
                targets: (pass.needsInputGradients ? graph.inputSlots : []) + layerSlots,
                rule: pass.rule, cut: Set(overrides.keys))
            return outputs + layerValues + gradients
        }
        let layerCount = layerSlots.count
        let inputCount = pass.needsInputGradients ? graph.inputSlots.count : 0
        return GradientResult(
            outputs: Array(combined.prefix(outputCount)),
            inputGradients: Array(combined[(outputCount + layerCount)..<(outputCount + layerCount + inputCount)]),
            layerValues: Array(combined[outputCount..<(outputCount + layerCount)]),
            layerGradients: Array(combined.suffix(layerCount)))
    }

    /// The graph's values for a batch of inputs. Every input arrives as float32, so that
    /// explainers perturb all inputs alike; an int64 input (token ids, an attention mask) is
    /// converted here, and a value that is not a whole number — an interpolation between two
    /// token ids, say — is refused rather than rounded to some other token.
    private func graphValues(_ batch: [Tensor]) throws(ModelError) -> [GraphValue] {
        var values: [GraphValue] = []
        for (info, tensor) in zip(inputs, batch) {
            guard info.elementType == .int64 else {
                values.append(.float(tensor))
                continue
            }
            var integers = [Int64](repeating: 0, count: tensor.count)
            for (index, value) in tensor.scalars.enumerated() {
                guard value == value.rounded(), abs(value) <= 0x1p53 else {
                    throw ModelError(
                        .invalidInput, "input '\(info.name)' takes whole numbers (it is int64), but holds \(value)")
                }
                integers[index] = Int64(value)
            }
            do { values.append(.integer(try IntegerTensor(shape: tensor.shape, values: integers))) } catch {
                throw ModelError(.inconsistentShapes, "input '\(info.name)': \(error)")
            }
        }
        return values
    }

    /// The slot of an intermediate tensor (or graph input) a pass names.
    private func layerSlot(_ name: String) throws(ModelError) -> Int {
        guard let slot = graph.slotIndex[name], graph.constants[slot] == nil else {
            throw ModelError(.missingValue, "the model has no intermediate tensor named '\(name)'")
        }
        return slot
    }

    private static func floatOutput(_ value: GraphValue?, name: String) throws(ModelError) -> Tensor {
        switch value {
        case .float(let tensor)?: return tensor
        case .integer(let tensor)?:
            do { return try Tensor(shape: tensor.shape, scalars: tensor.values.map { Float($0) }) } catch {
                throw ModelError(.tooLarge, "output '\(name)': \(error)")
            }
        case nil: throw ModelError(.missingValue, "output '\(name)' was not computed")
        }
    }

    /// Evaluates `body` on the whole batch, or — for a graph exported with a fixed batch size —
    /// on chunks of that size (the last one padded by repeating its final row), joining the
    /// per-chunk results along the batch axis.
    private func inChunks(
        _ inputs: [Tensor], _ body: ([Tensor], Range<Int>) throws(ModelError) -> [Tensor]
    ) throws(ModelError) -> [Tensor] {
        let batch = inputs.first?.shape.first ?? 0
        guard let size = fixedBatchSize, size != batch, batch > 0 else { return try body(inputs, 0..<batch) }
        var parts: [[Tensor]] = []
        for start in stride(from: 0, to: batch, by: size) {
            let rows = start..<min(start + size, batch)
            let chunk = try inputs.map { input throws(ModelError) -> Tensor in
                var part = input.rows(rows)
                while part.shape[0] < size {
                    do { part = try Tensor.concatenatingRows([part, input.rows((rows.upperBound - 1)..<rows.upperBound)]) } catch {
                        throw ModelError(.inconsistentShapes, "\(error)")
                    }
                }
                return part
            }
            parts.append(try body(chunk, rows).map { $0.rank > 0 && $0.shape[0] == size ? $0.rows(0..<rows.count) : $0 })
        }
        return try parts[0].indices.map { index throws(ModelError) in
            do { return try Tensor.concatenatingRows(parts.map { $0[index] }) } catch {
                throw ModelError(.inconsistentShapes, "\(error)")
            }
        }
    }
}
