import Synchronization

/// Values derived from a model once, on first use, and kept with it for as long as it is
/// loaded (TreeSHAP's per-tree tables): one per value type, shared by every copy of the model.
public final class ModelMemo: Sendable {
    private let values = Mutex<[ObjectIdentifier: any Sendable]>([:])

    public init() {}

    /// The value of type `Value` kept for this model, made by `make` the first time. Callers
    /// asking at once wait for the first to make it.
    public func value<Value: Sendable>(_ type: Value.Type = Value.self, make: () -> Value) -> Value {
        values.withLock { values in
            if let value = values[ObjectIdentifier(Value.self)] as? Value { return value }
            let value = make()
            values[ObjectIdentifier(Value.self)] = value
            return value
        }
    }
}
