import CandorModel
import CandorTensor

/// RISE, randomized input sampling for explanation (Petsiuk, Das & Saenko, "RISE: Randomized
/// Input Sampling for Explanation of Black-box Models", BMVC 2018): the saliency of element
/// λ is the mask-weighted mean output, S(λ) = (1 / (N·p)) Σᵢ f(x ⊙ Mᵢ) · Mᵢ(λ), over N random
/// soft masks. Each mask is a coarse grid of cells kept with probability p, upsampled
/// bilinearly to (grid + 1) cells and cropped at a random shift, so masks are smooth and not
/// tied to the grid. Masked elements move towards `baselines` (0 by default, the paper's
/// x ⊙ M). The spatial axes are an instance's last two ([channels, height, width] shares one
/// mask across channels) or its only axis; the estimate converges to its expectation as
/// `n_masks` grows, with a standard error s/√n_masks over the masks' terms f(x ⊙ Mᵢ)·Mᵢ(λ)/p
/// (returned from two masks on), and masks come from `seed`.
public struct Rise: Explainer {
    /// The most masked inputs evaluated in one request: n_masks × instances.
    public static let maximumEvaluations = 1 << 22

    public let descriptor = MethodDescriptor(
        name: "rise", family: "perturbation",
        summary: "mask-weighted mean of the outputs over random smooth masks (randomized input sampling); returns attributions_stderr",
        reference: "Petsiuk et al. 2018 (RISE)", requirement: .any,
        checkedAgainst:
            "its definition (property tests: a constant model gets its constant everywhere, the saliency peaks where the signal is, a seed reproduces)",
        details: """
            RISE (Petsiuk et al., 2018): S = Σᵢ f(x′ + (x − x′) ⊙ Mᵢ) · Mᵢ / (n_masks · p) over
            random smooth masks, each a grid of cells kept with probability p, upsampled bilinearly and
            cropped at a random shift; masks span an instance's last two axes (shared by the channels of
            a [channels, height, width] image) or its only axis. No reference implementation is common
            enough to match number for number. With `n_masks` ≥ 2, `attributions_stderr` is the standard
            error of that Monte-Carlo mean, s/√n_masks, s the sample standard deviation over the masks of
            f(x′ + (x − x′) ⊙ Mᵢ) · Mᵢ / p at each element; one mask has no stderr.
            """,
        parameters: [
            ParameterSpec("n_masks", .integer, default: 2000, minimum: 1, maximum: 1_000_000, summary: "random masks per instance"),
            ParameterSpec(
                "cell_size", .integers, minimum: 1, maximum: 100_000,
                summary: "extent of one mask cell on each spatial axis (default: an eighth of the axis, rounded up)"),
            ParameterSpec("p", .number, default: 0.5, minimum: 0.01, maximum: 1, summary: "probability that a cell is kept"),
            ParameterSpec.baselines("the values masked elements move towards"),
            ParameterSpec.seed(of: "the masks"),
        ])

    public init() {}

    public func prepare(_ parameters: [String: JSONValue], for problem: ExplanationProblem) throws(ExplanationError) -> any ExplanationPlan
    {
        var reader = try ParameterReader(parameters, specs: descriptor.parameters, method: descriptor.name)
        guard problem.inputs.count == 1, let input = problem.inputs.first, input.rank >= 2 else {
            throw ExplanationError(.methodNotApplicable, "rise masks one input; this model has \(problem.inputs.count)")
        }
        let masks = try reader.int("n_masks")
        let evaluations = masks.multipliedReportingOverflow(by: problem.batchSize)
        guard !evaluations.overflow, evaluations.partialValue <= Self.maximumEvaluations else {
            throw ExplanationError(
                .invalidParameter,
                "rise would evaluate \(masks) masks × \(problem.batchSize) instances, more than the \(Self.maximumEvaluations) allowed per request: lower n_masks or send fewer instances"
            )
        }
        let shape = Array(input.shape.dropFirst())
        let spatial = Array(shape.suffix(min(2, shape.count)))
        let cells =
            try reader.integers("cell_size", count: spatial.count)
            ?? spatial.map { ($0 + 7) / 8 }
        reader.record("cell_size", .array(cells.map { .number(Double($0)) }))
        if let axis = spatial.indices.first(where: { cells[$0] > spatial[$0] }) {
            throw ExplanationError(
                .invalidParameter,
                "parameter 'cell_size' is larger than the instance on spatial axis \(axis) (\(cells[axis]) > \(spatial[axis]))")
        }
        let baselines = try Baselines.resolve(reader.json("baselines"), for: problem)
        let keep = try reader.optionalDouble("p") ?? 0.5
        let seed = try reader.seed()
        return Plan(
            model: problem.model, effectiveParameters: reader.effective, baselines: baselines, masks: masks,
            geometry: MaskGeometry(spatial: spatial, cells: cells), keep: keep, seed: seed)
    }

    /// Where masks live: the spatial extents and the cell size on each spatial axis.
    struct MaskGeometry {
        let spatial: [Int]
        let cells: [Int]

