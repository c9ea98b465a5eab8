import CandorExplain
import CandorModel
import CandorTensor
import CandorTestSupport
import Testing

@Suite struct ParameterValidationTests {
    let problem: ExplanationProblem

    init() throws {
        let model = try ONNXModelLoader.load(try GraphFactory.linearModel(weights: [[1], [2]], bias: [0]))
        problem = ExplanationProblem(model: model, inputs: [try Tensor(shape: [1, 2], scalars: [1, 2])], output: 0, targets: nil)
    }

    func error(_ method: String, _ parameters: [String: JSONValue]) -> ExplanationError? {
        do {
            _ = try MethodCatalog.standard.explainer(named: method)?.prepare(parameters, for: problem)
            return nil
        } catch {
            return error
        }
    }

    @Test func anUnknownParameterIsNamedWithTheAcceptedOnes() throws {
        let failure = try #require(error("integrated_gradients", ["nsteps": 5]))
        #expect(failure.code == .invalidParameter)
        #expect(failure.message.contains("'nsteps'") && failure.message.contains("n_steps"))
    }

    /// Every parameter is typed in the contract and null is none of those types: a null is
    /// refused by name rather than read as "use the default".
    @Test func aNullParameterIsRefusedByName() throws {
        let failure = try #require(error("integrated_gradients", ["n_steps": .null]))
        #expect(failure.code == .invalidParameter)
        #expect(failure.message.contains("'n_steps'") && failure.message.contains("null"))
    }

    @Test func wrongTypesAndRangesAreRefused() throws {
        #expect(error("integrated_gradients", ["n_steps": 0])?.message.contains("at least 1") == true)
        #expect(error("integrated_gradients", ["n_steps": 2.5])?.message.contains("integer") == true)
        #expect(error("integrated_gradients", ["n_steps": 1_000_000])?.message.contains("at most") == true)
        #expect(error("integrated_gradients", ["integration": "simpson"])?.message.contains("gausslegendre") == true)
        #expect(error("integrated_gradients", ["integration": "riemann_trapezoid", "n_steps": 1]) != nil)
        #expect(error("saliency", ["abs": "yes"])?.code == .invalidParameter)
        #expect(error("input_x_gradient", ["abs": true])?.code == .invalidParameter)
    }

    @Test func baselinesMustFitTheInstance() throws {
        #expect(error("integrated_gradients", ["baselines": [1, 2, 3]])?.message.contains("shaped like one instance") == true)
        #expect(error("integrated_gradients", ["baselines": "zero"]) != nil)
        #expect(error("integrated_gradients", ["baselines": [1, 2]]) == nil)
    }

    @Test func perturbationParametersAreChecked() throws {
        #expect(error("occlusion", [:])?.message.contains("required") == true)
        #expect(error("occlusion", ["sliding_window_shapes": [3]])?.message.contains("larger than the instance") == true)
        #expect(error("occlusion", ["sliding_window_shapes": [1, 1]])?.message.contains("one entry per instance axis") == true)
        #expect(error("occlusion", ["sliding_window_shapes": [0]])?.message.contains("at least 1") == true)
        #expect(error("occlusion", ["sliding_window_shapes": [1], "strides": [2]])?.message.contains("longer than the window") == true)
        #expect(error("feature_ablation", ["feature_mask": [0]])?.message.contains("shaped like one instance") == true)
        #expect(error("feature_ablation", ["feature_mask": [0, -1]])?.message.contains("integers ≥ 0") == true)
        #expect(error("feature_ablation", ["feature_mask": [0, 0]]) == nil)
    }

    @Test func defaultsAreReportedAsEffectiveParameters() throws {
        let plan = try IntegratedGradients().prepare([:], for: problem)
        #expect(plan.effectiveParameters == ["n_steps": 50, "integration": "gausslegendre", "baselines": 0.0])
    }
}
