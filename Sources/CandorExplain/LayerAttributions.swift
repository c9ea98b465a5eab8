import CandorModel
import CandorTensor

/// Layer gradient × activation: A ⊙ ∂f/∂A at an intermediate tensor A, shaped like the layer.
/// Captum `LayerGradientXActivation`.
public struct LayerGradientXActivation: Explainer {
    public let descriptor = MethodDescriptor(
        name: "layer_gradient_x_activation", family: "layer",
        summary: "A ⊙ ∂f/∂A at an intermediate tensor A (attributions shaped like the layer)",
        reference: "Captum LayerGradientXActivation", requirement: .differentiable,
        parameters: [LayerSelection.parameter("the intermediate tensor A (required)")])

    public init() {}

    public func prepare(_ parameters: [String: JSONValue], for problem: ExplanationProblem) throws(ExplanationError) -> any ExplanationPlan
    {
        var reader = try ParameterReader(parameters, specs: descriptor.parameters, method: descriptor.name)
        let model = try differentiable(problem.model)
        let layer = try LayerSelection.resolve(&reader, model: model, fallback: nil, method: descriptor.name, batchSize: problem.batchSize)
        return Plan(model: model, layer: layer, effectiveParameters: reader.effective)
    }

    struct Plan: ExplanationPlan {
        let model: any DifferentiableModel
        let layer: String
        let effectiveParameters: [String: JSONValue]

        func run(_ problem: ResolvedProblem, context: ExplanationContext) throws(ExplanationError) -> [InstanceAttribution] {
            let result = try TargetGradients.compute(
                model: model, inputs: problem.problem.inputs, output: problem.problem.output, targets: problem.targets,
                pass: BackwardPass(layers: [layer], needsInputGradients: false), context: context)
            do {
                return try result.layerValues[0].zipMap(result.layerGradients[0]) { $0 * $1 }.unstacked().map {
                    InstanceAttribution(attributions: [$0])
                }
            } catch {
                throw ExplanationError(.modelFailure, "\(error)")
            }
        }
    }
}

/// Neuron gradient: ∂A[neuron]/∂x, the gradient of one element of an intermediate tensor
/// (indexed without the batch axis) with respect to the input. Captum `NeuronGradient`; the
/// target does not apply.
public struct NeuronGradient: Explainer {
    public let descriptor = MethodDescriptor(
        name: "neuron_gradient", family: "layer",
        summary: "∂A[neuron]/∂x: the gradient of one element of an intermediate tensor with respect to the input",
        reference: "Captum NeuronGradient", requirement: .differentiable,
        parameters: [
            LayerSelection.parameter("the intermediate tensor A (required)"),
            ParameterSpec(
                "neuron_selector", .integers, minimum: 0,
                summary: "the element of A, one index per axis after the batch axis (required)"),
        ])

    public init() {}

    public func prepare(_ parameters: [String: JSONValue], for problem: ExplanationProblem) throws(ExplanationError) -> any ExplanationPlan
    {
        var reader = try ParameterReader(parameters, specs: descriptor.parameters, method: descriptor.name)
        let model = try differentiable(problem.model)
        let layer = try LayerSelection.resolve(&reader, model: model, fallback: nil, method: descriptor.name, batchSize: problem.batchSize)
        guard let info = (model as? ONNXModel)?.layers.first(where: { $0.name == layer }) else {
            throw ExplanationError(.invalidParameter, "neuron_gradient needs a layer of an ONNX graph")
        }
        let extents = info.shape.dropFirst().map { $0.fixedValue ?? 0 }
        guard let selector = try reader.integers("neuron_selector", count: extents.count) else {
            throw ExplanationError(
                .invalidParameter,
                "neuron_gradient needs 'neuron_selector': one index per axis of '\(layer)' after the batch axis \(extents)")
        }
        guard zip(selector, extents).allSatisfy({ $0 < $1 }) else {
            throw ExplanationError(.invalidParameter, "neuron_selector \(selector) is outside the layer's per-instance shape \(extents)")
        }
        let flat = zip(selector, extents).reduce(0) { $0 * $1.1 + $1.0 }
        return Plan(model: model, layer: layer, neuron: flat, effectiveParameters: reader.effective)
    }

