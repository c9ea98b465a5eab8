import CandorModel
import CandorTensor

/// `randomization`: Adebayo et al.'s cascading model-parameter randomization test ("Sanity
/// Checks for Saliency Maps", NeurIPS 2018), as Quantus `MPRT` runs it by default
/// (`layer_order="top_down"`, Spearman similarity of |φ|). The model's parameterised layers
/// (``ParameterRandomizableModel/parameterisedLayers``) are re-drawn one more at a time from
/// the output down; at every stage the same method, with the same parameters and targets,
/// explains the instances on the randomized model, and the stage's figure is the Spearman rank
/// correlation of the new |φ| with the original |φ|, every input's elements flattened together.
/// An explanation that reflects what the model learned should lose its resemblance as the
/// layers go: lower is better.
public struct Randomization: QualityMetric {
    /// The most stages (randomized layers) one request may ask for.
    static let maximumLayers = 1000

    public let descriptor = MethodDescriptor(
        name: "randomization", family: "evaluation",
        summary:
            "rank correlation of |attributions| with those of the same method on the model with its layers randomized from the output down, averaged over the stages (lower is better)",
        reference: "Quantus MPRT (Adebayo et al. 2018)", requirement: .differentiable,
        checkedAgainst:
            "Quantus 0.6 `MPRT` (top-down, Spearman) of Captum saliency and integrated gradients on the MLP golden, its layers re-drawn with Candor's draws (golden/randomization.json): per-stage correlations, the randomized logits and attributions at every stage; randomized outputs differ from the model's at every stage",
        details: """
            The parameterised layers, from the output down, are every `Conv`, `ConvTranspose`, `Gemm` and `MatMul` with a \
            constant weight (with its bias: the constant operand of the `Add` alone reading a `MatMul`'s result counts as \
            its bias) and every `BatchNormalization`, `InstanceNormalization`, `LayerNormalization` and \
            `GroupNormalization` with a constant scale (with its shift; running statistics are not learned and stay). \
            Stage k re-draws layer k, on top of the k − 1 re-drawn before it: each of its parameter tensors i.i.d. from \
            N(0, σ²), σ that tensor's own standard deviation (its root mean square when all its values are equal), \
            seeded by `seed` and the layer's position. The stage's figure is Spearman's rank correlation (tied values \
            share their average rank) between |φ| on the randomized model and the explanation's own |φ|, all elements \
            of all inputs together; 0 when either is constant (where it is undefined). `value` is the mean over the \
            stages; `stages` lists each stage's layer and correlation. Quantus re-initialises each layer with PyTorch's \
            `reset_parameters` (Kaiming-uniform) rather than from the layer's own scale (its golden here assigns \
            Candor's draws instead), and its `return_average_correlation` also averages in the unrandomized model's \
            correlation (Quantus 0.6 skips a key `orig` its results never hold); Candor averages the randomized stages \
            only. SSIM, Adebayo's other similarity, is not computed. The method runs once more per stage, so a \
            request costs `max_layers` explanations more.
            """,
        parameters: [
            ParameterSpec(
                "max_layers", .integer, minimum: 1, maximum: Double(maximumLayers),
                summary: "randomize at most this many layers, from the output down (default: every parameterised layer)"),
            ParameterSpec.seed(of: "the re-drawn parameters"),
        ])

    public var reexplains: Bool { true }

    public init() {}

    public func prepare(_ parameters: [String: JSONValue], for problem: ExplanationProblem) throws(ExplanationError) -> any MetricPlan {
        var reader = try ParameterReader(parameters, specs: descriptor.parameters, method: descriptor.name)
        let layers = try Self.layers(of: problem.model)
        let stages: Int
        if let given = try reader.optionalInt("max_layers") {
            stages = Swift.min(given, layers.count)
        } else {
            stages = Swift.min(layers.count, Self.maximumLayers)
            reader.record("max_layers", .number(Double(stages)))
        }
        return Plan(stages: stages, seed: try reader.seed(), effectiveParameters: reader.effective)
    }

    /// The model's parameterised layers, or a 400 when it has none to randomize.
    static func layers(of model: any PredictiveModel) throws(ExplanationError) -> [ParameterisedLayer] {
        guard let layers = (model as? any ParameterRandomizableModel)?.parameterisedLayers, !layers.isEmpty else {
            throw ExplanationError(
                .methodNotApplicable,
                "randomization re-draws a model's learned parameters, and this model has no parameterised layers (Conv, Gemm, MatMul with constant weights, normalizations)"
            )
        }
        return layers
    }

