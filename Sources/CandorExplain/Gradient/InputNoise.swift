/// The noise SmoothGrad and GradientSHAP add to each instance: `samples` draws per instance,
/// each element plus N(0, σ²) (σ absolute, as Captum's `stdevs`), from seeded streams so that
/// equal requests give equal answers. Read from the method's samples parameter, `stdevs` and
/// `seed`, and refused beyond ``CopyBudget``.
struct InputNoise: Sendable {
    let samples: Int
    let sigma: Float
    let seed: UInt64

    init(
        _ reader: inout ParameterReader, samplesParameter: String, problem: ExplanationProblem, method: String
    ) throws(ExplanationError) {
        samples = try reader.int(samplesParameter)
        try CopyBudget.check(problem, samples: samples, method: method)
        sigma = Float(try reader.double("stdevs"))
        seed = try reader.seed()
    }
}
