import CandorModel
import CandorTensor

/// Activation maximisation: the input that a unit of the model responds to most, found by
/// gradient ascent on the input (Erhan, Bengio, Courville & Vincent, "Visualizing Higher-Layer
/// Features of a Deep Network", 2009; with the L2 penalty of Simonyan, Vedaldi & Zisserman,
/// "Deep Inside Convolutional Networks", 2013, and the total-variation penalty and jitter of
/// Mahendran & Vedaldi 2015 and Olah, Mordvintsev & Schubert, "Feature Visualization", Distill
/// 2017). The unit is the analysed output's target value, or one element — or, for a
/// [N, C, H, W] layer, one channel's mean — of an intermediate tensor. What the result shows
/// is what the unit has learned to look for, not what the data contains: without penalties
/// or clamping, an input far from any real one.
///
/// The ascent maximises J(x) = a(x) − l2·‖x − μ‖² − tv·TV(x), μ the dataset's mean row and
/// TV(x) = Σ (x[i, j+1] − x[i, j])² + (x[i+1, j] − x[i, j])² over the last two axes of an
/// image input (Mahendran & Vedaldi's TV with β = 2), by plain steps x ← x + η ∇J(x),
/// projected onto the elements' observed ranges when `clamp` is on.
public struct ActivationMaximization: Analysis {
    static let maximumSteps = 10_000
    static let maximumJitter = 16
    /// The starting point's noise: uniform in ±`startNoise` times the input's standard
    /// deviation over the dataset, around the mean row.
    static let startNoise = 0.01

    /// The optimised input, drawn as a picture by the service for an image model.
    public let synthesizedInstanceField: String? = "input"

    public let descriptor = MethodDescriptor(
        name: "activation_maximization", family: "global",
        summary:
            "an input that maximises a class output or a neuron/channel of a layer, by gradient ascent from the data's mean row with L2 and total-variation penalties — what a unit has learned",
        reference:
            "Erhan et al. 2009 (activation maximisation); Simonyan et al. 2013 (L2); Mahendran & Vedaldi 2015 (total variation); Olah et al. 2017 (Feature Visualization: jitter)",
        requirement: .differentiable,
        checkedAgainst:
            "properties on the shapes CNN and the iris MLP: the objective rises every step at a small learning rate, the unit ends far above its values over the dataset, a linear unit's closed-form ascent, same seed same input",
        details: """
            The ascent starts at the dataset's mean row plus uniform noise of ±0.01 times the input's standard
            deviation over the dataset (`seed`), and takes `steps` plain gradient steps of size `learning_rate`
            on J(x) = a(x) − l2·‖x − μ‖² − total_variation·TV(x): a(x) the unit (with no `layer`, the analysed
            output's `target` value; with `layer`, its element `neuron` of the flattened per-instance values,
            or for a [N, C, H, W] layer the mean of channel `neuron`), μ the mean row, and TV(x) the sum of
            squared differences between horizontally and vertically adjacent elements of the last two axes of
            an image input (instances [C, H, W] or [H, W]). With `jitter` j > 0, each step evaluates a(x) on the
            image rolled (circularly) by a random shift in [−j, j] along each of the two axes, and rolls the
            gradient back. With `clamp`, each step is projected onto the range [min, max] every element takes
            over the dataset's rows. `objective` holds J at the start of every step (with jitter, of the
            shifted image), `final_objective` and `final_activation` J and a(x) at the result, `input` the
            result shaped like one instance (an object of those by input name for a model with several
            inputs). A step that makes J non-finite is refused: lower the learning rate.
            """,
        parameters: [
            LayerSelection.parameter("the intermediate tensor whose unit is maximised (default: none, the analysed output's target)"),
            ParameterSpec(
                "neuron", .integer, minimum: 0, maximum: 1_000_000_000,
                summary:
                    "with `layer` (required then): the index into the layer's flattened per-instance values, or for a [N, C, H, W] layer the channel whose mean is maximised"
            ),
            ParameterSpec(
                "steps", .integer, default: 256, minimum: 1, maximum: Double(maximumSteps), summary: "gradient-ascent steps"),
            ParameterSpec(
                "learning_rate", .number, default: 0.05, minimum: 0, maximum: 1_000_000,
                summary: "step size η (> 0) of x ← x + η∇J(x)"),
            ParameterSpec(
                "l2", .number, default: 0.0, minimum: 0, maximum: 1_000_000, summary: "weight of the penalty ‖x − μ‖², μ the mean row"),
            ParameterSpec(
                "total_variation", .number, default: 0.0, minimum: 0, maximum: 1_000_000,
                summary: "weight of the total-variation penalty (image inputs only)"),
            ParameterSpec(
                "jitter", .integer, default: 0, minimum: 0, maximum: Double(maximumJitter),
                summary: "most pixels of random circular shift per step along each spatial axis (image inputs only)"),
            ParameterSpec(
                "clamp", .boolean, default: true, summary: "keep every element within the range it takes over the dataset's rows"),
            ParameterSpec.seed(of: "the starting noise and the jitter"),
        ])

