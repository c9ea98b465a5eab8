import CandorModel
import CandorTensor

/// Partition SHAP on text: Owen values over SHAP's hierarchy of a text's tokens (Lundberg et
/// al., SHAP's `PartitionExplainer` with its `Text` masker, 0.51). Each token is a player;
/// switching it off writes the mask token in its place and the model reads the text tokenized
/// again (the server's `TextSamples`); the hierarchy (the server's, from SHAP's
/// `partition_tree`) groups pieces of words, then words into phrases and clauses, and the
/// values are Shapley values of each split, recursively (`OwenTraversal`): exact Owen values
/// when `max_evals` reaches every token, SHAP's budgeted approximation otherwise. They sum to
/// f(text) − f(every token masked), `base_value`.
public struct PartitionShap: Explainer {
    /// SHAP's default `max_evals`.
    public static let defaultMaxEvals = 500
    /// The most evaluations one text may ask for (each waiting visit holds a mask of the text).
    public static let maximumMaxEvals = 20_000
    /// The most tokens of one text (the hierarchy is built in O(tokens²), and each waiting visit
    /// holds a mask of the text).
    public static let maximumTokens = 1024
    /// The most masked texts evaluated per request: max_evals × texts.
    public static let maximumEvaluations = 1 << 20
    /// SHAP's Text masker's `default_batch_size`.
    public static let defaultBatchSize = 5

    public let descriptor = MethodDescriptor(
        name: "partition_shap", family: "shapley",
        summary:
            "Owen values over SHAP's hierarchy of a text's tokens, masked tokens written as the mask token (text only); returns base_value",
        reference: "SHAP PartitionExplainer with the Text masker", requirement: .text,
        checkedAgainst:
            "SHAP 0.51 `PartitionExplainer` with `maskers.Text` on the demo text model: five reviews with max_evals 500 and three cut short by it, per token and output; the masker's segments, hierarchy and masked texts on two tokenizers",
        details: """
            SHAP's Partition explainer with its Text masker, as `shap.Explainer(f, tokenizer)` runs on text.
            Each token of the text is a player; switching it off writes ` [MASK]` (the tokenizer's mask
            token, `mask_token`) in place of its segment — the token's text up to the next token — and the
            model reads the result tokenized again, its whitespace collapsed; the special tokens at either
            end are never masked. The players are grouped by SHAP's heuristic hierarchy of the text (word
            pieces first, then words, phrases and clauses, across commas, connectors and sentence ends
            last), and the values are Owen values: the Shapley value of each split of a group into its
            two halves, weighted down the hierarchy. They sum to f(text) − `base_value`, the output with
            every token masked.

            The traversal visits the splits that change the output most first; when `max_evals` runs out
            the groups not split keep their whole contribution, shared among their tokens by size. How
            many evaluations reach every token depends on the hierarchy's depth (a split at depth d is
            visited 2^d times): SHAP's default, 500, reaches every token of most reviews of 15 tokens,
            not of a 9-token chain. SHAP breaks ties between equal changes at random; here the first
            queued goes first. `batch_size` (SHAP's, 5 for text) decides which visits one budget
            reaches; when the budget reaches every token the traversal is taken a level of the
            hierarchy at a time, in large model calls. At most 1,024 tokens per text. The answer has one value per
            token, special tokens included (their masking changes nothing, so they get only a share of
            groups left unsplit), `base_value`, and `clustering`: the hierarchy as SHAP's matrix, a row
            [left, right, height, size] per merge (nodes past the tokens are merges, in order). A pair
            of texts is not masked: send one text.
            """,
        parameters: [
            ParameterSpec(
                "max_evals", .integer, default: .number(Double(defaultMaxEvals)), minimum: 2, maximum: Double(maximumMaxEvals),
                summary: "model evaluations per text, the fully masked and unmasked texts included (SHAP's max_evals)"),
            ParameterSpec(
                "batch_size", .integer, default: .number(Double(defaultBatchSize)), minimum: 1, maximum: 10_000,
                summary:
                    "masks gathered before the model is called while max_evals lasts (SHAP's batch_size): which splits a budget reaches depends on it"
            ),
        ] + TokenMasking.parameters)

