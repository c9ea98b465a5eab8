import CandorModel
import CandorTensor

/// Wachter, Mittelstadt & Russell's counterfactual ("Counterfactual Explanations without
/// Opening the Black Box", Harvard JOLT 2018, eq. 2), searched as Alibi's `Counterfactual`
/// does: minimise λ·(f_t(x′) − p)² + d(x, x′), f_t the probability of the target class (the
/// explained output itself when it is a probability vector, its softmax otherwise; for a model
/// with one output value, that value with p the middle of `desired_range`) and d the
/// MAD-scaled L1 distance, by gradient descent for each λ of a search over λ.
///
/// The descent runs in MAD units u = (x′ − x)/MAD over the features that may vary, with the
/// exact gradient of the model and a proximal step for the L1 term (soft thresholding, which
/// sets unneeded changes exactly to zero), a learning rate decaying linearly from
/// `learning_rate_init` to 0 over `max_iter` steps (Alibi's polynomial decay of power 1), and
/// each step projected onto the permitted ranges. A point counts as a counterfactual when it
/// reaches the outcome and, for classes, |f_t − `target_proba`| ≤ `tol` (Alibi's acceptance
/// test). λ starts at `lam_init`; after each descent it is bisected between the largest λ
/// that found none and the smallest that found one, or multiplied by 10 while none has, for
/// `max_lam_steps` descents. The nearest counterfactual met is kept; `total_cfs` > 1 starts
/// further descents from seeded random points near x. Whole-numbered and categorical
/// features are relaxed during the descent and rounded at the end; a counterfactual that
/// rounding moves off the outcome is dropped, one it leaves short of `target_proba` − `tol`
/// kept unrefined. What remains is made sparse as the other counterfactual
/// methods' answers are (``CounterfactualSearch/simplified(_:context:keeping:)``), keeping
/// the acceptance test: the proximal steps leave small changes on features the answer does
/// not need while λ is large.
public struct Wachter: Explainer {
    public let descriptor = MethodDescriptor(
        name: "wachter", family: "counterfactual",
        summary: "the nearest input the model gives the desired class probability (or value range), by gradient descent on Wachter's loss",
        reference: "Wachter et al. 2017; Alibi Counterfactual", requirement: .differentiable,
        checkedAgainst:
            "its definition: every answer re-predicted and checked against target_proba ± tol, constraints kept, a linear model's exact nearest counterfactual reached within 2%",
        details: """
            Minimises λ·(f_t(x′) − target_proba)² + Σⱼ |x′ⱼ − xⱼ| / MADⱼ over the features that may vary,
            f_t the target class's probability (the output's softmax unless it already is a probability
            vector; for one output value, that value and the middle of `desired_range`). The descent runs in
            MAD units with the model's exact gradient, a proximal (soft-thresholding) step for the L1 term,
            a learning rate decaying linearly from `learning_rate_init` to 0 over `max_iter` steps
            (stopping early after `early_stop` steps without improvement), and each step kept within the
            permitted ranges. A point is a counterfactual when it reaches the outcome and, for classes,
            |f_t − target_proba| ≤ `tol`, as Alibi's `Counterfactual` accepts one. λ starts at `lam_init`
            and, after each of `max_lam_steps` descents, is bisected between the largest λ that found none
            and the smallest that found one (multiplied by 10 while none has). The nearest counterfactual
            met is returned; `total_cfs` > 1 adds descents from seeded random starts near the instance.
            Whole-numbered and categorical features are relaxed during the descent and rounded at the end;
            a counterfactual that rounding moves off the outcome is dropped (one it only leaves short of
            target_proba − tol is kept as it is). Each is then made sparse as the other
            counterfactual methods' are (changed features restored, or moved back toward the instance,
            while the acceptance test still holds). With "any other class" the target is, at each
            step, the most probable class other than the prediction (Alibi's `target_class="other"`).
            The descent is local: on the dice-ml fixtures' MLPs (with target_proba 0.5, tol 0.5, so that any
            point of the class counts) it ends up to twice as far as `dice`, and on a few instances finds
            none where `dice` does; prefer `dice` for the nearest answer, `wachter` for a gradient-based
            one that reaches a chosen probability.
            """,
        parameters: CounterfactualSetting.parameters(maximumTotal: 5) + [
            ParameterSpec(
                "target_proba", .number, default: 1.0, minimum: 0, maximum: 1, summary: "the target class probability the loss pulls toward"
            ),
            ParameterSpec(
                "tol", .number, default: 0.05, minimum: 0, maximum: 1,
                summary: "how close to target_proba a counterfactual's probability must be"),
            ParameterSpec("lam_init", .number, default: 0.1, minimum: 1e-6, maximum: 1e6, summary: "the first λ"),
            ParameterSpec("max_lam_steps", .integer, default: 10, minimum: 1, maximum: 50, summary: "descents, one per λ"),
            ParameterSpec("max_iter", .integer, default: 1000, minimum: 1, maximum: 100_000, summary: "gradient steps per descent"),
            ParameterSpec(
                "learning_rate_init", .number, default: 0.1, minimum: 1e-6, maximum: 100,
                summary: "the first step size, in MAD units, decaying linearly to 0"),
            ParameterSpec(
                "early_stop", .integer, default: 50, minimum: 1, maximum: 100_000,
                summary: "steps without a lower loss after which a descent stops"),
            ParameterSpec.seed(of: "the extra starts when total_cfs > 1"),
        ])

    public init() {}

    public func prepare(_ parameters: [String: JSONValue], for problem: ExplanationProblem) throws(ExplanationError) -> any ExplanationPlan
    {
        let model = try differentiable(problem.model)
        var reader = try ParameterReader(parameters, specs: descriptor.parameters, method: descriptor.name)
        let setting = try CounterfactualSetting(&reader, problem: problem, method: descriptor.name)
        let descent = WachterDescent.Settings(
            targetProbability: try reader.double("target_proba"), tolerance: try reader.double("tol"),
            initialLambda: try reader.double("lam_init"), lambdaSteps: try reader.int("max_lam_steps"),
            iterations: try reader.int("max_iter"), learningRate: try reader.double("learning_rate_init"),
            patience: try reader.int("early_stop"))
        return Plan(model: model, setting: setting, descent: descent, seed: try reader.seed(), effectiveParameters: reader.effective)
    }

    struct Plan: ExplanationPlan {
        let model: any DifferentiableModel
        let setting: CounterfactualSetting
        let descent: WachterDescent.Settings
        let seed: UInt64
        let effectiveParameters: [String: JSONValue]

        func run(_ problem: ResolvedProblem, context: ExplanationContext) throws(ExplanationError) -> [InstanceAttribution] {
            try CounterfactualSearch.explainEach(problem, model: model, setting: setting, seed: seed, context: context) {
                search, random throws(ExplanationError) in
                try WachterDescent(search: search, model: model, settings: descent).counterfactuals(
                    random: &random, context: context)
            }
        }
    }
}