    public init() {}

    /// What is maximised.
    enum Unit: Sendable, Equatable {
        /// Value `index` of the analysed output's flattened per-row values.
        case output(target: Int)
        /// Element `index` of the layer's flattened per-instance values.
        case element(layer: String, index: Int)
        /// The mean of channel `channel` of a [N, C, H, W] layer.
        case channel(layer: String, channel: Int)
    }

    public func prepare(_ parameters: [String: JSONValue], for problem: AnalysisProblem) throws(ExplanationError) -> any AnalysisPlan {
        let name = descriptor.name
        var reader = try ParameterReader(parameters, specs: descriptor.parameters, method: name)
        guard let model = problem.model as? any DifferentiableModel else {
            throw ExplanationError(.methodNotApplicable, "\(name) needs gradients, which this model does not provide")
        }
        guard problem.output >= 0, problem.output < model.outputs.count else {
            throw ExplanationError(.unknownOutput, "\(name): the model has no output \(problem.output)")
        }
        let unit: Unit
        let neuron = try reader.optionalInt("neuron")
        if reader.isGiven("layer") {
            let layer = try LayerSelection.resolve(&reader, model: model, fallback: nil, method: name, batchSize: 1)
            unit = try Self.layerUnit(layer, neuron: neuron, model: model)
        } else {
            guard neuron == nil else {
                throw ExplanationError(
                    .invalidParameter, "parameter 'neuron' of \(name) selects a unit of 'layer', and no layer is given")
            }
            let width = try problem.outputWidth(for: name)
            unit = .output(target: try problem.target(outputsPerRow: width, analysis: name))
        }
        let steps = try reader.int("steps")
        let rate = try reader.double("learning_rate")
        guard rate > 0 else { throw ExplanationError(.invalidParameter, "parameter 'learning_rate' of \(name) must be positive") }
        let l2 = try reader.double("l2")
        let totalVariation = try reader.double("total_variation")
        let jitter = try reader.int("jitter")
        let clamp = try reader.bool("clamp")
        let seed = try reader.seed()

        guard problem.rowCount > 0 else { throw ExplanationError(.invalidInput, "\(name) needs a dataset of at least one row") }
        let shapes = problem.rows.map { Array($0.shape.dropFirst()) }
        let hasImages = shapes.contains { $0.count >= 2 }
        for (parameter, isUsed) in [("total_variation", totalVariation > 0), ("jitter", jitter > 0)] where isUsed && !hasImages {
            throw ExplanationError(
                .invalidParameter,
                "parameter '\(parameter)' of \(name) applies to image inputs (instances [C, H, W] or [H, W]); this model's instances are shaped \(shapes)"
            )
        }
        return Plan(
            model: model, output: problem.output, unit: unit,
            settings: Settings(
                steps: steps, learningRate: Float(rate), l2: Float(l2), totalVariation: Float(totalVariation), jitter: jitter,
                clamp: clamp, seed: seed),
            effectiveParameters: reader.effective)
    }