    public init() {}

    public func prepare(_ parameters: [String: JSONValue], for problem: ExplanationProblem) throws(ExplanationError) -> any ExplanationPlan
    {
        throw ExplanationError(
            .methodNotApplicable,
            "partition_shap masks the tokens of text instances ({\"text\": ...}) with SHAP's Text masker; for numeric inputs use kernel_shap or exact_shapley"
        )
    }

    /// Partition SHAP on text instances: each one's tokens (`TextSamples`, the masked text
    /// tokenized again) and their hierarchy. `mask_token` and `collapse_mask_token` are given,
    /// as the server resolved them (`TokenMasking`).
    public func prepareText(
        _ parameters: [String: JSONValue], texts: [any TextSamples], hierarchies: [FeatureHierarchy], for problem: ExplanationProblem
    ) throws(ExplanationError) -> any ExplanationPlan {
        var reader = try ParameterReader(parameters, specs: descriptor.parameters, method: descriptor.name)
        let maxEvals = try reader.int("max_evals")
        let batchSize = try reader.int("batch_size")
        try TokenMasking.record(&reader)
        guard texts.count == problem.batchSize, hierarchies.count == texts.count,
            zip(texts, hierarchies).allSatisfy({ $0.featureCount == $1.count })
        else {
            throw ExplanationError(
                .modelFailure, "\(texts.count) texts and \(hierarchies.count) hierarchies for \(problem.batchSize) instances")
        }
        // Each waiting visit holds a mask of its text, and each evaluation a masked text.
        let widest = texts.map(\.featureCount).max() ?? 0
        let evaluations = maxEvals.multipliedReportingOverflow(by: texts.count)
        guard widest <= Self.maximumTokens, !evaluations.overflow, evaluations.partialValue <= Self.maximumEvaluations else {
            throw ExplanationError(
                .tooLarge,
                "partition_shap takes texts of at most \(Self.maximumTokens) tokens and \(Self.maximumEvaluations) evaluations per request: this one has \(widest) tokens and asks for \(maxEvals) × \(texts.count) texts"
            )
        }
        return Plan(
            effectiveParameters: reader.effective, texts: texts, hierarchies: hierarchies, budget: maxEvals - 2, batchSize: batchSize)
    }

    struct Plan: ExplanationPlan {
        let effectiveParameters: [String: JSONValue]
        let texts: [any TextSamples]
        let hierarchies: [FeatureHierarchy]
        let budget: Int
        let batchSize: Int

        func run(_ problem: ResolvedProblem, context: ExplanationContext) throws(ExplanationError) -> [InstanceAttribution] {
            try zip(texts, hierarchies).enumerated().map { row, text throws(ExplanationError) in
                try context.checkCancellation()
                let (samples, hierarchy) = text
                let evaluate = { (masks: [[Bool]]) throws(ExplanationError) -> [[Double]] in
                    try samples.outputs(keeping: masks, problem: problem, row: row, context: context)
                }
                let ends = try evaluate([[Bool](repeating: false, count: hierarchy.count), [Bool](repeating: true, count: hierarchy.count)])
                let traversal = OwenTraversal(hierarchy: hierarchy, budget: budget, batchSize: batchSize)
                let nodes = try traversal.nodeValues(empty: ends[0], full: ends[1], evaluate: evaluate).values
                let target = problem.targets[row]
                let values = hierarchy.lowered(nodes).map { Float($0[target]) }
                do {
                    var attribution = InstanceAttribution(attributions: [try Tensor(shape: [values.count], scalars: values)])
                    attribution.extras["base_value"] = .number(ends[0][target])
                    attribution.extras["clustering"] = .array(hierarchy.clustering.map { .array($0.map(JSONValue.number)) })
                    return attribution
                } catch {
                    throw ExplanationError(.modelFailure, "\(error)")
                }
            }
        }
    }
}
