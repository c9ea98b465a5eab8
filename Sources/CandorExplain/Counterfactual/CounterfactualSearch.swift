import CandorModel
import CandorTensor

/// One instance's counterfactual search: the instance, what the model predicts for it now,
/// and batched evaluation of candidate rows against the desired outcome.
struct CounterfactualSearch {
    let model: any PredictiveModel
    let problem: ResolvedProblem
    let row: Int
    let setting: CounterfactualSetting
    let instance: [Double]
    /// The instance's current prediction (the argmax of its explained output).
    let original: Int

    init(model: any PredictiveModel, problem: ResolvedProblem, row: Int, setting: CounterfactualSetting) {
        self.model = model
        self.problem = problem
        self.row = row
        self.setting = setting
        let width = setting.space.count
        instance = problem.problem.inputs[0].scalars[(row * width)..<((row + 1) * width)].map(Double.init)
        let outputs = problem.outputsPerInstance
        original = DesiredOutcome.prediction(problem.outputValues.scalars[(row * outputs)..<((row + 1) * outputs)])
    }

    var space: FeatureSpace { setting.space }

    /// The explained output of every candidate, row-major (`problem.outputsPerInstance` per
    /// candidate), evaluated in passes under the memory budget.
    func outputs(of candidates: [[Double]], context: ExplanationContext) throws(ExplanationError) -> [Float] {
        try SampleEvaluation(model: model, problem: problem, row: row).outputRows(
            count: candidates.count, context: context,
            fill: .concurrent { sample, _, destination in
                for (feature, value) in candidates[sample].enumerated() { destination[feature] = Float(value) }
            })
    }

    /// Whether each candidate's output row passes `test`.
    func satisfying(
        _ candidates: [[Double]], context: ExplanationContext, _ test: (ArraySlice<Float>) -> Bool
    ) throws(ExplanationError) -> [Bool] {
        let outputs = try outputs(of: candidates, context: context)
        let width = problem.outputsPerInstance
        return candidates.indices.map { test(outputs[($0 * width)..<(($0 + 1) * width)]) }
    }

    /// Whether each candidate reaches the desired outcome.
    func reaching(_ candidates: [[Double]], context: ExplanationContext) throws(ExplanationError) -> [Bool] {
        try satisfying(candidates, context: context) { setting.outcome.isReached(by: $0, original: original) }
    }

    /// Makes a counterfactual sparse and near: each changed feature in turn, smallest change
    /// (in MAD units) first, is restored to the instance's value if the counterfactual still
    /// reaches the outcome without it — Laugel et al.'s feature selection (Algorithm 2 of
    /// "Inverse Classification for Comparison-based Interpretability in Machine Learning",
    /// 2018), which stops at the first feature that cannot be restored where this tries every
    /// one — and otherwise moved back toward it to the nearest value that still reaches it, as
    /// DiCE's post-hoc sparsity search does: the change is tried at `gridSteps` + 1 evenly
    /// spaced shares in one batch, then again between the smallest share that reaches the
    /// outcome and the one below it, which places the value within 1/`gridSteps`² of the
    /// change. Whole-numbered and categorical features are only restored. `keeping` says which
    /// candidates still count (by default, those that reach the outcome).
    func simplified(
        _ counterfactual: [Double], context: ExplanationContext,
        keeping accepted: (([[Double]]) throws(ExplanationError) -> [Bool])? = nil
    ) throws(ExplanationError) -> [Double] {
        var current = counterfactual
        let changed = space.changes(from: instance, to: current).sorted {
            abs(current[$0] - instance[$0]) / space.scale[$0] < abs(current[$1] - instance[$1]) / space.scale[$1]
        }
        for feature in changed {
            let whole = space.domains.categories[feature] != nil || space.domains.integer.contains(feature)
            var low = 0.0
            var high = 1.0
            for round in 0..<(whole ? 1 : 2) {
                let shares = whole ? [0.0] : (0...Self.gridSteps).map { low + (high - low) * Double($0) / Double(Self.gridSteps) }
                let trials = shares.map { share in
                    var trial = current
                    trial[feature] = Double(Float(instance[feature] + share * (counterfactual[feature] - instance[feature])))
                    return trial
                }
                let kept: [Bool]
                if let accepted { kept = try accepted(trials) } else { kept = try reaching(trials, context: context) }
                guard let first = kept.firstIndex(of: true) else { break }
                current = trials[first]
                if first == 0 || round == 1 { break }
                (low, high) = (shares[first - 1], shares[first])
            }
        }
        return current
    }

    /// Shares of a change each refinement round tries.
    static let gridSteps = 16
}

extension CounterfactualSearch {
    /// Runs `find` for every instance of the problem, with a generator seeded by `seed` and
    /// the instance's row, and reports what it finds. An instance that already reaches the
    /// outcome is its own counterfactual, at distance 0, and the only one there is to find.
    static func explainEach(
        _ problem: ResolvedProblem, model: any PredictiveModel, setting: CounterfactualSetting, seed: UInt64,
        context: ExplanationContext, find: (CounterfactualSearch, inout SeededRandom) throws(ExplanationError) -> [[Double]]
    ) throws(ExplanationError) -> [InstanceAttribution] {
        try setting.check(outputsPerInstance: problem.outputsPerInstance)
        return try (0..<problem.problem.batchSize).map { row throws(ExplanationError) in
            try context.checkCancellation()
            let search = CounterfactualSearch(model: model, problem: problem, row: row, setting: setting)
            let width = problem.outputsPerInstance
            let output = problem.outputValues.scalars[(row * width)..<((row + 1) * width)]
            if setting.outcome.isReached(by: output, original: search.original) {
                return try CounterfactualReport.attribution([search.instance], search: search, context: context)
            }
            var random = SeededRandom(seed: seed, stream: row)
            return try CounterfactualReport.attribution(try find(search, &random), search: search, context: context)
        }
    }
}
