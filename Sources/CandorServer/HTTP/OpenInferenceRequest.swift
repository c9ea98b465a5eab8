import CandorExplain
import CandorModel
import CandorTensor
import Foundation
import HTTPTypes

/// An inference request of the Open Inference Protocol (KServe V2; also Triton's and
/// MLServer's HTTP API): `{"id", "parameters", "inputs": [{"name", "shape", "datatype",
/// "data"}], "outputs": [{"name", "parameters"}]}`, each input's data row-major, flat or nested,
/// with the binary tensor data extension: a request whose `Inference-Header-Content-Length`
/// header gives the JSON's length carries raw little-endian tensors after it, an input saying
/// how many bytes are its own with `parameters.binary_data_size`, and outputs are asked for as
/// raw bytes with `parameters.binary_data` (or all of them with the request's
/// `binary_data_output`). Every input of the model is given once, by name; any numeric
/// datatype is read as float32, which is what Candor's models compute in. KServe's client also
/// sends `model_name` (and may send `model_version`), which must then name the path's model.
struct OpenInferenceRequest {
    struct RequestedOutput {
        /// The model output's position.
        let index: Int
        let binary: Bool
    }

    static let fields: Set<String> = ["id", "model_name", "model_version", "parameters", "inputs", "outputs"]
    static let inputFields: Set<String> = ["name", "shape", "datatype", "parameters", "data"]
    /// The header giving the JSON part's length when binary data follows it.
    static let headerLength = "Inference-Header-Content-Length"

    let id: String?
    /// One batch per model input, in the model's order.
    let inputs: [Tensor]
    let outputs: [RequestedOutput]

    /// - Parameters:
    ///   - body: the whole request body.
    ///   - jsonLength: the `Inference-Header-Content-Length` value, when sent.
    init(body: [UInt8], jsonLength: Int?, model: LoadedModel, limits: CandorConfiguration.Limits) throws(Problem) {
        let split = jsonLength ?? body.count
        guard split >= 0, split <= body.count else {
            throw Problem.badRequest(
                "invalid-input", "\(Self.headerLength) is \(split), but the body has \(body.count) bytes")
        }
        let json: [String: JSONValue]
        do { json = try RequestBody.jsonObject(Data(body[..<split]), allowedKeys: Self.fields) } catch let problem as Problem {
            throw problem
        } catch {
            throw Problem.badRequest("malformed-json", "\(error)")
        }
        switch json["id"] {
        case nil: id = nil
        case .string(let text)?: id = text
        case let other?: throw Problem.badRequest("invalid-input", "'id' must be a string, got \(other.typeName)")
        }
        switch json["model_name"] {
        case nil, .string(model.name)?: break
        case .string(let name)?:
            throw Problem.badRequest("invalid-input", "'model_name' is '\(name)', but the request is to model '\(model.name)'")
        case let other?: throw Problem.badRequest("invalid-input", "'model_name' must be a string, got \(other.typeName)")
        }
        switch json["model_version"] {
        case nil, .string?: break
        case let other?: throw Problem.badRequest("invalid-input", "'model_version' must be a string, got \(other.typeName)")
        }
        let parameters = try Self.parameters(json["parameters"], of: "the request")
        var binary = BinaryTail(bytes: body, offset: split)
        inputs = try Self.inputs(json["inputs"], model: model, limits: limits, binary: &binary)
        guard binary.offset == body.count else {
            throw Problem.badRequest(
                "invalid-input",
                "\(body.count - binary.offset) bytes of binary data follow the JSON beyond the inputs' binary_data_size")
        }
        let allBinary = try Self.flag(parameters["binary_data_output"], named: "binary_data_output") ?? false
        outputs = try Self.outputs(json["outputs"], model: model, binaryByDefault: allBinary)
    }

    /// The binary data after the JSON, read input by input.
    private struct BinaryTail {
        let bytes: [UInt8]
        var offset: Int

        mutating func take(_ count: Int, for name: String) throws(Problem) -> ArraySlice<UInt8> {
            guard count <= bytes.count - offset else {
                throw Problem.badRequest(
                    "invalid-input", "input '\(name)' declares \(count) bytes of binary data, but \(bytes.count - offset) are left")
            }
            defer { offset += count }
            return bytes[offset..<(offset + count)]
        }
    }

    private static func parameters(_ value: JSONValue?, of owner: String) throws(Problem) -> [String: JSONValue] {
        switch value {
        case nil: return [:]
        case .object(let object)?: return object
        case let other?: throw Problem.badRequest("invalid-input", "the parameters of \(owner) must be an object, got \(other.typeName)")
        }
    }

