import CandorTensor

/// A node's ONNX attributes, read by name. It records which attributes an operator read, so
/// the loader can refuse a node carrying one Candor would otherwise silently ignore.
public struct NodeAttributes: Sendable {
    private let attributes: [String: Onnx_AttributeProto]
    private let node: NodeIdentity
    private var readNames: Set<String> = []

    init(_ list: [Onnx_AttributeProto], node: NodeIdentity) throws(ModelError) {
        var attributes: [String: Onnx_AttributeProto] = [:]
        for attribute in list {
            guard attributes[attribute.name] == nil else {
                throw ModelError(.invalidModel, "\(node) has attribute '\(attribute.name)' twice")
            }
            guard !attribute.hasRefAttrName else {
                throw ModelError(
                    .unsupportedAttribute,
                    "\(node): attribute '\(attribute.name)' refers to a function attribute, which Candor does not support")
            }
            attributes[attribute.name] = attribute
        }
        self.attributes = attributes
        self.node = node
    }

    /// Names of attributes present but never read: the operator does not implement them.
    var unreadNames: [String] { attributes.keys.filter { !readNames.contains($0) }.sorted() }

    private mutating func take(_ name: String, _ type: Onnx_AttributeProto.AttributeType) throws(ModelError) -> Onnx_AttributeProto? {
        readNames.insert(name)
        guard let attribute = attributes[name] else { return nil }
        // Files older than IR version 3 leave `type` unset; trust the field then.
        if attribute.hasType && attribute.type != type {
            throw ModelError(.unsupportedAttribute, "\(node): attribute '\(name)' should be \(type) but is \(attribute.type)")
        }
        return attribute
    }

    public mutating func int(_ name: String, default value: Int) throws(ModelError) -> Int {
        guard let attribute = try take(name, .int) else { return value }
        guard let result = Int(exactly: attribute.i) else {
            throw ModelError(.unsupportedAttribute, "\(node): attribute '\(name)' is out of range")
        }
        return result
    }

    public mutating func float(_ name: String, default value: Float) throws(ModelError) -> Float {
        try take(name, .float)?.f ?? value
    }

    public mutating func floats(_ name: String) throws(ModelError) -> [Float]? {
        try take(name, .floats)?.floats
    }

    public mutating func ints(_ name: String) throws(ModelError) -> [Int64]? {
        try take(name, .ints)?.ints
    }

    public mutating func string(_ name: String) throws(ModelError) -> String? {
        guard let attribute = try take(name, .string) else { return nil }
        return String(decoding: attribute.s, as: UTF8.self)
    }

    public mutating func strings(_ name: String) throws(ModelError) -> [String]? {
        try take(name, .strings)?.strings.map { String(decoding: $0, as: UTF8.self) }
    }

    mutating func tensor(_ name: String) throws(ModelError) -> Onnx_TensorProto? {
        try take(name, .tensor)?.t
    }

    /// Refuses the node when it sets `name` at all.
    public mutating func refuse(_ name: String, reason: String) throws(ModelError) {
        readNames.insert(name)
        if attributes[name] != nil {
            throw ModelError(.unsupportedAttribute, "\(node): attribute '\(name)' is not supported: \(reason)")
        }
    }

    /// Reads the broadcasting attributes element-wise operators had before opset 7: `broadcast`
    /// (0, its default, asks for equal shapes, which NumPy broadcasting computes alike; 1 without
    /// `axis` matches B against A's trailing axes, as NumPy does) and `consumed_inputs` (a
    /// memory hint of opset 1). `axis`, which aligns B elsewhere, is refused.
    /// Reference: https://github.com/onnx/onnx/blob/main/docs/Changelog.md#Add-6
    public mutating func legacyBroadcast(opset: Int) throws(ModelError) {
        guard opset < 7 else { return }
        _ = try int("broadcast", default: 0)
        _ = try ints("consumed_inputs")
        try refuse("axis", reason: "broadcasting aligned at an axis (before opset 7) is not supported")
    }

    /// Whether the node sets `name`.
    public func has(_ name: String) -> Bool { attributes[name] != nil }
}