    struct Plan: ExplanationPlan {
        let model: any DifferentiableModel
        let layer: String
        let neuron: Int
        let effectiveParameters: [String: JSONValue]

        func run(_ problem: ResolvedProblem, context: ExplanationContext) throws(ExplanationError) -> [InstanceAttribution] {
            let result = try TargetGradients.compute(
                model: model, inputs: problem.problem.inputs, output: problem.problem.output,
                targets: Array(repeating: neuron, count: problem.problem.batchSize), pass: BackwardPass(seedLayer: layer), context: context)
            let perInput = result.inputGradients.map { $0.unstacked() }
            return (0..<problem.problem.batchSize).map { row in InstanceAttribution(attributions: perInput.map { $0[row] }) }
        }
    }
}

/// Layer integrated gradients: integrated gradients over an intermediate tensor's values,
/// (A(x) − A(x′)) ⊙ ∫₀¹ ∂f/∂A at A(x′) + α(A(x) − A(x′)) dα, the interpolated values replacing
/// the layer's in a pass on the real input (so paths around the layer see x). Captum
/// `LayerIntegratedGradients`; `convergence_delta` = Σ attributions − (f(x) − f(x′)).
public struct LayerIntegratedGradients: Explainer {
    public let descriptor = MethodDescriptor(
        name: "layer_integrated_gradients", family: "layer",
        summary:
            "integrated gradients at an intermediate tensor, interpolating its values (attributions shaped like the layer); returns convergence_delta",
        reference: "Captum LayerIntegratedGradients", requirement: .differentiable,
        parameters: [LayerSelection.parameter("the intermediate tensor A (required)")] + LayerPath.parameters)

    public init() {}

    public func prepare(_ parameters: [String: JSONValue], for problem: ExplanationProblem) throws(ExplanationError) -> any ExplanationPlan
    {
        var reader = try ParameterReader(parameters, specs: descriptor.parameters, method: descriptor.name)
        let model = try differentiable(problem.model)
        let layer = try LayerSelection.resolve(&reader, model: model, fallback: nil, method: descriptor.name, batchSize: problem.batchSize)
        let path = try LayerPath(&reader, problem: problem, method: descriptor.name)
        return Plan(model: model, layer: layer, path: path, effectiveParameters: reader.effective)
    }

    struct Plan: ExplanationPlan {
        let model: any DifferentiableModel
        let layer: String
        let path: LayerPath
        let effectiveParameters: [String: JSONValue]

        func run(_ problem: ResolvedProblem, context: ExplanationContext) throws(ExplanationError) -> [InstanceAttribution] {
            let inputs = problem.problem.inputs
            let output = problem.problem.output
            let batch = problem.problem.batchSize
            let atInput = try TargetGradients.compute(
                model: model, inputs: inputs, output: output, targets: problem.targets,
                pass: BackwardPass(layers: [layer], needsInputGradients: false),
                context: context)
            let atBaseline = try TargetGradients.compute(
                model: model, inputs: path.baselines, output: output, targets: problem.targets,
                pass: BackwardPass(layers: [layer], needsInputGradients: false),
                context: context)
            let (high, low) = (atInput.layerValues[0], atBaseline.layerValues[0])
            let (alphas, weights) = path.scheme.pointsAndWeights(steps: path.steps)
            var total = [Float](repeating: 0, count: high.count)
            for steps in path.slices(batch: batch, model: model, context: context) {
                var values: [Float] = []
                values.reserveCapacity(high.count * steps.count)
                for step in steps {
                    let alpha = Float(alphas[step])
                    values += zip(low.scalars, high.scalars).map { $0 + alpha * ($1 - $0) }
                }
                let repeated: [Tensor]
                let replaced: Tensor
                do {
                    repeated = try inputs.map { input throws(TensorError) in try Tensor.concatenatingRows(steps.map { _ in input }) }
                    replaced = try Tensor(shape: [batch * steps.count] + high.shape.dropFirst(), scalars: values)
                } catch {
                    throw ExplanationError(.invalidInput, "the layer path is too large: \(error)")
                }
                let result = try TargetGradients.compute(
                    model: model, inputs: repeated, output: output, targets: Array(steps.map { _ in problem.targets }.joined()),
                    pass: BackwardPass(layers: [layer], overrides: [layer: replaced], needsInputGradients: false), context: context,
                    rowsPerChunk: batch * steps.count)
                let gradient = result.layerGradients[0]
                for (position, step) in steps.enumerated() {
                    let weight = Float(weights[step])
                    for index in 0..<high.count { total[index] += weight * gradient.scalars[position * high.count + index] }
                }
            }
            for index in total.indices { total[index] *= high.scalars[index] - low.scalars[index] }
            let attributions: [Tensor]
            do { attributions = try Tensor(shape: high.shape, scalars: total).unstacked() } catch {
                throw ExplanationError(.modelFailure, "\(error)")
            }
            return try path.withDeltas(attributions, problem: problem, baselineOutputs: atBaseline.outputs[output])
        }
    }
}

