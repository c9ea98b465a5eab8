import CandorExplain
import CandorModel
import CandorTensor
import HTTPTypes

/// Turns a request's `inputs` into one batched tensor per model input, checking everything a
/// client can get wrong: the batch form, instance shapes, non-numbers, NaN or infinity, an
/// empty batch, and the configured size limits.
///
/// A single-input model takes an array of instances; a tabular instance may also be an object
/// keyed by the feature names of the model's sidecar. A multi-input model takes an object of
/// such arrays by input name. Any input's whole batch may instead come as a binary tensor
/// (`BinaryTensor`).
struct InstanceDecoding {
    let model: LoadedModel
    let limits: CandorConfiguration.Limits

    /// The decoded inputs, with the tokenized texts when the instances were text.
    struct Decoded {
        let tensors: [Tensor]
        let text: TextInputs.Batch?
    }

    /// The inputs as tensors. Text instances (`{"text": ...}`) are taken only `allowingText`:
    /// by the routes that say which token each number is about.
    func decode(_ inputs: JSONValue?, allowingText: Bool = false) throws -> [Tensor] {
        if !allowingText, TextInputs.holdsText(inputs) {
            throw Problem.badRequest(
                "invalid-input", "this route does not take text instances yet; send the tokenizer's ids by input name instead")
        }
        return try decodeInstances(inputs).tensors
    }

    /// The inputs as tensors, tokenizing text instances for a model whose sidecar names a
    /// tokenizer.
    func decodeInstances(_ inputs: JSONValue?) throws -> Decoded {
        if TextInputs.holdsText(inputs), case .array(let instances)? = inputs {
            guard let text = model.text else {
                throw Problem.badRequest(
                    "invalid-input", "this model does not take text: its sidecar names no tokenizer (the 'tokenizer' key)")
            }
            let batch = try text.batch(instances, inputCount: model.model.inputs.count, limits: limits)
            return Decoded(tensors: batch.inputs, text: batch)
        }
        return Decoded(tensors: try decodeTensors(inputs), text: nil)
    }

    private func decodeTensors(_ inputs: JSONValue?) throws -> [Tensor] {
        guard let inputs else { throw Problem.badRequest("invalid-input", "the request has no 'inputs'") }
        let declared = model.model.inputs
        var batches: [JSONValue] = []
        if declared.count == 1 {
            if case .object(let object) = inputs, !BinaryTensor.isBinary(object) {
                throw Problem.badRequest(
                    "invalid-input",
                    "'inputs' must be an array of instances (a batch), even for one instance, or a binary tensor {dtype, shape, data}")
            }
            batches = [inputs]
        } else {
            guard case .object(let byName) = inputs else {
                throw Problem.badRequest(
                    "invalid-input",
                    "this model has inputs \(declared.map(\.name).joined(separator: ", ")): send 'inputs' as an object of instance arrays by input name"
                )
            }
            for info in declared {
                guard let batch = byName[info.name] else {
                    throw Problem.badRequest("invalid-input", "'inputs' lacks model input '\(info.name)'")
                }
                batches.append(batch)
            }
            if let extra = byName.keys.sorted().first(where: { name in !declared.contains { $0.name == name } }) {
                throw Problem.badRequest("invalid-input", "'inputs' names '\(extra)', which is not an input of this model")
            }
        }

        var tensors: [Tensor] = []
        var totalElements = 0
        for (info, batch) in zip(declared, batches) {
            let tensor = try self.batch(batch, info: info, elementBudget: limits.maxInputElements - totalElements)
            guard tensor.shape[0] <= limits.maxBatchSize else {
                throw Problem(
                    .contentTooLarge, code: "batch-too-large",
                    detail: "\(tensor.shape[0]) instances exceed the limit of \(limits.maxBatchSize) per request")
            }
            totalElements += tensor.count
            guard totalElements <= limits.maxInputElements else {
                throw Problem(
                    .contentTooLarge, code: "input-too-large",
                    detail: "the inputs hold more than \(limits.maxInputElements) elements, the configured limit")
            }
            tensors.append(tensor)
        }
        guard Set(tensors.map { $0.shape[0] }).count == 1 else {
            throw Problem.badRequest("invalid-input", "every model input must have the same number of instances")
        }
        return tensors
    }

