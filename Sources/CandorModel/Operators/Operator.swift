import CandorTensor

/// One ONNX operator: a batched forward computation and its vector-Jacobian product.
///
/// Operators are built once per node at load time (attributes parsed and checked then) and are
/// immutable afterwards, so one instance serves every worker concurrently.
public protocol Operator: Sendable {
    /// Computes the node's outputs. `inputs` has one entry per ONNX input; an omitted optional
    /// input is nil.
    func forward(_ inputs: [GraphValue?]) throws(TensorError) -> [GraphValue]

    /// The vector-Jacobian product: given ∂L/∂output for each output (nil where no gradient
    /// reaches it), returns ∂L/∂input for each input (nil for integer or non-differentiable
    /// inputs). `outputs` are the values `forward` produced for these inputs. `wanted[i]` says
    /// whether input i's gradient is needed at all: weights and other constants never need
    /// theirs, and skipping them roughly halves the cost of a backward pass.
    func backward(
        _ inputs: [GraphValue?], outputs: [GraphValue], outputGradients: [Tensor?], wanted: [Bool]
    ) throws(TensorError) -> [Tensor?]

    /// How DeepLIFT and LRP treat the operator: a rule of theirs, its own gradient, or — for
    /// LRP — a refusal with the reason. Every operator type decides for itself (there is no
    /// default), so an operator cannot be added without a decision, and the rules need no
    /// list of operators of their own.
    var attributionRules: AttributionRules { get }
}

/// What an operator factory sees besides the node's attributes.
public struct OperatorContext: Sendable {
    /// The node, for error messages.
    public let node: NodeIdentity
    /// The opset version of the default ONNX domain the model imports.
    public let opset: Int
    /// The node's inputs whose values are known at load time (initializers, constants), by
    /// input position; nil where the input is computed at run time or omitted.
    public let constantInputs: [GraphValue?]
    /// Whether a later node or the graph's outputs read each of the node's outputs, by output
    /// position. An optional output nobody reads (MaxPool's `Indices`, Dropout's `mask`) is
    /// never computed, so attributes that only shape it do not matter.
    public let consumedOutputs: [Bool]

    /// Whether the node's output at `position` is read by the graph.
    public func consumesOutput(_ position: Int) -> Bool { position < consumedOutputs.count && consumedOutputs[position] }
}

extension Array where Element == GraphValue? {
    /// The float tensor at `index`, or a shape error naming what was expected.
    func float(_ index: Int, _ role: String) throws(TensorError) -> Tensor {
        guard index < count, let value = self[index] else { throw .shapeMismatch("missing input \(role)") }
        guard case .float(let tensor) = value else {
            throw .shapeMismatch("input \(role) must be a float tensor, got \(value.elementType.rawValue)")
        }
        return tensor
    }

    /// The float tensor at `index` if present.
    func optionalFloat(_ index: Int, _ role: String) throws(TensorError) -> Tensor? {
        guard index < count, self[index] != nil else { return nil }
        return try float(index, role)
    }
}

extension Array where Element == GraphValue {
    /// The single float output of an operator.
    func firstFloat() throws(TensorError) -> Tensor {
        guard case .float(let tensor)? = first else { throw .shapeMismatch("operator output is not a float tensor") }
        return tensor
    }
}

extension Array where Element == Tensor? {
    /// The gradient of the first output, or zeros shaped like `output` when none arrived.
    func firstGradient(like output: Tensor) -> Tensor {
        (first ?? nil) ?? Tensor(zerosLike: output)
    }
}
