/// Which values each feature of a flat input can take, as the model's sidecar declares them
/// (`integer_features`, `categorical_features`, `immutable_features`): what a counterfactual
/// must respect to be an input the world could produce. A count of credit lines is a whole
/// number, a home-ownership code is one of its codes, and an applicant's age is not something
/// a recommendation may change.
public struct FeatureDomains: Sendable, Equatable {
    /// Features that take whole numbers.
    public var integer: Set<Int>
    /// Features that take one of listed values (the numeric codes the model reads), sorted.
    public var categories: [Int: [Double]]
    /// Features no counterfactual may change, whatever a request says.
    public var immutable: Set<Int>

    public init(integer: Set<Int> = [], categories: [Int: [Double]] = [:], immutable: Set<Int> = []) {
        self.integer = integer
        self.categories = categories.mapValues { Array(Set($0)).sorted() }
        self.immutable = immutable
    }

    public static let none = FeatureDomains()

    /// The domains a sidecar declares by feature name, resolved against the model's feature
    /// names: an unknown name, a categorical feature without values or with a value that is
    /// not a finite number, or a feature declared both integer and categorical is refused.
    public init(
        integerNames: [String], categoricalValues: [String: [Double]], immutableNames: [String], featureNames: [String]?
    ) throws(DatasetSummary.Invalid) {
        func index(_ name: String, key: String) throws(DatasetSummary.Invalid) -> Int {
            guard let featureNames else {
                throw DatasetSummary.Invalid(description: "\(key) names features, but the sidecar has no feature_names to find them in")
            }
            guard let index = featureNames.firstIndex(of: name) else {
                throw DatasetSummary.Invalid(description: "\(key) names '\(name)', which is not one of the feature_names")
            }
            return index
        }
        var integer: Set<Int> = []
        for name in integerNames { integer.insert(try index(name, key: "integer_features")) }
        var categories: [Int: [Double]] = [:]
        for (name, values) in categoricalValues.sorted(by: { $0.key < $1.key }) {
            let feature = try index(name, key: "categorical_features")
            guard !values.isEmpty, values.count <= Self.maximumCategories, values.allSatisfy(\.isFinite) else {
                throw DatasetSummary.Invalid(
                    description:
                        "categorical_features '\(name)' must list between 1 and \(Self.maximumCategories) finite values (the codes the model reads)"
                )
            }
            guard !integer.contains(feature) else {
                throw DatasetSummary.Invalid(description: "'\(name)' is declared both integer and categorical; declare it once")
            }
            categories[feature] = values
        }
        var immutable: Set<Int> = []
        for name in immutableNames { immutable.insert(try index(name, key: "immutable_features")) }
        self.init(integer: integer, categories: categories, immutable: immutable)
    }

    /// The most values one categorical feature may list.
    public static let maximumCategories = 10_000
}