    /// The unit of `layer` that `neuron` selects, checked against the layer's shape.
    static func layerUnit(_ layer: String, neuron: Int?, model: any DifferentiableModel) throws(ExplanationError) -> Unit {
        guard let info = model.layer(named: layer) else {
            throw ExplanationError(.invalidParameter, "the model has no intermediate tensor '\(layer)' for activation_maximization")
        }
        let extents = info.shape.dropFirst().map(\.fixedValue)
        guard let neuron else {
            throw ExplanationError(
                .invalidParameter,
                "activation_maximization with 'layer' needs 'neuron': an index into the layer's flattened per-instance values, or a channel of a [N, C, H, W] layer"
            )
        }
        let sizes = extents.compactMap { $0 }
        guard sizes.count == extents.count else {
            throw ExplanationError(
                .invalidParameter, "layer '\(layer)' has a per-instance shape that is not fixed (\(info.shape)); choose another layer")
        }
        if sizes.count == 3 {
            guard neuron < sizes[0] else {
                throw ExplanationError(
                    .invalidParameter,
                    "parameter 'neuron' of activation_maximization is channel \(neuron), but layer '\(layer)' has \(sizes[0]) channels (shape [N, \(sizes.map(String.init).joined(separator: ", "))])"
                )
            }
            return .channel(layer: layer, channel: neuron)
        }
        let count = sizes.reduce(1, *)
        guard neuron < count else {
            throw ExplanationError(
                .invalidParameter,
                "parameter 'neuron' of activation_maximization is \(neuron), but layer '\(layer)' has \(count) values per instance")
        }
        return .element(layer: layer, index: neuron)
    }

    struct Settings: Sendable {
        let steps: Int
        let learningRate: Float
        let l2: Float
        let totalVariation: Float
        let jitter: Int
        let clamp: Bool
        let seed: UInt64
    }

    struct Plan: AnalysisPlan {
        let model: any DifferentiableModel
        /// The analysed output (for a layer unit, the pass's seed replaces it).
        let output: Int
        let unit: Unit
        let settings: Settings
        let effectiveParameters: [String: JSONValue]
        var progressTotal: Int { settings.steps }
        var progressUnit: String { "steps" }

        func run(_ problem: AnalysisProblem, context: AnalysisContext) throws(ExplanationError) -> JSONValue {
            let data = problem.rows.map(InputStatistics.init)
            var random = SeededRandom(seed: settings.seed)
            var point = data.map { statistics in
                statistics.mean.indices.map { index in
                    let noise = Float((2 * random.uniform() - 1) * ActivationMaximization.startNoise) * statistics.spread
                    return statistics.clamped(statistics.mean[index] + noise, at: index, if: settings.clamp)
                }
            }
            let penalties = Penalties(l2: settings.l2, totalVariation: settings.totalVariation, shapes: data.map(\.shape))
            var objective: [JSONValue] = []
            objective.reserveCapacity(settings.steps)
            for _ in 0..<settings.steps {
                try context.checkCancellation()
                let shift = settings.jitter > 0 ? Shift(random: &random, jitter: settings.jitter) : Shift.none
                let shifted = zip(point, data).map { values, statistics in shift.rolled(values, shape: statistics.shape) }
                let evaluated = try activation(at: shifted, shapes: data.map(\.shape))
                var gradients = zip(evaluated.gradients, data).map { gradient, statistics in
                    shift.unrolled(gradient, shape: statistics.shape)
                }
                let penalty = penalties.add(at: point, means: data.map(\.mean), into: &gradients)
                let total = evaluated.value - penalty
                guard total.isFinite, gradients.allSatisfy({ $0.allSatisfy(\.isFinite) }) else { throw nonFinite() }
                objective.append(.number(total))
                for input in point.indices {
                    for index in point[input].indices {
                        let moved = point[input][index] + settings.learningRate * gradients[input][index]
                        point[input][index] = data[input].clamped(moved, at: index, if: settings.clamp)
                    }
                }
                context.progress.advance()
            }
            let evaluated = try activation(at: point, shapes: data.map(\.shape))
            let final = evaluated.value
            var gradients = evaluated.gradients
            let finalObjective = final - penalties.add(at: point, means: data.map(\.mean), into: &gradients)
            guard finalObjective.isFinite else { throw nonFinite() }

            var instances: [JSONValue] = []
            for (values, statistics) in zip(point, data) {
                do { instances.append(TensorJSON.value(of: try Tensor(shape: statistics.shape, scalars: values))) } catch {
                    throw ExplanationError(.modelFailure, "\(error)")
                }
            }
            var result: [String: JSONValue] = [
                "objective": .array(objective), "final_objective": .number(finalObjective), "final_activation": .number(final),
                "input": instances.count == 1
                    ? instances[0]
                    : .object(Dictionary(uniqueKeysWithValues: zip(model.inputs.map(\.name), instances))),
            ]
            switch unit {
            case .output(let target): result["target"] = .number(Double(target))
            case .element(let layer, let index), .channel(let layer, let index):
                result["layer"] = .string(layer)
                result["neuron"] = .number(Double(index))
            }
            return .object(result)
        }