/// Layer conductance: the flow of the attribution through an intermediate tensor along the
/// input path x′ + α(x − x′), Σₖ (A(xₖ₊₁) − A(xₖ)) ⊙ ∂f/∂A(xₖ) over n + 1 points of the
/// integration scheme (their weights unused), as Captum computes it. Dhamdhere et al., "How
/// Important Is a Neuron?", 2018; Captum `LayerConductance`. `convergence_delta` =
/// Σ attributions − (f(x) − f(x′)), not zero even for a linear model, since the scheme's
/// points stop short of 0 and 1.
public struct LayerConductance: Explainer {
    public let descriptor = MethodDescriptor(
        name: "layer_conductance", family: "layer",
        summary:
            "conductance of an intermediate tensor along the input path (attributions shaped like the layer); returns convergence_delta",
        reference: "Captum LayerConductance", requirement: .differentiable,
        parameters: [LayerSelection.parameter("the intermediate tensor A (required)")] + LayerPath.parameters)

    public init() {}

    public func prepare(_ parameters: [String: JSONValue], for problem: ExplanationProblem) throws(ExplanationError) -> any ExplanationPlan
    {
        var reader = try ParameterReader(parameters, specs: descriptor.parameters, method: descriptor.name)
        let model = try differentiable(problem.model)
        let layer = try LayerSelection.resolve(&reader, model: model, fallback: nil, method: descriptor.name, batchSize: problem.batchSize)
        let path = try LayerPath(&reader, problem: problem, method: descriptor.name)
        return Plan(model: model, layer: layer, path: path, effectiveParameters: reader.effective)
    }

    struct Plan: ExplanationPlan {
        let model: any DifferentiableModel
        let layer: String
        let path: LayerPath
        let effectiveParameters: [String: JSONValue]

        func run(_ problem: ResolvedProblem, context: ExplanationContext) throws(ExplanationError) -> [InstanceAttribution] {
            let inputs = problem.problem.inputs
            let batch = problem.problem.batchSize
            let alphas = path.scheme.pointsAndWeights(steps: path.steps + 1).alphas
            var total: [Float] = []
            var layerShape: [Int] = []
            var previous: (value: [Float], gradient: [Float])?
            for steps in path.slices(batch: batch, model: model, context: context, points: path.steps + 1) {
                var scaled: [Tensor] = []
                for (input, baseline) in zip(inputs, path.baselines) {
                    var scalars: [Float] = []
                    scalars.reserveCapacity(input.count * steps.count)
                    for step in steps {
                        let alpha = Float(alphas[step])
                        scalars += zip(baseline.scalars, input.scalars).map { $0 + alpha * ($1 - $0) }
                    }
                    do { scaled.append(try Tensor(shape: [batch * steps.count] + input.shape.dropFirst(), scalars: scalars)) } catch {
                        throw ExplanationError(.invalidInput, "the path is too large: \(error)")
                    }
                }
                let result = try TargetGradients.compute(
                    model: model, inputs: scaled, output: problem.problem.output,
                    targets: Array(steps.map { _ in problem.targets }.joined()),
                    pass: BackwardPass(layers: [layer], needsInputGradients: false), context: context, rowsPerChunk: batch * steps.count)
                guard result.layerValues[0].shape.first == batch * steps.count,
                    result.layerGradients[0].shape == result.layerValues[0].shape
                else {
                    throw ExplanationError(.modelFailure, "layer '\(layer)' does not have one row per path point and instance")
                }
                let size = result.layerValues[0].count / steps.count
                if total.isEmpty {
                    total = [Float](repeating: 0, count: size)
                    layerShape = Array(result.layerValues[0].shape.dropFirst())
                }
                for position in 0..<steps.count {
                    let range = (position * size)..<((position + 1) * size)
                    let value = Array(result.layerValues[0].scalars[range])
                    let gradient = Array(result.layerGradients[0].scalars[range])
                    if let previous {
                        for index in 0..<size { total[index] += (value[index] - previous.value[index]) * previous.gradient[index] }
                    }
                    previous = (value, gradient)
                }
            }
            let attributions: [Tensor]
            do { attributions = try Tensor(shape: [batch] + layerShape, scalars: total).unstacked() } catch {
                throw ExplanationError(.modelFailure, "\(error)")
            }
            let baselineOutputs: Tensor
            do { baselineOutputs = try model.predict(path.baselines)[problem.problem.output] } catch { throw ExplanationError(error) }
            return try path.withDeltas(attributions, problem: problem, baselineOutputs: baselineOutputs)
        }
    }
}

