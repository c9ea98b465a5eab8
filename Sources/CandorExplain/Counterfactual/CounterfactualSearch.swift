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
        try SampleEvaluation(model: model, problem: problem, row: row).outputRows(count: candidates.count, context: context) {
            sample, _, destination in
            for (feature, value) in candidates[sample].enumerated() { destination[feature] = Float(value) }
        }
    }

    /// Whether each candidate reaches the desired outcome.
    func reaching(_ candidates: [[Double]], context: ExplanationContext) throws(ExplanationError) -> [Bool] {
        let outputs = try outputs(of: candidates, context: context)
        let width = problem.outputsPerInstance
        return candidates.indices.map { setting.outcome.isReached(by: outputs[($0 * width)..<(($0 + 1) * width)], original: original) }
    }

    /// Feature selection after Laugel et al. (Algorithm 2 of "Inverse Classification for
    /// Comparison-based Interpretability in Machine Learning", 2018): each changed feature in
    /// turn, smallest change (in MAD units) first, is restored to the instance's value and
    /// kept restored if the candidate still reaches the outcome. Laugel stops at the first
    /// feature that cannot be restored; this tries every one, so the result is never less
    /// sparse.
    func simplified(_ counterfactual: [Double], context: ExplanationContext) throws(ExplanationError) -> [Double] {
        var current = counterfactual
        let changed = space.changes(from: instance, to: current).sorted {
            abs(current[$0] - instance[$0]) / space.scale[$0] < abs(current[$1] - instance[$1]) / space.scale[$1]
        }
        for feature in changed {
            var trial = current
            trial[feature] = instance[feature]
            if try reaching([trial], context: context)[0] { current = trial }
        }
        return current
    }
}

extension CounterfactualSearch {
    /// Runs `find` for every instance of the problem and reports what it finds. An instance
    /// that already reaches the outcome is its own counterfactual, at distance 0, and the only
    /// one there is to find (its validity is 1 whatever `total_cfs` asked for).
    static func explainEach(
        _ problem: ResolvedProblem, model: any PredictiveModel, setting: CounterfactualSetting, context: ExplanationContext,
        find: (CounterfactualSearch) throws(ExplanationError) -> [[Double]]
    ) throws(ExplanationError) -> [InstanceAttribution] {
        try setting.check(outputsPerInstance: problem.outputsPerInstance)
        return try (0..<problem.problem.batchSize).map { row throws(ExplanationError) in
            try context.checkCancellation()
            let search = CounterfactualSearch(model: model, problem: problem, row: row, setting: setting)
            let width = problem.outputsPerInstance
            let output = problem.outputValues.scalars[(row * width)..<((row + 1) * width)]
            if setting.outcome.isReached(by: output, original: search.original) {
                return try CounterfactualReport.attribution([search.instance], search: search, asked: 1, context: context)
            }
            return try CounterfactualReport.attribution(try find(search), search: search, asked: setting.total, context: context)
        }
    }
}