    private static func flag(_ value: JSONValue?, named name: String) throws(Problem) -> Bool? {
        switch value {
        case nil: return nil
        case .bool(let flag)?: return flag
        case let other?: throw Problem.badRequest("invalid-input", "parameter '\(name)' must be a boolean, got \(other.typeName)")
        }
    }

    private static func inputs(
        _ value: JSONValue?, model: LoadedModel, limits: CandorConfiguration.Limits, binary: inout BinaryTail
    ) throws(Problem) -> [Tensor] {
        guard case .array(let items)? = value else {
            throw Problem.badRequest("invalid-input", "'inputs' must be an array of tensors {name, shape, datatype, data}")
        }
        let declared = model.model.inputs
        var byName: [String: Tensor] = [:]
        var elements = 0
        for item in items {
            guard case .object(let input) = item else {
                throw Problem.badRequest(
                    "invalid-input", "each input must be an object {name, shape, datatype, data}, got \(item.typeName)")
            }
            if let unknown = input.keys.sorted().first(where: { !inputFields.contains($0) }) {
                throw Problem.badRequest(
                    "unknown-field", "unknown field '\(unknown)' in an input; accepted: \(inputFields.sorted().joined(separator: ", "))")
            }
            guard case .string(let name)? = input["name"], let info = declared.first(where: { $0.name == name }) else {
                throw Problem.badRequest(
                    "invalid-input",
                    "each input needs a 'name', one of the model's inputs: \(declared.map(\.name).joined(separator: ", "))")
            }
            guard byName[name] == nil else { throw Problem.badRequest("invalid-input", "input '\(name)' is given twice") }
            let tensor = try Self.tensor(
                input, info: info, model: model, elementBudget: limits.maxInputElements - elements, binary: &binary)
            guard tensor.shape[0] <= limits.maxBatchSize else {
                throw Problem(
                    .contentTooLarge, code: "batch-too-large",
                    detail: "\(tensor.shape[0]) instances exceed the limit of \(limits.maxBatchSize) per request")
            }
            elements += tensor.count
            byName[name] = tensor
        }
        let batches = try declared.map { info throws(Problem) in
            guard let tensor = byName[info.name] else {
                throw Problem.badRequest("invalid-input", "'inputs' lacks model input '\(info.name)'")
            }
            return tensor
        }
        guard Set(batches.map { $0.shape[0] }).count == 1 else {
            throw Problem.badRequest(
                "invalid-input", "every model input must have the same number of instances (the first size of its shape)")
        }
        return batches
    }

    private static func tensor(
        _ input: [String: JSONValue], info: TensorInfo, model: LoadedModel, elementBudget: Int, binary: inout BinaryTail
    ) throws(Problem) -> Tensor {
        let name = "input '\(info.name)'"
        let shape = try BinaryTensor.shape(input["shape"], name: name)
        let count = shape.reduce(1, *)
        guard count <= elementBudget else {
            throw Problem(
                .contentTooLarge, code: "input-too-large", detail: "the inputs hold more than the configured limit of elements")
        }
        guard case .string(let datatypeName)? = input["datatype"] else {
            throw Problem.badRequest("invalid-input", "\(name) needs a 'datatype' such as FP32")
        }
        guard let datatype = NumericElement(openInferenceName: datatypeName) else {
            throw Problem.badRequest(
                "invalid-input",
                "\(name): datatype '\(datatypeName)' is not taken; Candor's models take numbers: \(NumericElement.allCases.map(\.openInferenceName).joined(separator: ", "))"
            )
        }
        let parameters = try Self.parameters(input["parameters"], of: name)
        let allowingMissing = model.model is TreeEnsemble
        let scalars: [Float]
        switch (parameters["binary_data_size"], input["data"]) {
        case (.number(let size)?, nil):
            guard size == Double(count * datatype.byteCount) else {
                throw Problem.badRequest(
                    "invalid-input",
                    "\(name): binary_data_size is \(size), but shape \(shape) of \(datatypeName) takes \(count * datatype.byteCount) bytes")
            }
            let bytes = try binary.take(count * datatype.byteCount, for: info.name)
            scalars = bytes.withUnsafeBytes { NumericElement.floats($0, as: datatype, count: count) }
        case (nil, let data?):
            var values: [Float] = []
            values.reserveCapacity(count)
            try Self.flatten(data, into: &values, limit: count, name: name, allowingMissing: allowingMissing)
            guard values.count == count else {
                throw Problem.badRequest("invalid-input", "\(name): 'data' holds \(values.count) values; shape \(shape) needs \(count)")
            }
            scalars = values
        case (_?, _?):
            throw Problem.badRequest("invalid-input", "\(name) has both 'data' and binary_data_size; send one")
        case (nil, nil):
            throw Problem.badRequest("invalid-input", "\(name) has no 'data' (or binary data with binary_data_size)")
        case (let size?, nil):
            throw Problem.badRequest("invalid-input", "\(name): binary_data_size must be a number of bytes, got \(size.typeName)")
        }
        let tensor = try BinaryTensor.tensor(shape: shape, scalars: scalars, name: name, allowingMissing: allowingMissing)
        do throws(ExplanationError) { try TensorJSON.checkBatch(tensor, matches: info, name: name) } catch { throw Problem(error) }
        return tensor
    }

