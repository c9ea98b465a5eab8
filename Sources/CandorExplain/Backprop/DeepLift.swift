import CandorModel
import CandorTensor

/// DeepLIFT with the rescale rule: (x − x′) ⊙ the multipliers back-propagated under
/// `DeepLiftRule`, which replaces each nonlinearity's derivative by Δout/Δin against the
/// baseline's forward pass. Shrikumar, Greenside & Kundaje, ICML 2017; Captum `DeepLift`
/// (rescale, `multiply_by_inputs`). Like Captum, the inputs and their baselines run as one
/// batch, inputs first, so each nonlinearity sees both; `convergence_delta` is
/// Σ attributions − (f(x) − f(x′)), zero up to rounding when every nonlinearity is one the
/// rule knows.
public struct DeepLift: Explainer {
    public let descriptor = MethodDescriptor(
        name: "deeplift", family: "gradient",
        summary: "DeepLIFT (rescale rule): (x − x′) ⊙ multipliers Δout/Δin back-propagated from the target; returns convergence_delta",
        reference: "Captum DeepLift", requirement: .differentiable,
        checkedAgainst:
            "Captum 0.9 `DeepLift` on the batch-norm and hand-built CNNs; summation-to-delta (< 10⁻⁴) where Candor departs from Captum (MaxPool after an activation, SiLU); w ⊙ (x − x′) on a linear model",
        details: """
            DeepLIFT's rescale rule (Shrikumar et al., 2017): (x − x′) ⊙ multipliers back-propagated
            from the target, each ReLU, ELU, LeakyReLU, Sigmoid, Tanh and Softplus passing back
            Δout/Δin against the baseline's pass (its derivative where |Δin| < 10⁻¹⁰), Captum's MaxPool
            and Softmax rules, and the gradient elsewhere; `convergence_delta` as for integrated
            gradients. LayerNormalization and Gelu keep their gradient, as in Captum, which hooks
            neither (checked against input × gradient on the exporter zoo's LayerNorm MLP).

            Where Candor deliberately departs from Captum, its values are held to summation-to-delta
            instead of Captum's numbers. MaxPool after an activation: where an activation feeds a
            MaxPool directly, Captum 0.9 loses its pool rule (the activation's hook reads the gradient
            before the pool's hook rewrites it; Captum issue #1104, fixed after 0.9) and misses
            completeness by up to 0.13 on the LeNet and residual CNNs; Candor keeps the rule.
            Overlapping pool windows: where windows that share a maximum overlap, Candor sums the routed
            differences, which keeps completeness; Captum's unpooling overwrites them. SiLU, which
            exporters write as `Mul(x, Sigmoid(x))`: Candor rescales the pair as one nonlinearity, as
            the rule applies to any element-wise nonlinearity, and holds summation-to-delta on the
            exporter zoo's residual CNNs and the Keras CNN (< 10⁻⁴ of the outputs' scale); Captum hooks
            no `nn.SiLU`, leaves it on its gradient and misses completeness by up to 2 there.
            """,
        parameters: [ParameterSpec.baselines("the reference input x′: a number, one instance, or one per instance")])

    public init() {}

    public func prepare(_ parameters: [String: JSONValue], for problem: ExplanationProblem) throws(ExplanationError) -> any ExplanationPlan
    {
        var reader = try ParameterReader(parameters, specs: descriptor.parameters, method: descriptor.name)
        let baselines = try Baselines.resolve(reader.json("baselines"), for: problem)
        let model = try DeepLiftPairs.model(problem.model, method: descriptor.name)
        return Plan(model: model, baselines: baselines, effectiveParameters: reader.effective)
    }

    struct Plan: ExplanationPlan {
        let model: any DifferentiableModel
        let baselines: [Tensor]
        let effectiveParameters: [String: JSONValue]

        func run(_ problem: ResolvedProblem, context: ExplanationContext) throws(ExplanationError) -> [InstanceAttribution] {
            let pairs = try DeepLiftPairs.run(
                model: model, inputs: problem.problem.inputs, baselines: baselines, output: problem.problem.output,
                targets: problem.targets, context: context)
            return (0..<problem.problem.batchSize).map { row in
                InstanceAttribution(
                    attributions: pairs.attributions.map { $0[row] }, extras: ["convergence_delta": .number(pairs.deltas[row])])
            }
        }
    }
}

