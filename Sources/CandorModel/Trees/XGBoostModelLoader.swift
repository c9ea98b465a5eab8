import Foundation

/// Reads the JSON model format of XGBoost (`Booster.save_model("model.json")`) into a
/// `TreeEnsemble`. It keeps what ONNX conversions drop — each node's Hessian sum
/// (`sum_hessian`), the cover path-dependent TreeSHAP needs. Numerical splits only: a model
/// with categorical splits is refused, naming the tree.
///
/// Format: https://xgboost.readthedocs.io/en/stable/tutorials/saving_model.html and the
/// schema `doc/model.schema` in the XGBoost repository.
public enum XGBoostModelLoader {
    struct Document: Decodable {
        let learner: Learner
    }

    struct Learner: Decodable {
        let gradientBooster: GradientBooster
        let learnerModelParam: ModelParam
        let objective: Objective

        enum CodingKeys: String, CodingKey {
            case gradientBooster = "gradient_booster"
            case learnerModelParam = "learner_model_param"
            case objective
        }
    }

    struct GradientBooster: Decodable {
        let name: String
        let model: BoosterModel?
    }

    struct BoosterModel: Decodable {
        let trees: [Tree]
        let treeInfo: [Int]

        enum CodingKeys: String, CodingKey {
            case trees
            case treeInfo = "tree_info"
        }
    }

    struct Tree: Decodable {
        let leftChildren: [Int]
        let rightChildren: [Int]
        let splitIndices: [Int]
        let splitConditions: [Double]
        let defaultLeft: [Int]
        let sumHessian: [Double]
        let splitType: [Int]?

        enum CodingKeys: String, CodingKey {
            case leftChildren = "left_children"
            case rightChildren = "right_children"
            case splitIndices = "split_indices"
            case splitConditions = "split_conditions"
            case defaultLeft = "default_left"
            case sumHessian = "sum_hessian"
            case splitType = "split_type"
        }
    }

    struct ModelParam: Decodable {
        let baseScore: String
        let numClass: String
        let numFeature: String

        enum CodingKeys: String, CodingKey {
            case baseScore = "base_score"
            case numClass = "num_class"
            case numFeature = "num_feature"
        }
    }

    struct Objective: Decodable {
        let name: String
    }

    /// The largest model file read (bytes).
    public static let maximumBytes = 512 << 20

    public static func load(_ data: Data) throws(ModelError) -> TreeEnsemble {
        guard data.count <= maximumBytes else {
            throw ModelError(.tooLarge, "the XGBoost model has \(data.count) bytes, more than the \(maximumBytes) read")
        }
        let document: Document
        do { document = try JSONDecoder().decode(Document.self, from: data) } catch {
            throw ModelError(.invalidModel, "not an XGBoost JSON model: \(error)")
        }
        let learner = document.learner
        guard learner.gradientBooster.name == "gbtree", let booster = learner.gradientBooster.model else {
            throw ModelError(
                .unsupportedFeature, "XGBoost booster '\(learner.gradientBooster.name)' is not supported; Candor reads gbtree models")
        }
        guard let features = Int(learner.learnerModelParam.numFeature), features > 0, features <= 1 << 20,
            let classes = Int(learner.learnerModelParam.numClass), (0...10_000).contains(classes)
        else {
            throw ModelError(.invalidModel, "the XGBoost model's num_feature or num_class is not a usable count")
        }
        let columns = max(classes, 1)
        let transform: TreeEnsemble.Transform
        switch learner.objective.name {
        case "binary:logistic", "reg:logistic":
            guard columns == 1 else { throw ModelError(.unsupportedFeature, "a logistic XGBoost model with \(columns) outputs") }
            transform = .logistic
        case "reg:gamma", "reg:tweedie":
            throw ModelError(.unsupportedFeature, "XGBoost objective '\(learner.objective.name)' (a log link) is not supported yet")
        case "binary:logitraw": transform = .identity
        case "multi:softprob", "multi:softmax": transform = .softmax
        case let name where name.hasPrefix("reg:"): transform = .identity
        default:
            throw ModelError(.unsupportedFeature, "XGBoost objective '\(learner.objective.name)' is not supported")
        }
        // base_score: one number, or (XGBoost 3) a bracketed list with one per output column.
        let scores = learner.learnerModelParam.baseScore.trimmingCharacters(in: CharacterSet(charactersIn: "[] "))
            .split(separator: ",").map { Double($0.trimmingCharacters(in: .whitespaces)) }
        guard !scores.isEmpty, scores.allSatisfy({ $0?.isFinite == true }), scores.count == 1 || scores.count == columns else {
            throw ModelError(
                .invalidModel, "the XGBoost model's base_score '\(learner.learnerModelParam.baseScore)' is not one number per output")
        }
        // base_score is stored in the prediction's space; the margin starts at its inverse
        // link (the logit for logistic objectives).
        var base: [Double] = []
        for score in scores.compactMap({ $0 }) {
            if transform == .logistic {
                guard score > 0, score < 1 else { throw ModelError(.invalidModel, "a logistic model's base_score must lie in (0, 1)") }
                base.append(log(score / (1 - score)))
            } else {
                base.append(score)
            }
        }
        if base.count == 1 { base = Array(repeating: base[0], count: columns) }
        guard booster.trees.count == booster.treeInfo.count else {
            throw ModelError(
                .invalidModel, "the XGBoost model lists \(booster.trees.count) trees but \(booster.treeInfo.count) tree_info entries")
        }
        var trees: [DecisionTree] = []
        for (index, tree) in booster.trees.enumerated() {
            if let types = tree.splitType, types.contains(where: { $0 != 0 }) {
                throw ModelError(.unsupportedFeature, "XGBoost tree \(index) has categorical splits, which Candor does not support")
            }
            let leaves = tree.leftChildren.map { $0 == -1 }
            do {
                trees.append(
                    try DecisionTree(
                        left: tree.leftChildren, right: tree.rightChildren,
                        feature: zip(tree.splitIndices, leaves).map { $1 ? 0 : $0 },
                        // XGBoost compares in float32: the float32 threshold, exactly, in Double.
                        threshold: tree.splitConditions.map { Double(Float($0)) }, defaultLeft: tree.defaultLeft.map { $0 != 0 },
                        value: zip(tree.splitConditions, leaves).map { $1 ? $0 : 0 }, cover: tree.sumHessian, featureCount: features))
            } catch {
                throw ModelError(.invalidModel, "XGBoost tree \(index): \(error)")
            }
        }
        return try TreeEnsemble(
            trees: trees, treeColumn: booster.treeInfo, baseMargin: base, featureCount: features,
            transform: transform)
    }
}