        /// Grid cells per axis: ⌈extent / cell⌉.
        var grid: [Int] { zip(spatial, cells).map { ($0 + $1 - 1) / $1 } }

        /// Mask `index`, one value per spatial position (row-major): a grid of cells kept
        /// with probability `keep`, bilinearly upsampled to (grid + 1)·cell and cropped at a
        /// random shift below one cell. Each mask has its own generator, so a mask is the same
        /// whichever pass or instance asks for it.
        func mask(_ index: Int, keep: Double, seed: UInt64) -> [Float] {
            var random = SeededRandom(seed: seed ^ (UInt64(index) &* 0xD1B5_4A32_D192_ED03))
            let grid = self.grid
            let cellsTotal = grid.reduce(1, *)
            let kept = (0..<cellsTotal).map { _ in random.uniform() < keep ? Float(1) : 0 }
            let shifts = cells.map { random.integer(below: $0) }
            // Upsampled size (grid + 1)·cell per axis; output position t samples it at t + shift.
            let upsampled = zip(grid, cells).map { ($0 + 1) * $1 }
            func coordinate(_ position: Int, axis: Int) -> (Int, Int, Float) {
                // Half-pixel bilinear resize from `grid` to `upsampled` cells, edges clamped.
                let source = (Double(position + shifts[axis]) + 0.5) * Double(grid[axis]) / Double(upsampled[axis]) - 0.5
                let clamped = min(max(source, 0), Double(grid[axis] - 1))
                let lower = Int(clamped.rounded(.down))
                let upper = min(lower + 1, grid[axis] - 1)
                return (lower, upper, Float(clamped - Double(lower)))
            }
            if spatial.count == 1 {
                return (0..<spatial[0]).map { position in
                    let (lower, upper, fraction) = coordinate(position, axis: 0)
                    return kept[lower] * (1 - fraction) + kept[upper] * fraction
                }
            }
            let rows = (0..<spatial[0]).map { coordinate($0, axis: 0) }
            let columns = (0..<spatial[1]).map { coordinate($0, axis: 1) }
            var values = [Float](repeating: 0, count: spatial[0] * spatial[1])
            for (row, (top, bottom, down)) in rows.enumerated() {
                for (column, (left, right, across)) in columns.enumerated() {
                    let upperRow = kept[top * grid[1] + left] * (1 - across) + kept[top * grid[1] + right] * across
                    let lowerRow = kept[bottom * grid[1] + left] * (1 - across) + kept[bottom * grid[1] + right] * across
                    values[row * spatial[1] + column] = upperRow * (1 - down) + lowerRow * down
                }
            }
            return values
        }
    }

    struct Plan: ExplanationPlan {
        let model: any PredictiveModel
        let effectiveParameters: [String: JSONValue]
        let baselines: [Tensor]
        let masks: Int
        let geometry: MaskGeometry
        let keep: Double
        let seed: UInt64

        func run(_ problem: ResolvedProblem, context: ExplanationContext) throws(ExplanationError) -> [InstanceAttribution] {
            let size = problem.problem.instanceSizes[0]
            let positions = geometry.spatial.reduce(1, *)
            var results: [InstanceAttribution] = []
            for row in 0..<problem.problem.batchSize {
                let instance = Array(problem.problem.inputs[0].scalars[(row * size)..<((row + 1) * size)])
                let baseline = Array(baselines[0].scalars[(row * size)..<((row + 1) * size)])
                var saliency = [Double](repeating: 0, count: positions)
                // Each mask's term f(x ⊙ Mᵢ) · Mᵢ / p, whose mean is the saliency: its spread.
                var moments = SampleMoments(elements: positions)
                // Evaluate in chunks of masks, regenerating each chunk's masks for the sums.
                let chunk = context.itemsPerPass(elementsPerItem: size, limit: masks)
                for first in stride(from: 0, to: masks, by: chunk) {
                    let range = first..<min(first + chunk, masks)
                    let drawn = range.map { geometry.mask($0, keep: keep, seed: seed) }
                    let outputs = try SampleEvaluation(model: model, problem: problem, row: row)
                        .targetOutputs(
                            count: range.count, context: context,
                            fill: .concurrent { sample, _, destination in
                                let mask = drawn[sample]
                                for index in 0..<size {
                                    let m = mask[index % positions]
                                    destination[index] = baseline[index] + (instance[index] - baseline[index]) * m
                                }
                            })
                    for (position, output) in outputs.enumerated() {
                        for (index, value) in drawn[position].enumerated() { saliency[index] += output * Double(value) }
                        moments.add(drawn[position].map { output * Double($0) / keep })
                    }
                }
                let scale = 1 / (Double(masks) * keep)
                let values = (0..<size).map { Float(saliency[$0 % positions] * scale) }
                let errors = try moments.standardErrorOfMean.map { errors throws(ExplanationError) in
                    [try problem.problem.instanceTensor((0..<size).map { errors[$0 % positions] }, input: 0)]
                }
                results.append(
                    InstanceAttribution(attributions: [try problem.problem.instanceTensor(values, input: 0)], standardErrors: errors))
            }
            return results
        }
    }
}
