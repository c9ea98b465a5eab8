import CandorModel
import CandorTensor

/// The descent behind ``Wachter``: one row per start, all descended together (one gradient
/// pass per step).
struct WachterDescent {
    struct Settings: Sendable {
        let targetProbability: Double
        let tolerance: Double
        let initialLambda: Double
        let lambdaSteps: Int
        let iterations: Int
        let learningRate: Double
        let patience: Int
    }

    let search: CounterfactualSearch
    let model: any DifferentiableModel
    let settings: Settings

    /// λ above which the search counts the upper bound as unset.
    static let unsetUpperLambda = 1e9

    func counterfactuals(random: inout SeededRandom, context: ExplanationContext) throws(ExplanationError) -> [[Double]] {
        let space = search.space
        let starts = (0..<search.setting.total).map { start in
            space.varying.map { _ in start == 0 ? 0 : 0.1 * random.standardNormal() }
        }
        var nearest: [(values: [Double], distance: Double)?] = Array(repeating: nil, count: starts.count)
        var lambda = settings.initialLambda
        var lower = 0.0
        var upper = Double.infinity
        for _ in 0..<settings.lambdaSteps {
            let found = try descend(from: starts, lambda: lambda, nearest: &nearest, context: context)
            if found {
                upper = min(upper, lambda)
                lambda = (lower + upper) / 2
            } else {
                lower = max(lower, lambda)
                lambda = upper < Self.unsetUpperLambda ? (lower + upper) / 2 : lambda * 10
            }
        }
        var result: [[Double]] = []
        let acceptance = { (candidates: [[Double]]) throws(ExplanationError) -> [Bool] in
            try self.acceptance(of: candidates, context: context)
        }
        for candidate in nearest.compactMap({ $0?.values }) {
            let rounded = space.project(candidate, onto: search.instance)
            // Rounding may leave the outcome reached but the probability short of
            // target_proba − tol: such a point is kept as it is, not made sparse.
            let answer =
                try acceptance([rounded])[0]
                ? try search.simplified(rounded, context: context, keeping: acceptance)
                : try search.reaching([rounded], context: context)[0] ? rounded : nil
            if let answer, !result.contains(answer) { result.append(answer) }
        }
        return result.sorted { space.distance(search.instance, $0) < space.distance(search.instance, $1) }
    }

    /// One descent per start at a fixed λ; records each start's nearest counterfactual and
    /// says whether any was found.
    private func descend(
        from starts: [[Double]], lambda: Double, nearest: inout [(values: [Double], distance: Double)?], context: ExplanationContext
    ) throws(ExplanationError) -> Bool {
        let space = search.space
        var positions = starts
        var found = false
        var bestLoss = Double.infinity
        var stale = 0
        let bounds = space.varying.map { feature in
            let range =
                min(
                    space.ranges[feature].lowerBound, search.instance[feature])...max(
                    space.ranges[feature].upperBound, search.instance[feature])
            return
                ((range.lowerBound - search.instance[feature]) / space.scale[feature])...((range.upperBound - search.instance[feature])
                / space.scale[feature])
        }
        for iteration in 0..<settings.iterations {
            try context.checkCancellation()
            let points = positions.map(point)
            let (outputs, gradients, losses) = try evaluate(points, lambda: lambda)
            let width = search.problem.outputsPerInstance
            for (row, values) in points.enumerated() where accepts(outputs[(row * width)..<((row + 1) * width)]) {
                found = true
                let distance = space.distance(search.instance, values)
                if distance < nearest[row]?.distance ?? .infinity { nearest[row] = (values, distance) }
            }
            let loss = losses.reduce(0, +) + positions.reduce(0) { $0 + $1.reduce(0) { $0 + abs($1) } }
            if loss < bestLoss - 1e-9 * max(1, abs(bestLoss)) {
                bestLoss = loss
                stale = 0
            } else {
                stale += 1
                if stale >= settings.patience { break }
            }
            let rate = settings.learningRate * (1 - Double(iteration) / Double(settings.iterations))
            for row in positions.indices {
                for (index, feature) in space.varying.enumerated() {
                    let stepped = positions[row][index] - rate * gradients[row * space.count + feature] * space.scale[feature]
                    let shrunk = stepped.sign == .minus ? min(0, stepped + rate) : max(0, stepped - rate)
                    positions[row][index] = min(max(shrunk, bounds[index].lowerBound), bounds[index].upperBound)
                }
            }
        }
        return found
    }