    struct Plan: MetricPlan {
        let stages: Int
        let seed: UInt64
        let effectiveParameters: [String: JSONValue]

        /// One stage of the cascade: the model with its top `layer + 1` layers randomized, its
        /// attributions (per instance, one tensor per input) and each instance's correlation.
        struct Stage {
            let layer: ParameterisedLayer
            let model: any ParameterRandomizableModel
            let attributions: [[Tensor]]
            let spearman: [Double]
            /// Image instances: the SSIM of the |attribution| maps (channels summed), where defined.
            let ssim: [Double?]
        }

        func evaluate(_ subject: EvaluationSubject, context: ExplanationContext) throws(ExplanationError) -> [MetricValue] {
            var figures: [(layer: String, spearman: [Double], ssim: [Double?])] = []
            try cascade(subject, context: context) { figures.append(($0.layer.name, $0.spearman, $0.ssim)) }
            return (0..<subject.attributions.count).map { row in
                let stages = figures.map { stage -> JSONValue in
                    var figures: [String: JSONValue] = ["layer": .string(stage.layer), "spearman": .number(stage.spearman[row])]
                    if let ssim = stage.ssim[row] { figures["ssim"] = .number(ssim) }
                    return .object(figures)
                }
                let mean = figures.reduce(0.0) { $0 + $1.spearman[row] } / Double(Swift.max(1, figures.count))
                return MetricValue(mean, details: ["stages": .array(stages)])
            }
        }

        /// For image instances ([C, H, W] or [H, W]), the SSIM of two |attribution| maps with
        /// the channels summed; nil otherwise.
        static func imageSimilarity(_ a: [Float], _ b: [Float], problem: ExplanationProblem) -> Double? {
            guard problem.holdsImages else { return nil }
            let shape = problem.inputs[0].shape
            let (height, width) = (shape[shape.count - 2], shape[shape.count - 1])
            let plane = height * width
            func map(_ values: [Float]) -> [Double] {
                var summed = [Double](repeating: 0, count: plane)
                for (index, value) in values.enumerated() { summed[index % plane] += Double(value) }
                return summed
            }
            return StructuralSimilarity.mean(map(a), map(b), height: height, width: width)
        }

        /// Randomizes the layers one more at a time from the output down, explaining the
        /// instances again at every stage, and hands each stage to `body` in order.
        func cascade(
            _ subject: EvaluationSubject, context: ExplanationContext, body: (Stage) -> Void
        ) throws(ExplanationError) {
            let method = try subject.method(for: "randomization", explaining: "the instances")
            let problem = subject.problem.problem
            let layers = try Randomization.layers(of: problem.model)
            guard var model = problem.model as? any ParameterRandomizableModel else { return }
            let original = (0..<subject.attributions.count).map { subject.flatAttributions($0).map(abs) }
            for (index, layer) in layers.prefix(stages).enumerated() {
                try context.checkCancellation()
                let stage = "randomization stage \(index + 1) (layer '\(layer.name)' and those above it re-drawn)"
                do throws(ModelError) { model = try model.randomizingParameters(ofLayers: index..<(index + 1), seed: seed) } catch {
                    throw ExplanationError(error.code, "\(stage): \(error.message)")
                }
                let randomized = ExplanationProblem(
                    model: model, inputs: problem.inputs, output: problem.output, targets: subject.problem.targets, dataset: problem.dataset
                )
                let attributions: [[Tensor]]
                do throws(ExplanationError) {
                    attributions = try method.attributions(for: randomized, context: context)
                } catch  where error.code != .cancelled {
                    throw ExplanationError(error.code, "\(stage): \(error.message)")
                }
                guard attributions.count == original.count, attributions.allSatisfy({ $0.allSatisfy(\.isFinite) }) else {
                    throw ExplanationError(
                        .nonFiniteResult, "\(stage): the attributions contain NaN or infinity (the randomized model overflowed)")
                }
                let spearman = zip(original, attributions).map { original, attribution in
                    Correlation.spearman(original, attribution.flatMap(\.scalars).map(abs))
                }
                let ssim = zip(original, attributions).map { original, attribution in
                    Self.imageSimilarity(original, attribution.flatMap(\.scalars).map(abs), problem: problem)
                }
                body(Stage(layer: layer, model: model, attributions: attributions, spearman: spearman, ssim: ssim))
            }
        }
    }
}