/// The input path and quadrature of `layer_integrated_gradients` and `layer_conductance`:
/// `baselines`, `n_steps` and `integration`, as for integrated gradients.
struct LayerPath: Sendable {
    static let parameters: [ParameterSpec] = [
        ParameterSpec.baselines("the reference input x′: a number, one instance, or one per instance"),
        ParameterSpec("n_steps", .integer, default: 50, minimum: 1, maximum: 10_000, summary: "number of points on the path"),
        ParameterSpec(
            "integration", .choice(IntegrationScheme.allCases.map(\.rawValue)), default: "gausslegendre",
            summary: "quadrature rule for the path (Captum's `method`)"),
    ]

    let baselines: [Tensor]
    let steps: Int
    let scheme: IntegrationScheme

    init(_ reader: inout ParameterReader, problem: ExplanationProblem, method: String) throws(ExplanationError) {
        baselines = try Baselines.resolve(reader.json("baselines"), for: problem)
        steps = try reader.int("n_steps")
        guard let scheme = IntegrationScheme(rawValue: try reader.choice("integration")) else {
            throw ExplanationError(.invalidParameter, "unknown integration scheme")
        }
        if scheme == .riemannTrapezoid && steps < 2 {
            throw ExplanationError(.invalidParameter, "parameter 'n_steps' of \(method) must be at least 2 for riemann_trapezoid")
        }
        self.scheme = scheme
    }

    /// The path's points (`points`, default `steps`) in consecutive groups, each small enough
    /// for one pass of `batch` instances per point within the memory budget.
    func slices(batch: Int, model: any DifferentiableModel, context: ExplanationContext, points: Int? = nil) -> [[Int]] {
        let rowBudget = Swift.max(1, context.maxBatchElements / Swift.max(model.elementsPerInstance, 1))
        let perPass = Swift.max(1, rowBudget / Swift.max(batch, 1))
        return stride(from: 0, to: points ?? steps, by: perPass).map { Array($0..<Swift.min($0 + perPass, points ?? steps)) }
    }

    /// The explanations with `convergence_delta` = Σ attributions − (f(x) − f(x′)).
    func withDeltas(_ attributions: [Tensor], problem: ResolvedProblem, baselineOutputs: Tensor) throws(ExplanationError)
        -> [InstanceAttribution]
    {
        let perRow = problem.outputsPerInstance
        return attributions.enumerated().map { row, attribution in
            let target = problem.targets[row]
            let sum = attribution.scalars.reduce(0.0) { $0 + Double($1) }
            let difference = Double(problem.targetOutput(row)) - Double(baselineOutputs.scalars[row * perRow + target])
            return InstanceAttribution(attributions: [attribution], extras: ["convergence_delta": .number(sum - difference)])
        }
    }
}