        private func nonFinite() -> ExplanationError {
            ExplanationError(
                .nonFiniteResult, "activation_maximization: the objective or its gradient became NaN or infinite; lower 'learning_rate'")
        }

        /// The unit's value at one instance (one flat array per input) and its gradient with
        /// respect to each input.
        func activation(at point: [[Float]], shapes: [[Int]]) throws(ExplanationError) -> (value: Double, gradients: [[Float]]) {
            var batch: [Tensor] = []
            for (values, shape) in zip(point, shapes) {
                do { batch.append(try Tensor(shape: [1] + shape, scalars: values)) } catch {
                    throw ExplanationError(.invalidInput, "\(error)")
                }
            }
            let pass: BackwardPass
            switch unit {
            case .output: pass = .plain
            case .element(let layer, _), .channel(let layer, _): pass = BackwardPass(seedLayer: layer)
            }
            var value = 0.0
            let result: GradientResult
            do {
                result = try model.gradient(batch, output: output, pass: pass) { tensor, _ throws(ModelError) in
                    let gradient = try seed(like: tensor)
                    value = zip(gradient.scalars, tensor.scalars).reduce(0) { $0 + Double($1.0) * Double($1.1) }
                    return gradient
                }
            } catch {
                throw ExplanationError(error)
            }
            return (value, result.inputGradients.map(\.scalars))
        }

        /// ∂a/∂(the seeded tensor) for one instance: a one-hot at the unit, or 1/(H·W) over a channel.
        private func seed(like tensor: Tensor) throws(ModelError) -> Tensor {
            var seed = Tensor(zerosLike: tensor)
            let rows = Swift.max(tensor.shape.first ?? 1, 1)
            let perRow = tensor.count / rows
            switch unit {
            case .output(let index), .element(_, let index):
                guard index < perRow else {
                    throw ModelError(.inconsistentShapes, "unit \(index) is outside the tensor's \(perRow) values per instance")
                }
                for row in 0..<rows { seed.scalars[row * perRow + index] = 1 }
            case .channel(_, let channel):
                guard tensor.rank == 4, channel < tensor.shape[1] else {
                    throw ModelError(.inconsistentShapes, "channel \(channel) is outside the layer's shape \(tensor.shape)")
                }
                let plane = tensor.shape[2] * tensor.shape[3]
                for row in 0..<rows {
                    let start = row * perRow + channel * plane
                    for index in start..<(start + plane) { seed.scalars[index] = 1 / Float(plane) }
                }
            }
            return seed
        }
    }
}

/// One input's dataset statistics: its mean row, each element's range, and the spread of its
/// values (the standard deviation over every element of every row, 1 when they are constant).
struct InputStatistics: Sendable {
    let shape: [Int]
    let mean: [Float]
    let low: [Float]
    let high: [Float]
    let spread: Float

    init(_ rows: Tensor) {
        shape = Array(rows.shape.dropFirst())
        let size = shape.reduce(1, *)
        let count = rows.shape.first ?? 0
        var sums = [Double](repeating: 0, count: size)
        var low = [Float](repeating: .infinity, count: size)
        var high = [Float](repeating: -.infinity, count: size)
        var total = 0.0
        var squares = 0.0
        rows.scalars.withUnsafeBufferPointer { values in
            for row in 0..<count {
                for index in 0..<size {
                    let value = values[row * size + index]
                    sums[index] += Double(value)
                    low[index] = Swift.min(low[index], value)
                    high[index] = Swift.max(high[index], value)
                    total += Double(value)
                    squares += Double(value) * Double(value)
                }
            }
        }
        let n = Double(Swift.max(count, 1))
        mean = sums.map { Float($0 / n) }
        self.low = low
        self.high = high
        let elements = n * Double(size)
        let variance = Swift.max(squares / Swift.max(elements, 1) - (total / Swift.max(elements, 1)) * (total / Swift.max(elements, 1)), 0)
        spread = variance > 0 ? Float(variance.squareRoot()) : 1
    }

