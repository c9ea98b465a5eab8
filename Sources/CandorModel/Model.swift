import CandorTensor

/// A model Candor can evaluate on a batch: the contract every explainer relies on.
public protocol PredictiveModel: Sendable {
    /// The declared inputs, batch axis first.
    var inputs: [TensorInfo] { get }
    /// The declared outputs, batch axis first.
    var outputs: [TensorInfo] { get }

    /// About how many tensor elements one instance occupies across a forward and backward pass
    /// (inputs, every activation, and their gradients), so callers can size batches to a
    /// memory budget.
    var elementsPerInstance: Int { get }

    /// Evaluates every output for a batch. `inputs[i]` is shaped [batch] + the instance shape of
    /// input i; each result is shaped [batch, ...].
    func predict(_ inputs: [Tensor]) throws(ModelError) -> [Tensor]
}

/// A model with reverse-mode gradients with respect to its inputs and intermediate tensors.
public protocol DifferentiableModel: PredictiveModel {
    /// Evaluates the model and back-propagates ∂L/∂(output `output`) = `seed(outputValue, rows)`
    /// to every input and to the pass's layers, under the pass's backward rule. `rows` says
    /// which rows of the caller's batch `outputValue` holds (a model with a fixed batch size is
    /// evaluated in chunks).
    func gradient(
        _ inputs: [Tensor], output: Int, pass: BackwardPass, seed: (Tensor, Range<Int>) throws(ModelError) -> Tensor
    ) throws(ModelError) -> GradientResult

    /// The intermediate tensors a pass may tap or replace, in execution order, with their
    /// shapes (batch axis first; a free batch axis is symbolic).
    var layers: [TensorInfo] { get }

    /// The batch size the model was exported with when its batch axis is fixed (batches are
    /// then evaluated in chunks of it), nil when the axis is free.
    var fixedBatchSize: Int? { get }

    /// The output of the model's last convolution, Grad-CAM's default layer; nil when the
    /// model has none.
    var lastConvolutionOutput: String? { get }

    /// The nodes on the way to output `output` that LRP has no rule for, each with the
    /// operator's reason; empty when LRP can explain that output. (Captum's `LRP` raises for
    /// such a layer; Candor refuses the request before any pass.)
    func lrpRefusals(feeding output: Int) -> [LRPRefusal]

    /// A transformer's attention probabilities, in execution order: the layers that are a
    /// softmax over the last axis of a [batch, heads, queries, keys] tensor with as many
    /// queries as keys (self-attention). Empty for other models.
    var attentionProbabilities: [String] { get }
}

/// A model whose learned parameters can be re-drawn at random, layer by layer: what the
/// model-parameter randomization test (Adebayo et al., "Sanity Checks for Saliency Maps",
/// NeurIPS 2018) needs to ask whether an explanation depends on what the model learned.
public protocol ParameterRandomizableModel: PredictiveModel {
    /// The layers with learned parameters, from the output down (the order of Adebayo's
    /// cascading randomization and of Quantus `MPRT`'s default `layer_order="top_down"`).
    var parameterisedLayers: [ParameterisedLayer] { get }

    /// A copy of the model whose layers at positions `layers` of ``parameterisedLayers`` have
    /// every parameter re-drawn i.i.d. from N(0, σ²), σ the standard deviation of that
    /// parameter tensor's own values. Each layer's draws depend on `seed` and its position
    /// alone, so randomizing layers 0..<k and then layer k gives the model that randomizing
    /// 0...k at once does.
    func randomizingParameters(ofLayers layers: Range<Int>, seed: UInt64) throws(ModelError) -> Self
}

extension ParameterRandomizableModel {
    /// A copy of the model with its `count` layers nearest the output randomized (stage
    /// `count` of the cascading randomization).
    public func randomizingParameters(ofTopLayers count: Int, seed: UInt64) throws(ModelError) -> Self {
        try randomizingParameters(ofLayers: 0..<count, seed: seed)
    }
}

/// A model that may be an affine map of its features followed by a link (scikit-learn's
/// linear models behind per-feature scaling), for which SHAP values have a closed form.
public protocol LinearFormModel: PredictiveModel {
    /// The affine map from the features to the raw scores, or nil when the model is not
    /// linear in its features.
    var linearForm: LinearForm? { get }
}

extension DifferentiableModel {
    public var attentionProbabilities: [String] { [] }

    /// The names of the intermediate tensors a pass may ask for.
    public var layerNames: Set<String> { Set(layers.map(\.name)) }

    /// The intermediate tensor named `name`, if the model has one.
    public func layer(named name: String) -> TensorInfo? {
        layers.first { $0.name == name }
    }

    /// The plain gradient with respect to the inputs.
    ///
    /// - Returns: the value of every output, and ∂L/∂input for each input (shaped like it).
    public func gradient(
        _ inputs: [Tensor], output: Int, seed: (Tensor, Range<Int>) throws(ModelError) -> Tensor
    ) throws(ModelError) -> (outputs: [Tensor], inputGradients: [Tensor]) {
        let result = try gradient(inputs, output: output, pass: .plain, seed: seed)
        return (result.outputs, result.inputGradients)
    }
}