    /// A tensor's JSON data, row-major, flat or nested: numbers (booleans as 1 and 0; null,
    /// a missing value, only for tree ensembles), at most `limit` of them.
    private static func flatten(
        _ value: JSONValue, into values: inout [Float], limit: Int, name: String, allowingMissing: Bool
    ) throws(Problem) {
        switch value {
        case .array(let items):
            for item in items { try flatten(item, into: &values, limit: limit, name: name, allowingMissing: allowingMissing) }
            return
        case .number(let number):
            guard Float(number).isFinite else {
                throw Problem.badRequest("invalid-input", "\(name): \(number) is out of float32's range")
            }
            values.append(Float(number))
        case .bool(let flag): values.append(flag ? 1 : 0)
        case .null where allowingMissing: values.append(.nan)
        default:
            throw Problem.badRequest("invalid-input", "\(name): 'data' must hold numbers, got \(value.typeName)")
        }
        guard values.count <= limit else {
            throw Problem.badRequest("invalid-input", "\(name): 'data' holds more values than its shape")
        }
    }

    private static func outputs(_ value: JSONValue?, model: LoadedModel, binaryByDefault: Bool) throws(Problem) -> [RequestedOutput] {
        let declared = model.model.outputs
        guard let value else { return declared.indices.map { RequestedOutput(index: $0, binary: binaryByDefault) } }
        guard case .array(let items) = value else {
            throw Problem.badRequest("invalid-input", "'outputs' must be an array of {name, parameters}")
        }
        return try items.map { item throws(Problem) in
            guard case .object(let output) = item, case .string(let name)? = output["name"],
                let index = declared.firstIndex(where: { $0.name == name })
            else {
                throw Problem.badRequest(
                    "invalid-input",
                    "each requested output needs a 'name', one of the model's outputs: \(declared.map(\.name).joined(separator: ", "))")
            }
            if let unknown = output.keys.sorted().first(where: { $0 != "name" && $0 != "parameters" }) {
                throw Problem.badRequest("unknown-field", "unknown field '\(unknown)' in a requested output; accepted: name, parameters")
            }
            let parameters = try Self.parameters(output["parameters"], of: "output '\(name)'")
            return RequestedOutput(index: index, binary: try Self.flag(parameters["binary_data"], named: "binary_data") ?? binaryByDefault)
        }
    }
}

/// The Open Inference Protocol's inference response: `{"model_name", "id", "outputs":
/// [{"name", "shape", "datatype", "data"}]}`, the outputs asked for as binary data appended
/// raw after the JSON (whose length the `Inference-Header-Content-Length` header then gives).
struct OpenInferenceResponse {
    let bytes: [UInt8]
    /// The JSON part's length when binary data follows it.
    let jsonLength: Int?

    init(model: LoadedModel, id: String?, outputs: [Tensor], requested: [OpenInferenceRequest.RequestedOutput]) throws {
        struct Output: Encodable {
            let name: String
            let shape: [Int]
            let datatype = NumericElement.float32.openInferenceName
            let data: NestedTensor?
            let parameters: [String: Int]?
        }
        struct Body: Encodable {
            let modelName: String
            let id: String?
            let outputs: [Output]

            enum CodingKeys: String, CodingKey {
                case id, outputs
                case modelName = "model_name"
            }
        }
        var binary: [UInt8] = []
        var described: [Output] = []
        for wanted in requested {
            let tensor = outputs[wanted.index]
            let name = model.model.outputs[wanted.index].name
            if wanted.binary {
                for scalar in tensor.scalars { withUnsafeBytes(of: scalar.bitPattern.littleEndian) { binary.append(contentsOf: $0) } }
                described.append(Output(name: name, shape: tensor.shape, data: nil, parameters: ["binary_data_size": tensor.count * 4]))
            } else {
                // Flat, row-major, as the protocol's clients read it back.
                let flat = try Tensor(shape: [tensor.count], scalars: tensor.scalars)
                described.append(Output(name: name, shape: tensor.shape, data: NestedTensor(tensor: flat), parameters: nil))
            }
        }
        let json = try ResponseJSONEncoder.encode(Body(modelName: model.name, id: id, outputs: described))
        bytes = json + binary
        jsonLength = binary.isEmpty ? nil : json.count
    }
}