    /// The input at `position` (MAD units over the varying features), as float32 values.
    private func point(_ position: [Double]) -> [Double] {
        var values = search.instance
        for (index, feature) in search.space.varying.enumerated() {
            values[feature] = Double(Float(values[feature] + position[index] * search.space.scale[feature]))
        }
        return values
    }

    /// Whether each candidate is a counterfactual (``accepts(_:)``).
    private func acceptance(of candidates: [[Double]], context: ExplanationContext) throws(ExplanationError) -> [Bool] {
        try search.satisfying(candidates, context: context, accepts)
    }

    /// Whether an output is a counterfactual's: it reaches the outcome and, for classes, its
    /// target probability is within `tol` of `target_proba`.
    private func accepts(_ output: ArraySlice<Float>) -> Bool {
        let outcome = search.setting.outcome
        guard outcome.isReached(by: output, original: search.original) else { return false }
        if case .range = outcome { return true }
        let probabilities = ClassProbabilities(output)
        return abs(probabilities.values[target(probabilities)] - settings.targetProbability) <= settings.tolerance
    }

    /// The class pulled toward: the desired one, or the most probable other than the prediction.
    private func target(_ probabilities: ClassProbabilities) -> Int {
        if case .classIndex(let desired) = search.setting.outcome { return desired }
        let others = probabilities.values.indices.filter { $0 != search.original }
        return others.max { probabilities.values[$0] < probabilities.values[$1] } ?? 0
    }

    /// The model's outputs at `points`, the gradient of each row's prediction loss
    /// λ·(f_t − p)² with respect to the input, and those losses.
    private func evaluate(_ points: [[Double]], lambda: Double) throws(ExplanationError) -> (
        outputs: [Float], gradients: [Double], losses: [Double]
    ) {
        let width = search.space.count
        let batch: Tensor
        do { batch = try Tensor(shape: [points.count, width], scalars: points.flatMap { $0.map(Float.init) }) } catch {
            throw ExplanationError(.modelFailure, "\(error)")
        }
        var losses = [Double](repeating: 0, count: points.count)
        let outcome = search.setting.outcome
        let targetProbability = settings.targetProbability
        let result: (outputs: [Tensor], inputGradients: [Tensor])
        do {
            result = try model.gradient([batch], output: search.problem.problem.output) { value, rows throws(ModelError) in
                var cotangent = Tensor(zerosLike: value)
                let perRow = rows.isEmpty ? 0 : value.count / rows.count
                for (position, row) in rows.enumerated() {
                    let slice = value.scalars[(position * perRow)..<((position + 1) * perRow)]
                    if case .range(let range) = outcome {
                        let gap = Double(slice.first ?? 0) - (range.lowerBound + range.upperBound) / 2
                        losses[row] = lambda * gap * gap
                        cotangent.scalars[position * perRow] = Float(2 * lambda * gap)
                        continue
                    }
                    let probabilities = ClassProbabilities(slice)
                    let target = self.target(probabilities)
                    let gap = probabilities.values[target] - targetProbability
                    losses[row] = lambda * gap * gap
                    for (index, derivative) in probabilities.derivatives(of: target).enumerated() {
                        cotangent.scalars[position * perRow + index] = Float(2 * lambda * gap * derivative)
                    }
                }
                return cotangent
            }
        } catch {
            throw ExplanationError(error)
        }
        guard
            let outputs = result.outputs.indices.contains(search.problem.problem.output)
                ? result.outputs[search.problem.problem.output] : nil,
            let gradients = result.inputGradients.first
        else { throw ExplanationError(.modelFailure, "the model returned no output or gradient to descend on") }
        return (outputs.scalars, gradients.scalars.map(Double.init), losses)
    }
}
