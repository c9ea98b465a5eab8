import CandorModel
import CandorTensor

/// Integrated gradients: (x − x′) ⊙ ∫₀¹ ∂f(x′ + α(x − x′))/∂x dα, approximated by a quadrature
/// rule over `n_steps` points. Sundararajan, Taly & Yan, "Axiomatic Attribution for Deep
/// Networks", ICML 2017; Captum `IntegratedGradients`.
///
/// All points of all instances form one batch (split only to respect `internal_batch_size`
/// and the memory budget), so 50 steps cost one batched forward and backward pass, not 50.
/// Like Captum's, `internal_batch_size` counts rows of a pass: path points times instances.
/// The completeness axiom gives the error estimate returned as `convergence_delta`:
/// Σ attributions − (f(x) − f(x′)).
public struct IntegratedGradients: Explainer {
    public let descriptor = MethodDescriptor(
        name: "integrated_gradients", family: "gradient",
        summary: "(x − x′) ⊙ the path integral of ∂f/∂x from the baseline x′ to x; returns convergence_delta",
        reference: "Captum IntegratedGradients", requirement: .differentiable,
        parameters: [
            ParameterSpec.baselines("the reference input x′: a number, one instance, or one per instance"),
            ParameterSpec("n_steps", .integer, default: 50, minimum: 1, maximum: 10_000, summary: "number of points on the path"),
            ParameterSpec(
                "integration", .choice(IntegrationScheme.allCases.map(\.rawValue)), default: "gausslegendre",
                summary: "quadrature rule for the path integral (Captum's `method`)"),
            ParameterSpec(
                "internal_batch_size", .integer, minimum: 1, maximum: 1_000_000,
                summary: "most path points evaluated in one pass (default: as many as the memory budget allows)"),
        ])

    public init() {}

    public func prepare(_ parameters: [String: JSONValue], for problem: ExplanationProblem) throws(ExplanationError) -> any ExplanationPlan
    {
        var reader = try ParameterReader(parameters, specs: descriptor.parameters, method: descriptor.name)
        let baselines = try Baselines.resolve(reader.json("baselines"), for: problem)
        let steps = try reader.int("n_steps")
        guard let scheme = IntegrationScheme(rawValue: try reader.choice("integration")) else {
            throw ExplanationError(.invalidParameter, "unknown integration scheme")
        }
        if scheme == .riemannTrapezoid && steps < 2 {
            throw ExplanationError(
                .invalidParameter, "parameter 'n_steps' of integrated_gradients must be at least 2 for riemann_trapezoid")
        }
        let internalBatchSize = try reader.optionalInt("internal_batch_size")
        return Plan(
            model: try differentiable(problem.model), effectiveParameters: reader.effective, baselines: baselines,
            steps: steps, scheme: scheme, internalBatchSize: internalBatchSize)
    }

    struct Plan: ExplanationPlan {
        let model: any DifferentiableModel
        let effectiveParameters: [String: JSONValue]
        let baselines: [Tensor]
        let steps: Int
        let scheme: IntegrationScheme
        let internalBatchSize: Int?

        func run(_ problem: ResolvedProblem, context: ExplanationContext) throws(ExplanationError) -> [InstanceAttribution] {
            let inputs = problem.problem.inputs
            let batch = problem.problem.batchSize
            let (alphas, weights) = scheme.pointsAndWeights(steps: steps)

            // Path points are laid out as Captum lays them out, step-major ([α₀: every
            // instance, α₁: …]), and built a slice of steps at a time, so memory stays within
            // the budget however many steps are asked for.
            let rowBudget = min(internalBatchSize ?? Int.max, max(1, context.maxBatchElements / model.elementsPerInstance))
            let stepsPerPass = max(1, rowBudget / max(batch, 1))
            var totals = inputs.map { [Float](repeating: 0, count: $0.count) }
            for firstStep in stride(from: 0, to: steps, by: stepsPerPass) {
                let passSteps = firstStep..<min(firstStep + stepsPerPass, steps)
                var scaled: [Tensor] = []
                for (input, baseline) in zip(inputs, baselines) {
                    var scalars = [Float](repeating: 0, count: input.count * passSteps.count)
                    for (position, step) in passSteps.enumerated() {
                        let alpha = Float(alphas[step])
                        let offset = position * input.count
                        for index in 0..<input.count {
                            scalars[offset + index] = baseline.scalars[index] + alpha * (input.scalars[index] - baseline.scalars[index])
                        }
                    }
                    do { scaled.append(try Tensor(shape: [batch * passSteps.count] + input.shape.dropFirst(), scalars: scalars)) } catch {
                        throw ExplanationError(.invalidInput, "the path is too large: \(error)")
                    }
                }
                let targets = Array(passSteps.map { _ in problem.targets }.joined())
                let (_, gradients) = try TargetGradients.compute(
                    model: model, inputs: scaled, output: problem.problem.output, targets: targets, context: context,
                    rowsPerChunk: rowBudget)

                // Σ_k w_k ∂f(x′ + α_k(x − x′))/∂x over this slice of steps.
                for inputIndex in inputs.indices {
                    let size = inputs[inputIndex].count
                    gradients[inputIndex].scalars.withUnsafeBufferPointer { gradient in
                        totals[inputIndex].withUnsafeMutableBufferPointer { total in
                            for (position, step) in passSteps.enumerated() {
                                let weight = Float(weights[step])
                                for index in 0..<size { total[index] += weight * gradient[position * size + index] }
                            }
                        }
                    }
                }
            }

            // ⊙ (x − x′), then split into instances.
            var attributions: [[Tensor]] = []
            for (inputIndex, input) in inputs.enumerated() {
                let baseline = baselines[inputIndex]
                var total = totals[inputIndex]
                for index in 0..<total.count { total[index] *= input.scalars[index] - baseline.scalars[index] }
                do { attributions.append(try Tensor(shape: input.shape, scalars: total).unstacked()) } catch {
                    throw ExplanationError(.modelFailure, "\(error)")
                }
            }

            // convergence_delta needs f(x′): one more forward pass, on the baselines.
            let baselineOutputs: Tensor
            do { baselineOutputs = try model.predict(baselines)[problem.problem.output] } catch { throw ExplanationError(error) }
            let perRow = problem.outputsPerInstance
            return (0..<batch).map { row in
                let target = problem.targets[row]
                let attribution = attributions.map { $0[row] }
                let sum = attribution.reduce(0.0) { $0 + $1.scalars.reduce(0.0) { $0 + Double($1) } }
                let difference =
                    Double(problem.targetOutput(row)) - Double(baselineOutputs.scalars[row * perRow + target])
                return InstanceAttribution(attributions: attribution, extras: ["convergence_delta": .number(sum - difference)])
            }
        }
    }
}
