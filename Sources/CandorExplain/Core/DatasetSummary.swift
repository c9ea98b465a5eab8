import CandorTensor

/// What the service knows about the data a model was trained on, from the model's sidecar:
/// the distributions that the sampling methods draw absent or perturbed features from
/// (KernelSHAP's background rows, LIME's discretizer). Everything is optional; a method that
/// needs a part the model lacks asks the client to send it in the request instead.
public struct DatasetSummary: Sendable {
    /// The features of a single flat input, in order, for rules such as `petal width (cm) > 0.79`.
    public var featureNames: [String]?
    /// The classes of the model's outputs, in order, so a request may name a class.
    public var classNames: [String]?
    /// Which values each feature may take (whole numbers, category codes, immutable ones).
    public var domains: FeatureDomains
    /// Per-feature statistics of the training data (LIME's discretizer and scaler).
    public var statistics: TrainingStatistics?
    /// Reference rows, one tensor per model input shaped [rows] + instance shape.
    public var background: [Tensor]?
    /// Where `background` came from (the sidecar's file name), for messages.
    public var backgroundSource: String?

    public init(
        featureNames: [String]? = nil, classNames: [String]? = nil, domains: FeatureDomains = .none,
        statistics: TrainingStatistics? = nil, background: [Tensor]? = nil, backgroundSource: String? = nil
    ) {
        self.featureNames = featureNames
        self.classNames = classNames
        self.domains = domains
        self.statistics = statistics
        self.background = background
        self.backgroundSource = backgroundSource
    }

    public static let none = DatasetSummary()
}

/// Training-data statistics of each feature of a flat input.
public struct TrainingStatistics: Sendable, Equatable {
    /// Mean and population standard deviation (ddof = 0) per feature.
    public var mean: [Double]?
    public var std: [Double]?
    /// Each feature's quartile bins, as LIME's quartile discretizer forms them.
    public var bins: [QuartileBins]?
    /// The smallest and largest value of each feature in the training data (the range a
    /// counterfactual may move a feature in, unless a request permits another).
    public var minimum: [Double]?
    public var maximum: [Double]?

    public init(
        mean: [Double]? = nil, std: [Double]? = nil, bins: [QuartileBins]? = nil, minimum: [Double]? = nil, maximum: [Double]? = nil
    ) {
        self.mean = mean
        self.std = std
        self.bins = bins
        self.minimum = minimum
        self.maximum = maximum
    }
}