    func clamped(_ value: Float, at index: Int, if isClamped: Bool) -> Float {
        isClamped ? Swift.min(Swift.max(value, low[index]), high[index]) : value
    }
}

/// A circular shift of the last two axes of an image instance (jitter).
struct Shift: Sendable {
    let rows: Int
    let columns: Int

    static let none = Shift(rows: 0, columns: 0)

    init(rows: Int, columns: Int) {
        self.rows = rows
        self.columns = columns
    }

    /// Shifts drawn uniformly from [−jitter, jitter] along each axis.
    init(random: inout SeededRandom, jitter: Int) {
        rows = random.integer(below: 2 * jitter + 1) - jitter
        columns = random.integer(below: 2 * jitter + 1) - jitter
    }

    /// `values` (one instance of `shape`) with element [.., i, j] moved to [.., i + rows, j + columns]
    /// (modulo the extents); instances of rank < 2 unchanged.
    func rolled(_ values: [Float], shape: [Int]) -> [Float] { moved(values, shape: shape, by: 1) }

    /// The inverse of ``rolled(_:shape:)``: a gradient at the rolled image brought back to the image.
    func unrolled(_ values: [Float], shape: [Int]) -> [Float] { moved(values, shape: shape, by: -1) }

    private func moved(_ values: [Float], shape: [Int], by sign: Int) -> [Float] {
        guard shape.count >= 2, rows != 0 || columns != 0 else { return values }
        let height = shape[shape.count - 2]
        let width = shape[shape.count - 1]
        let plane = height * width
        guard plane > 0 else { return values }
        var result = values
        for start in stride(from: 0, to: values.count, by: plane) {
            for i in 0..<height {
                let target = ((i + sign * rows) % height + height) % height
                for j in 0..<width {
                    let column = ((j + sign * columns) % width + width) % width
                    result[start + target * width + column] = values[start + i * width + j]
                }
            }
        }
        return result
    }
}

/// The penalties l2·‖x − μ‖² and tv·TV(x) of activation maximisation.
struct Penalties: Sendable {
    let l2: Float
    let totalVariation: Float
    let shapes: [[Int]]

    /// The penalty at `point`, its negated gradient added to `gradients` (the ascent direction).
    func add(at point: [[Float]], means: [[Float]], into gradients: inout [[Float]]) -> Double {
        var penalty = 0.0
        for input in point.indices {
            if l2 > 0 {
                for index in point[input].indices {
                    let difference = point[input][index] - means[input][index]
                    penalty += Double(l2) * Double(difference) * Double(difference)
                    gradients[input][index] -= 2 * l2 * difference
                }
            }
            let shape = shapes[input]
            guard totalVariation > 0, shape.count >= 2 else { continue }
            let height = shape[shape.count - 2]
            let width = shape[shape.count - 1]
            let plane = height * width
            guard plane > 0 else { continue }
            for start in stride(from: 0, to: point[input].count, by: plane) {
                for i in 0..<height {
                    for j in 0..<width {
                        let here = start + i * width + j
                        if j + 1 < width { penalty += difference(here, here + 1, of: point[input], into: &gradients[input]) }
                        if i + 1 < height { penalty += difference(here, here + width, of: point[input], into: &gradients[input]) }
                    }
                }
            }
        }
        return penalty
    }

    /// tv·(x[next] − x[here])², its negated gradient added to `gradient`.
    private func difference(_ here: Int, _ next: Int, of values: [Float], into gradient: inout [Float]) -> Double {
        let difference = values[next] - values[here]
        gradient[next] -= 2 * totalVariation * difference
        gradient[here] += 2 * totalVariation * difference
        return Double(totalVariation) * Double(difference) * Double(difference)
    }
}
