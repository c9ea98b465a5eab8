import CandorModel
import CandorTensor

/// The straight-line path x′ + α(x − x′) from the baselines to the inputs and the quadrature
/// over it, shared by integrated gradients, layer integrated gradients and layer conductance
/// (SmoothGrad's integrated-gradients base runs `IntegratedGradients` itself): the
/// parameters `baselines`, `n_steps` and `integration`, the path's points in passes that fit
/// the memory budget, and the completeness check of Sundararajan, Taly & Yan (2017),
/// `convergence_delta` = Σ attributions − (f(x) − f(x′)).
///
/// Points are laid out as Captum lays them out, step-major ([α₀: every instance, α₁: …]), and
/// built a slice of steps at a time, so memory stays within the budget however many steps are
/// asked for.
struct PathIntegral: Sendable {
    static let parameters: [ParameterSpec] = [
        ParameterSpec.baselines("the reference input x′: a number, one instance, or one per instance"),
        ParameterSpec("n_steps", .integer, default: 50, minimum: 1, maximum: 10_000, summary: "number of points on the path"),
        ParameterSpec.choice(
            "integration", default: IntegrationScheme.gaussLegendre, summary: "quadrature rule for the path integral (Captum's `method`)"),
    ]

    let baselines: [Tensor]
    let steps: Int
    let scheme: IntegrationScheme

    init(_ reader: inout ParameterReader, problem: ExplanationProblem, method: String) throws(ExplanationError) {
        baselines = try Baselines.resolve(reader.json("baselines"), for: problem)
        steps = try reader.int("n_steps")
        scheme = try reader.choice("integration", as: IntegrationScheme.self)
        if scheme == .riemannTrapezoid && steps < 2 {
            throw ExplanationError(.invalidParameter, "parameter 'n_steps' of \(method) must be at least 2 for riemann_trapezoid")
        }
    }

    /// The path's points (`points` of them, default `steps`) in consecutive slices, each small
    /// enough for one pass of `batch` rows per point within the memory budget and `rowLimit`.
    func slices(
        batch: Int, model: any DifferentiableModel, context: ExplanationContext, points: Int? = nil, rowLimit: Int? = nil
    ) -> [Range<Int>] {
        let perPass = context.unitsPerPass(for: model, rowsPerUnit: batch, rowLimit: rowLimit)
        let count = points ?? steps
        return stride(from: 0, to: count, by: perPass).map { $0..<Swift.min($0 + perPass, count) }
    }

    /// low + α(high − low) at each of `alphas`, stacked step-major: [rows · alphas.count] +
    /// the rows' shape.
    static func interpolate(from low: Tensor, to high: Tensor, at alphas: ArraySlice<Double>) throws(ExplanationError) -> Tensor {
        var scalars = [Float](repeating: 0, count: high.count * alphas.count)
        for (position, alpha) in alphas.enumerated() {
            let alpha = Float(alpha)
            let offset = position * high.count
            for index in 0..<high.count {
                scalars[offset + index] = low.scalars[index] + alpha * (high.scalars[index] - low.scalars[index])
            }
        }
        do { return try Tensor(shape: [(high.shape.first ?? 0) * alphas.count] + high.shape.dropFirst(), scalars: scalars) } catch {
            throw ExplanationError(.invalidInput, "the path is too large: \(error)")
        }
    }

    /// Adds Σₖ wₖ · gradientₖ to `total`, the slice's gradients stacked step-major as
    /// ``interpolate(from:to:at:)`` lays out their points.
    static func accumulate(_ gradient: Tensor, weights: ArraySlice<Double>, into total: inout [Float]) {
        let size = total.count
        gradient.scalars.withUnsafeBufferPointer { gradient in
            total.withUnsafeMutableBufferPointer { total in
                for (position, weight) in weights.enumerated() {
                    let weight = Float(weight)
                    for index in 0..<size { total[index] += weight * gradient[position * size + index] }
                }
            }
        }
    }

    /// The integral `total` times (high − low), one tensor per row.
    static func attributions(_ total: [Float], from low: Tensor, to high: Tensor) throws(ExplanationError) -> [Tensor] {
        var total = total
        for index in total.indices { total[index] *= high.scalars[index] - low.scalars[index] }
        do { return try Tensor(shape: high.shape, scalars: total).unstacked() } catch {
            throw ExplanationError(.modelFailure, "\(error)")
        }
    }

    /// The explanations, `attributions[row]` holding one tensor per explained input or layer,
    /// each with `convergence_delta` = Σ attributions − (f(x) − f(x′)). f(x′) comes from
    /// `baselineOutputs` when the method has it, else from one more forward pass.
    func withDeltas(
        _ attributions: [[Tensor]], problem: ResolvedProblem, model: any PredictiveModel, baselineOutputs: Tensor? = nil
    ) throws(ExplanationError) -> [InstanceAttribution] {
        let atBaseline: Tensor
        if let baselineOutputs {
            atBaseline = baselineOutputs
        } else {
            do { atBaseline = try model.predict(baselines)[problem.problem.output] } catch { throw ExplanationError(error) }
        }
        let perRow = problem.outputsPerInstance
        return attributions.enumerated().map { row, attribution in
            let sum = attribution.reduce(0.0) { $0 + $1.scalars.reduce(0.0) { $0 + Double($1) } }
            let difference =
                Double(problem.targetOutput(row)) - Double(atBaseline.scalars[row * perRow + problem.targets[row]])
            return InstanceAttribution(attributions: attribution, extras: ["convergence_delta": .number(sum - difference)])
        }
    }
}
