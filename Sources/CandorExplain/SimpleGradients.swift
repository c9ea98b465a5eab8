import CandorModel
import CandorTensor

/// Saliency: the gradient of the target output with respect to the input, in absolute value
/// by default. Simonyan et al., "Deep Inside Convolutional Networks", 2013; Captum `Saliency`.
public struct Saliency: Explainer {
    public let descriptor = MethodDescriptor(
        name: "saliency", family: "gradient",
        summary: "∂f/∂x for the target output, in absolute value unless abs is false",
        reference: "Captum Saliency", requirement: .differentiable,
        parameters: [ParameterSpec("abs", .boolean, default: true, summary: "return |∂f/∂x| instead of ∂f/∂x")])

    public init() {}

    public func prepare(_ parameters: [String: JSONValue], for problem: ExplanationProblem) throws(ExplanationError) -> any ExplanationPlan
    {
        var reader = try ParameterReader(parameters, specs: descriptor.parameters, method: descriptor.name)
        let takesAbsoluteValue = try reader.bool("abs")
        return GradientPlan(model: try differentiable(problem.model), effectiveParameters: reader.effective) { input, gradient in
            takesAbsoluteValue ? gradient.map { Swift.abs($0) } : gradient
        }
    }
}

/// Input × gradient: x ⊙ ∂f/∂x, a first-order estimate of each feature's contribution.
/// Shrikumar et al., 2016; Captum `InputXGradient`.
public struct InputXGradient: Explainer {
    public let descriptor = MethodDescriptor(
        name: "input_x_gradient", family: "gradient",
        summary: "x ⊙ ∂f/∂x for the target output", reference: "Captum InputXGradient",
        requirement: .differentiable, parameters: [])

    public init() {}

    public func prepare(_ parameters: [String: JSONValue], for problem: ExplanationProblem) throws(ExplanationError) -> any ExplanationPlan
    {
        let reader = try ParameterReader(parameters, specs: descriptor.parameters, method: descriptor.name)
        return GradientPlan(model: try differentiable(problem.model), effectiveParameters: reader.effective) {
            input, gradient throws(TensorError) in try input.zipMap(gradient) { $0 * $1 }
        }
    }
}

/// Guided backpropagation: the gradient with each ReLU passing back only positive gradient
/// where its input is positive. Springenberg et al., "Striving for Simplicity", 2015; Captum
/// `GuidedBackprop`.
public struct GuidedBackprop: Explainer {
    public let descriptor = MethodDescriptor(
        name: "guided_backprop", family: "gradient",
        summary: "the gradient with each ReLU passing back only positive gradient at positive input",
        reference: "Captum GuidedBackprop", requirement: .differentiable, parameters: [])

    public init() {}

    public func prepare(_ parameters: [String: JSONValue], for problem: ExplanationProblem) throws(ExplanationError) -> any ExplanationPlan
    {
        let reader = try ParameterReader(parameters, specs: descriptor.parameters, method: descriptor.name)
        return GradientPlan(
            model: try differentiable(problem.model), effectiveParameters: reader.effective,
            pass: BackwardPass(rule: ModifiedReluRule(.guidedBackpropagation))
        ) { _, gradient in gradient }
    }
}

/// Deconvolution: the gradient with each ReLU passing back the positive part of the incoming
/// gradient, whatever its input. Zeiler & Fergus, "Visualizing and Understanding
/// Convolutional Networks", 2014; Captum `Deconvolution`.
public struct Deconvolution: Explainer {
    public let descriptor = MethodDescriptor(
        name: "deconvolution", family: "gradient",
        summary: "the gradient with each ReLU passing back relu(incoming gradient)",
        reference: "Captum Deconvolution", requirement: .differentiable, parameters: [])

    public init() {}

    public func prepare(_ parameters: [String: JSONValue], for problem: ExplanationProblem) throws(ExplanationError) -> any ExplanationPlan
    {
        let reader = try ParameterReader(parameters, specs: descriptor.parameters, method: descriptor.name)
        return GradientPlan(
            model: try differentiable(problem.model), effectiveParameters: reader.effective,
            pass: BackwardPass(rule: ModifiedReluRule(.deconvolution))
        ) { _, gradient in gradient }
    }
}

/// One gradient pass over the batch (under a backward rule, if any), each input's gradient
/// then transformed per element.
struct GradientPlan: ExplanationPlan {
    let model: any DifferentiableModel
    let effectiveParameters: [String: JSONValue]
    var pass = BackwardPass.plain
    /// Maps (input, ∂f/∂input) to the attribution, both batched.
    let transform: @Sendable (Tensor, Tensor) throws(TensorError) -> Tensor

    func run(_ problem: ResolvedProblem, context: ExplanationContext) throws(ExplanationError) -> [InstanceAttribution] {
        let inputs = problem.problem.inputs
        let gradients = try TargetGradients.compute(
            model: model, inputs: inputs, output: problem.problem.output, targets: problem.targets, pass: pass, context: context
        ).inputGradients
        let perInput: [[Tensor]]
        do {
            perInput = try zip(inputs, gradients).map { input, gradient throws(TensorError) in try transform(input, gradient).unstacked() }
        } catch {
            throw ExplanationError(.modelFailure, "\(error)")
        }
        return (0..<problem.problem.batchSize).map { row in
            InstanceAttribution(attributions: perInput.map { $0[row] })
        }
    }
}
