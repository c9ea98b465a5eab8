import CandorModel

/// The limits that keep one request's memory bounded, stated once: how much of a batch one
/// forward and backward pass may hold, and how many sampled copies of an instance a request
/// may make. Every method sizes its passes through these, so a change to the budget rule
/// changes all of them.
extension ExplanationContext {
    /// How many items of `elementsPerItem` numbers one pass may hold under
    /// `maxBatchElements`: at least one (a pass that cannot hold one item still runs it), at
    /// most `limit` when given.
    func itemsPerPass(elementsPerItem: Int, limit: Int? = nil) -> Int {
        Swift.max(1, Swift.min(limit ?? Int.max, maxBatchElements / Swift.max(elementsPerItem, 1)))
    }

    /// `chunk` units of a batch of `count`, cut so that the batch makes two chunks at least
    /// while a worker is idle to take one (``SharedChunks``).
    func sharedChunk(_ chunk: Int, of count: Int) -> Int {
        count > 1 && (idleWorkers?.idleCount ?? 0) > 0 ? Swift.min(chunk, (count + 1) / 2) : chunk
    }

    /// How many rows of `model` one pass may hold (its inputs, activations and their
    /// gradients), at most `limit` (a request's `internal_batch_size`).
    func rowsPerPass(for model: any PredictiveModel, limit: Int? = nil) -> Int {
        itemsPerPass(elementsPerItem: model.elementsPerInstance, limit: limit)
    }

    /// How many units of `rowsPerUnit` rows one pass may hold (a path point or a perturbation
    /// of every instance is one unit of `batch` rows): at least one, at most `unitLimit`
    /// units and `rowLimit` rows when given.
    func unitsPerPass(for model: any PredictiveModel, rowsPerUnit: Int, rowLimit: Int? = nil, unitLimit: Int? = nil) -> Int {
        Swift.max(1, Swift.min(unitLimit ?? Int.max, rowsPerPass(for: model, limit: rowLimit) / Swift.max(rowsPerUnit, 1)))
    }
}

/// The bounds on the sampled copies of instances that SmoothGrad, GradientSHAP and
/// DeepLIFT-SHAP explain: each instance's copies are built and explained in turn, so the
/// copies of one instance, not of the whole request, are held at once.
enum CopyBudget {
    /// The most copies of one request (instances × samples).
    static let maximumCopies = 100_000
    /// The most numbers one instance's copies may hold together (samples × its elements).
    static let maximumCopyElements = 1 << 26

    /// Refuses `samples` copies per instance beyond the two limits above.
    static func check(_ problem: ExplanationProblem, samples: Int, method: String) throws(ExplanationError) {
        let copies = problem.batchSize.multipliedReportingOverflow(by: samples)
        guard !copies.overflow, copies.partialValue <= maximumCopies else {
            throw ExplanationError(
                .invalidParameter,
                "\(method) makes \(problem.batchSize) × \(samples) copies, more than \(maximumCopies): send fewer instances or samples")
        }
        let elements = problem.instanceSizes.reduce(0, +).multipliedReportingOverflow(by: samples)
        guard !elements.overflow, elements.partialValue <= maximumCopyElements else {
            throw ExplanationError(
                .tooLarge,
                "\(method)'s \(samples) copies of one instance would hold more than \(maximumCopyElements) numbers: ask for fewer samples")
        }
    }
}