    /// One input's batch in any of its forms: a binary tensor, or an array of instances
    /// (nested arrays, or objects by feature name).
    private func batch(_ batch: JSONValue, info: TensorInfo, elementBudget: Int) throws -> Tensor {
        let name = "inputs for '\(info.name)'"
        let allowingMissing = model.model is TreeEnsemble
        switch batch {
        case .object(let object) where BinaryTensor.isBinary(object):
            let tensor = try BinaryTensor.decode(
                object, name: name, maxElements: max(elementBudget, 0), allowingMissing: allowingMissing)
            do throws(ExplanationError) { try TensorJSON.checkBatch(tensor, matches: info, name: name) } catch { throw Problem(error) }
            return tensor
        case .array(let instances) where instances.first.map(ImageInstances.isImage) == true:
            guard let preprocessing = model.imageInputs[info.name] else {
                throw Problem.badRequest(
                    "invalid-input",
                    "\(name): this input of shape [\(info.shape.map(\.description).joined(separator: ", "))] does not take pictures; a model's sidecar declares image inputs under image_inputs"
                )
            }
            guard instances.count <= limits.maxBatchSize else {
                throw Problem(
                    .contentTooLarge, code: "batch-too-large",
                    detail: "\(instances.count) instances exceed the limit of \(limits.maxBatchSize) per request")
            }
            return try ImageInstances.batch(
                instances, preprocessing: preprocessing, name: name, maxPixels: limits.maxImagePixels, elementBudget: elementBudget)
        case .array(let instances):
            guard !instances.isEmpty else { throw Problem.badRequest("invalid-input", "the batch is empty: send at least one instance") }
            guard instances.count <= limits.maxBatchSize else {
                throw Problem(
                    .contentTooLarge, code: "batch-too-large",
                    detail: "\(instances.count) instances exceed the limit of \(limits.maxBatchSize) per request")
            }
            let rows = try instances.map { try namedFeaturesToArray($0, info: info) }
            return try Self.batchTensor(rows, info: info, allowingMissing: allowingMissing)
        default:
            throw Problem.badRequest(
                "invalid-input", "\(name) must be an array of instances or a binary tensor {dtype, shape, data}, got \(batch.typeName)")
        }
    }

    private static func batchTensor(_ rows: [JSONValue], info: TensorInfo, allowingMissing: Bool) throws(Problem) -> Tensor {
        do throws(ExplanationError) {
            let tensor = try TensorJSON.tensor(from: .array(rows), name: "inputs for '\(info.name)'", allowingMissing: allowingMissing)
            if tensor.rank == info.shape.count - 1 && info.shape.count > 1 {
                throw ExplanationError(
                    .invalidInput, "inputs for '\(info.name)' must be a batch, an array of instances: wrap a single instance in [ ]")
            }
            try TensorJSON.checkBatch(tensor, matches: info, name: "inputs for '\(info.name)'")
            return tensor
        } catch {
            throw Problem(error)
        }
    }

    /// An instance given as `{feature name: value}` becomes the array in the model's order.
    private func namedFeaturesToArray(_ instance: JSONValue, info: TensorInfo) throws -> JSONValue {
        guard case .object(let byName) = instance else { return instance }
        guard let names = model.metadata.featureNames, model.model.inputs.count == 1, info.instanceShape.count == 1 else {
            throw Problem.badRequest(
                "invalid-input", "instances may be objects keyed by feature name only for a tabular model whose sidecar names its features")
        }
        if let unknown = byName.keys.sorted().first(where: { !names.contains($0) }) {
            throw Problem.badRequest("invalid-input", "unknown feature '\(unknown)'; the features are: \(names.joined(separator: ", "))")
        }
        return .array(
            try names.map { name in
                guard let value = byName[name] else { throw Problem.badRequest("invalid-input", "an instance lacks feature '\(name)'") }
                return value
            })
    }
}
