/// The declaration of one method parameter: its name, type, default and limits. The same
/// declaration drives validation of requests and the listing at `GET /v1/methods`, so the two
/// cannot drift apart.
public struct ParameterSpec: Sendable, Equatable {
    public enum Kind: Sendable, Equatable {
        case boolean
        case integer
        case number
        /// One of a fixed list of strings.
        case choice([String])
        /// A number for every element, an array shaped like one instance, or (multi-input
        /// models) an object of those by input name.
        case baselines
        /// A group id (integer ≥ 0) per element, shaped like one instance (or, for a model with
        /// several inputs, an object of those by input name).
        case featureMask
        /// One integer, or one per axis of an instance.
        case integers
        /// An array of instances (an object of those by input name for a model with several
        /// inputs), or "model" for the reference rows the model's sidecar names.
        case instances
        /// A free string (a tensor name).
        case text
        /// A class: its index into the explained output, or its name from the sidecar.
        case classLabel
        /// Two numbers `[low, high]`, low ≤ high.
        case interval
        /// Features of a flat input, each by name (the sidecar's `feature_names`) or index.
        case features
        /// An object of `[low, high]` ranges keyed by feature name (or index).
        case featureRanges
        /// An array of feature groups, each an array of features of a flat input (by name or
        /// index) that are treated together.
        case featureGroups
        /// Features of a flat input (by name or index), each alone or in a pair: the items of a
        /// partial-dependence plot.
        case featureItems
        /// A JSON object passed on whole (another method's parameters).
        case object
    }

    public let name: String
    public let kind: Kind
    /// The value used when the request omits the parameter; nil when it is optional with no
    /// default (the method then decides, as for `internal_batch_size`).
    public let defaultValue: JSONValue?
    public let minimum: Double?
    public let maximum: Double?
    public let summary: String

    public init(
        _ name: String, _ kind: Kind, default defaultValue: JSONValue? = nil, minimum: Double? = nil,
        maximum: Double? = nil, summary: String
    ) {
        self.name = name
        self.kind = kind
        self.defaultValue = defaultValue
        self.minimum = minimum
        self.maximum = maximum
        self.summary = summary
    }

    /// The JSON type name used in `/v1/methods` and `openapi.yaml`.
    public var typeName: String {
        switch kind {
        case .boolean: "boolean"
        case .integer: "integer"
        case .number: "number"
        case .choice: "string"
        case .baselines: "baselines"
        case .featureMask: "feature_mask"
        case .integers: "integers"
        case .instances: "instances"
        case .text: "string"
        case .classLabel: "class"
        case .interval: "interval"
        case .features: "features"
        case .featureRanges: "feature_ranges"
        case .featureGroups: "feature_groups"
        case .featureItems: "feature_items"
        case .object: "object"
        }
    }
}

extension ParameterSpec {
    /// `baselines`, the reference input (default 0), as every comparison method declares it.
    static func baselines(_ summary: String) -> ParameterSpec {
        ParameterSpec("baselines", .baselines, default: 0.0, summary: summary)
    }

    /// `feature_mask`, the feature groups of the perturbation methods.
    static func featureMask(_ summary: String) -> ParameterSpec {
        ParameterSpec("feature_mask", .featureMask, summary: summary)
    }

    /// `perturbations_per_eval`: how many perturbations of `what` share one forward pass.
    static func perturbationsPerEval(of what: String) -> ParameterSpec {
        ParameterSpec(
            "perturbations_per_eval", .integer, minimum: 1, maximum: 1_000_000,
            summary: "most \(what) evaluated in one pass (default: as many as the memory budget allows)")
    }

    /// `seed`: the seed of a method's random draws (0 to 2³² − 1, default 0), so equal requests
    /// give equal answers.
    static func seed(of what: String) -> ParameterSpec {
        ParameterSpec("seed", .integer, default: 0, minimum: 0, maximum: 4_294_967_295, summary: "seed of \(what)")
    }

    /// A parameter whose value is one of `cases` (default: every case of `Choice`), read back
    /// with ``ParameterReader/choice(_:as:)`` as that enum, so methods switch over cases the
    /// compiler checks rather than over strings.
    static func choice<Choice: RawRepresentable & CaseIterable>(
        _ name: String, _ cases: [Choice] = Array(Choice.allCases), default defaultValue: Choice?, summary: String
    ) -> ParameterSpec where Choice.RawValue == String {
        ParameterSpec(name, .choice(cases.map(\.rawValue)), default: defaultValue.map { .string($0.rawValue) }, summary: summary)
    }
}