/// Runs DeepLIFT on (instance, baseline) pairs: each chunk of pairs as one batch, instances
/// first, baselines second, under `DeepLiftRule`.
enum DeepLiftPairs {
    /// The model as DeepLIFT needs it: differentiable, with a free batch axis (the rule pairs
    /// the halves of one batch, which a fixed batch size would split).
    static func model(_ model: any PredictiveModel, method: String) throws(ExplanationError) -> any DifferentiableModel {
        guard let differentiable = model as? any DifferentiableModel else {
            throw ExplanationError(.methodNotApplicable, "\(method) needs gradients, which this model does not provide")
        }
        if let size = differentiable.fixedBatchSize {
            throw ExplanationError(
                .methodNotApplicable,
                "\(method) runs inputs and baselines as one batch; this model was exported with a fixed batch of \(size)")
        }
        return differentiable
    }

    /// Per input, one attribution per pair; and per pair Σ attributions − (f(x) − f(x′)).
    static func run(
        model: any DifferentiableModel, inputs: [Tensor], baselines: [Tensor], output: Int, targets: [Int], context: ExplanationContext
    ) throws(ExplanationError) -> (attributions: [[Tensor]], deltas: [Double]) {
        let rows = inputs.first?.shape.first ?? 0
        guard context.rowsPerPass(for: model) >= 2 else {
            throw ExplanationError(.tooLarge, "one instance and its baseline do not fit the memory budget together")
        }
        let chunk = context.sharedChunk(max(1, min(rows, context.unitsPerPass(for: model, rowsPerUnit: 2))), of: rows)
        var attributions = inputs.map { _ in [Tensor]() }
        var deltas: [Double] = []
        try SharedChunks.run(count: (rows + chunk - 1) / chunk, context: context) { index throws(ExplanationError) in
            try pairs(
                (index * chunk)..<min((index + 1) * chunk, rows), model: model, inputs: inputs, baselines: baselines,
                output: output, targets: targets, context: context)
        } collect: { part, _ in
            for index in attributions.indices { attributions[index] += part.attributions[index] }
            deltas += part.deltas
        }
        return (attributions, deltas)
    }

    /// The instances in `range` and their baselines in one pass, stacked so that the rule
    /// pairs row i with row i + count: per input one attribution per instance, and the deltas.
    private static func pairs(
        _ range: Range<Int>, model: any DifferentiableModel, inputs: [Tensor], baselines: [Tensor], output: Int, targets: [Int],
        context: ExplanationContext
    ) throws(ExplanationError) -> (attributions: [[Tensor]], deltas: [Double]) {
        let combined: [Tensor]
        do {
            combined = try zip(inputs, baselines).map { input, baseline throws(TensorError) in
                try Tensor.concatenatingRows([input.rows(range), baseline.rows(range)])
            }
        } catch {
            throw ExplanationError(.invalidInput, "\(error)")
        }
        let chunkTargets = Array(targets[range])
        let result = try TargetGradients.compute(
            model: model, inputs: combined, output: output, targets: chunkTargets + chunkTargets,
            pass: BackwardPass(rule: DeepLiftRule()), context: context, rowsPerChunk: 2 * range.count, pairsRows: true)
        let values = result.outputs[output]
        let perRow = values.count / max(values.shape.first ?? 1, 1)
        var sums = [Double](repeating: 0, count: range.count)
        var attributions: [[Tensor]] = []
        for (index, input) in inputs.enumerated() {
            let gradient = result.inputGradients[index].rows(0..<range.count)
            let attribution: Tensor
            do {
                attribution = try input.rows(range).zipMap(baselines[index].rows(range)) { $0 - $1 }.zipMap(gradient) { $0 * $1 }
            } catch {
                throw ExplanationError(.modelFailure, "the DeepLIFT multipliers do not match the input's shape: \(error)")
            }
            let perInstance = attribution.unstacked()
            attributions.append(perInstance)
            for (row, tensor) in perInstance.enumerated() { sums[row] += tensor.scalars.reduce(0.0) { $0 + Double($1) } }
        }
        let deltas = chunkTargets.enumerated().map { row, target in
            sums[row] - (Double(values.scalars[row * perRow + target]) - Double(values.scalars[(range.count + row) * perRow + target]))
        }
        return (attributions, deltas)
    }
}
