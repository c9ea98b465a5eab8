/// Reads a request's `params` against a method's declarations: refuses unknown names, wrong
/// types and values out of range (naming the parameter and what is accepted), fills in
/// defaults, and records the effective value of every parameter for the response and the
/// cache key.
public struct ParameterReader: Sendable {
    private let raw: [String: JSONValue]
    private let specs: [String: ParameterSpec]
    private let method: String
    /// Every parameter's effective value after defaults; absent ones with no default omitted.
    public private(set) var effective: [String: JSONValue] = [:]

    public init(_ raw: [String: JSONValue], specs: [ParameterSpec], method: String) throws(ExplanationError) {
        self.raw = raw
        self.specs = Dictionary(specs.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
        self.method = method
        if let unknown = raw.keys.sorted().first(where: { self.specs[$0] == nil }) {
            let accepted = specs.map(\.name).joined(separator: ", ")
            throw ExplanationError(
                .invalidParameter,
                "unknown parameter '\(unknown)' for method \(method); accepted: \(accepted.isEmpty ? "none" : accepted)")
        }
        // The contract types every parameter; null is not one of its values.
        if let null = raw.keys.sorted().first(where: { raw[$0] == .null }) {
            throw ExplanationError(
                .invalidParameter, "parameter '\(null)' of \(method) is null: omit it to use its default, or give a value")
        }
    }

    mutating func value(_ name: String) -> (ParameterSpec, JSONValue?) {
        guard let spec = specs[name] else { return (ParameterSpec(name, .number, summary: ""), nil) }
        let value = raw[name] ?? spec.defaultValue
        if let value { effective[name] = value }
        return (spec, value)
    }

    func invalid(_ spec: ParameterSpec, _ detail: String) -> ExplanationError {
        ExplanationError(.invalidParameter, "parameter '\(spec.name)' of \(method) \(detail)")
    }

    private func checkRange(_ spec: ParameterSpec, _ number: Double) throws(ExplanationError) {
        if let minimum = spec.minimum, number < minimum {
            throw invalid(spec, "must be at least \(Self.format(minimum)), got \(Self.format(number))")
        }
        if let maximum = spec.maximum, number > maximum {
            throw invalid(spec, "must be at most \(Self.format(maximum)), got \(Self.format(number))")
        }
    }

    public static func format(_ number: Double) -> String {
        number == number.rounded() && abs(number) < 1e15 ? String(Int(number)) : String(number)
    }

    public mutating func bool(_ name: String) throws(ExplanationError) -> Bool {
        let (spec, value) = value(name)
        guard case .bool(let result)? = value else { throw invalid(spec, "must be true or false, got \(value?.typeName ?? "nothing")") }
        return result
    }

    /// An integer parameter, or nil when omitted and without default.
    public mutating func optionalInt(_ name: String) throws(ExplanationError) -> Int? {
        let (spec, value) = value(name)
        guard let value else { return nil }
        guard case .number(let number) = value, number == number.rounded(), abs(number) < 1e15 else {
            throw invalid(spec, "must be an integer, got \(value.typeName)")
        }
        try checkRange(spec, number)
        return Int(number)
    }

    public mutating func int(_ name: String) throws(ExplanationError) -> Int {
        guard let result = try optionalInt(name) else {
            throw ExplanationError(.invalidParameter, "parameter '\(name)' of \(method) is required")
        }
        return result
    }

    /// The `seed` parameter (declared with ``ParameterSpec/seed(of:)``).
    public mutating func seed() throws(ExplanationError) -> UInt64 {
        UInt64(try int("seed"))
    }

    /// A choice parameter (declared with ``ParameterSpec/choice(_:_:default:summary:)``) as
    /// its enum.
    public mutating func choice<Choice: RawRepresentable>(_ name: String, as type: Choice.Type) throws(ExplanationError) -> Choice
    where Choice.RawValue == String {
        let (spec, value) = value(name)
        let choices = if case .choice(let choices) = spec.kind { choices } else { [String]() }
        guard case .string(let string)? = value, choices.contains(string), let choice = Choice(rawValue: string) else {
            throw invalid(spec, "must be one of \(choices.joined(separator: ", "))")
        }
        return choice
    }

    /// Integers for each of `count` axes: one integer applies to every axis. Nil when the
    /// parameter is omitted and has no default.
    public mutating func integers(_ name: String, count: Int) throws(ExplanationError) -> [Int]? {
        let (spec, value) = value(name)
        func integer(_ value: JSONValue) throws(ExplanationError) -> Int {
            guard case .number(let number) = value, number == number.rounded(), abs(number) < 1e9 else {
                throw invalid(spec, "must hold integers, got \(value.typeName)")
            }
            try checkRange(spec, number)
            return Int(number)
        }
        switch value {
        case nil: return nil
        case .array(let items)?:
            guard items.count == count else {
                throw invalid(spec, "must have one entry per instance axis (\(count)), got \(items.count)")
            }
            var result: [Int] = []
            for item in items { result.append(try integer(item)) }
            return result
        case let single?:
            return Array(repeating: try integer(single), count: count)
        }
    }

    /// The raw JSON of a parameter whose shape only the method can check (baselines).
    public mutating func json(_ name: String) -> JSONValue? {
        value(name).1
    }

    /// Whether the request gives the parameter, as opposed to its default applying.
    public func isGiven(_ name: String) -> Bool {
        raw[name] != nil
    }

    /// A number parameter, or nil when omitted and without default.
    public mutating func optionalDouble(_ name: String) throws(ExplanationError) -> Double? {
        let (spec, value) = value(name)
        guard let value else { return nil }
        guard case .number(let number) = value, number.isFinite else { throw invalid(spec, "must be a number, got \(value.typeName)") }
        try checkRange(spec, number)
        return number
    }

    /// A string parameter, or nil when omitted and without default.
    public mutating func optionalString(_ name: String) throws(ExplanationError) -> String? {
        let (spec, value) = value(name)
        guard let value else { return nil }
        guard case .string(let string) = value, !string.isEmpty, string.count <= 4096 else {
            throw invalid(spec, "must be a non-empty string, got \(value.typeName)")
        }
        return string
    }

    /// A number parameter that has a default.
    public mutating func double(_ name: String) throws(ExplanationError) -> Double {
        guard let result = try optionalDouble(name) else {
            throw ExplanationError(.invalidParameter, "parameter '\(name)' of \(method) is required")
        }
        return result
    }

    /// A class parameter (kind `classLabel`) as an index into an output of `classCount`
    /// values: an integer, or one of `classNames`. Nil when omitted.
    public mutating func classLabel(_ name: String, classCount: Int, classNames: [String]?) throws(ExplanationError) -> Int? {
        let (spec, value) = value(name)
        switch value {
        case nil: return nil
        case .number(let number)?:
            guard number == number.rounded(), number >= 0, number < Double(classCount) else {
                throw invalid(spec, "must be a class index from 0 to \(classCount - 1), got \(Self.format(number))")
            }
            return Int(number)
        case .string(let label)?:
            guard let index = classNames?.firstIndex(of: label), index < classCount else {
                let known =
                    classNames.map { "one of \($0.joined(separator: ", "))" } ?? "a class index (the model's sidecar names no classes)"
                throw invalid(spec, "names no class of this model: '\(label.prefix(100))'; give \(known)")
            }
            return index
        case let other?:
            throw invalid(spec, "must be a class index or a class name, got \(other.typeName)")
        }
    }

    /// An interval parameter `[low, high]` of finite numbers, low ≤ high; nil when omitted.
    public mutating func interval(_ name: String) throws(ExplanationError) -> ClosedRange<Double>? {
        let (spec, value) = value(name)
        guard let value else { return nil }
        guard let range = Self.interval(value) else { throw invalid(spec, "must be [low, high], two finite numbers with low ≤ high") }
        return range
    }

    private static func interval(_ value: JSONValue) -> ClosedRange<Double>? {
        guard case .array(let bounds) = value, bounds.count == 2, let low = bounds[0].doubleValue, let high = bounds[1].doubleValue,
            low.isFinite, high.isFinite, low <= high
        else { return nil }
        return low...high
    }

    /// A features parameter as feature indices (sorted, distinct) of a flat input of `count`
    /// features named `names`; the string "all" is every feature. Nil when omitted.
    public mutating func features(_ name: String, count: Int, names: [String]?) throws(ExplanationError) -> [Int]? {
        let (spec, value) = value(name)
        switch value {
        case nil: return nil
        case .string("all")?: return Array(0..<count)
        case .array(let items)?:
            var indices: Set<Int> = []
            for item in items { indices.insert(try feature(item, spec: spec, count: count, names: names)) }
            return indices.sorted()
        case let other?:
            throw invalid(spec, "must be \"all\" or an array of feature names or indices, got \(other.typeName)")
        }
    }

    /// A feature-groups parameter as groups of feature indices (each sorted and distinct, in
    /// the order given) of a flat input of `count` features named `names`. Every group must be
    /// non-empty, and no feature may be in two groups. Nil when omitted.
    public mutating func featureGroups(_ name: String, count: Int, names: [String]?) throws(ExplanationError) -> [[Int]]? {
        let (spec, value) = value(name)
        guard let value else { return nil }
        guard case .array(let groups) = value, !groups.isEmpty else {
            throw invalid(spec, "must be a non-empty array of feature groups (arrays of feature names or indices), got \(value.typeName)")
        }
        var seen: Set<Int> = []
        var result: [[Int]] = []
        for (position, group) in groups.enumerated() {
            guard case .array(let items) = group, !items.isEmpty else {
                throw invalid(spec, "must hold non-empty arrays of features; group \(position) is \(group.typeName)")
            }
            var indices: Set<Int> = []
            for item in items { indices.insert(try feature(item, spec: spec, count: count, names: names)) }
            if let repeated = indices.sorted().first(where: seen.contains) {
                let label = names.flatMap { repeated < $0.count ? $0[repeated] : nil } ?? String(repeated)
                throw invalid(spec, "puts feature '\(label)' in more than one group")
            }
            seen.formUnion(indices)
            result.append(indices.sorted())
        }
        return result
    }

    /// A feature-ranges parameter as a range per feature index; nil when omitted.
    public mutating func featureRanges(_ name: String, count: Int, names: [String]?) throws(ExplanationError) -> [Int: ClosedRange<Double>]?
    {
        let (spec, value) = value(name)
        guard let value else { return nil }
        guard case .object(let fields) = value else {
            throw invalid(spec, "must be an object of [low, high] ranges by feature name, got \(value.typeName)")
        }
        var ranges: [Int: ClosedRange<Double>] = [:]
        for (key, bounds) in fields.sorted(by: { $0.key < $1.key }) {
            let index = try feature(Int(key).map { .number(Double($0)) } ?? .string(key), spec: spec, count: count, names: names)
            guard let range = Self.interval(bounds) else {
                throw invalid(spec, "must give '\(key.prefix(100))' a range [low, high] of two finite numbers with low ≤ high")
            }
            ranges[index] = range
        }
        return ranges
    }

    /// One feature reference: a name from `names`, or an index below `count`.
    func feature(_ value: JSONValue, spec: ParameterSpec, count: Int, names: [String]?) throws(ExplanationError) -> Int {
        switch value {
        case .number(let number) where number == number.rounded() && number >= 0 && number < Double(count):
            return Int(number)
        case .string(let label):
            if let index = names?.firstIndex(of: label), index < count { return index }
            throw invalid(
                spec,
                "names no feature of this model: '\(label.prefix(100))'\(names == nil ? " (the model's sidecar names no features: use indices)" : "")"
            )
        case .number(let number):
            throw invalid(spec, "must name features by name or by index from 0 to \(count - 1), got \(Self.format(number))")
        default:
            throw invalid(spec, "must name features by name or by index, got \(value.typeName)")
        }
    }

    /// An object parameter (kind `object`), or nil when omitted.
    public mutating func object(_ name: String) throws(ExplanationError) -> [String: JSONValue]? {
        let (spec, value) = value(name)
        guard let value else { return nil }
        guard case .object(let fields) = value else { throw invalid(spec, "must be an object, got \(value.typeName)") }
        return fields
    }

    /// Records the value a method chose for a parameter the request left out (a default that
    /// depends on the model or the data), so the response and the cache key show it.
    public mutating func record(_ name: String, _ value: JSONValue) {
        effective[name] = value
    }
}
