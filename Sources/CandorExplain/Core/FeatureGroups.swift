import CandorModel
import CandorTensor

/// Sets of input elements that are perturbed together: the "features" of the perturbation
/// methods. An element is addressed by its input and its flat index within one instance.
struct FeatureGroups: Sendable {
    struct Element: Sendable, Hashable {
        let input: Int
        let index: Int
    }

    /// The groups, in the order they are evaluated.
    let groups: [[Element]]

    /// One instance's attributions when every element of group g gets `value(g)`.
    func spread(_ value: (Int) -> Float, over problem: ExplanationProblem) throws(ExplanationError) -> InstanceAttribution {
        InstanceAttribution(attributions: try spreadTensors(value, over: problem))
    }

    /// One instance-shaped tensor per input in which every element of group g holds
    /// `value(g)` (the attributions, or their standard errors).
    func spreadTensors(_ value: (Int) -> Float, over problem: ExplanationProblem) throws(ExplanationError) -> [Tensor] {
        var perInput = problem.instanceSizes.map { [Float](repeating: 0, count: $0) }
        for (group, elements) in groups.enumerated() {
            let groupValue = value(group)
            for element in elements { perInput[element.input][element.index] = groupValue }
        }
        return try perInput.indices.map { input throws(ExplanationError) in
            try problem.instanceTensor(perInput[input], input: input)
        }
    }

    /// Every element of every input its own group (Captum's default).
    static func singletons(instanceSizes: [Int]) -> FeatureGroups {
        FeatureGroups(
            groups: instanceSizes.enumerated().flatMap { input, size in
                (0..<size).map { [Element(input: input, index: $0)] }
            })
    }

    /// Groups from a `feature_mask`: an integer id per element, shaped like one instance (an
    /// object of such arrays by input name for a model with several inputs). Elements that
    /// share an id form one group, across inputs too, as in Captum.
    /// Group ids are labels, so any range would do; a bound keeps them exact in `Int` and in
    /// the float32 tensor they arrive in.
    static let groupIdLimit: Float = 10_000_000

    static func fromMask(_ value: JSONValue, problem: ExplanationProblem) throws(ExplanationError) -> FeatureGroups {
        let infos = problem.model.inputs
        var byId: [Int: [Element]] = [:]
        for (input, batch) in problem.inputs.enumerated() {
            guard let part = try problem.parameterPart(value, input: input, name: "feature_mask") else {
                throw ExplanationError(.invalidParameter, "parameter 'feature_mask' lacks input '\(infos[input].name)'")
            }
            let mask = try TensorJSON.tensor(from: part, name: "feature_mask")
            let instanceShape = Array(batch.shape.dropFirst())
            guard mask.shape == instanceShape else {
                throw ExplanationError(
                    .invalidParameter, "parameter 'feature_mask' must be shaped like one instance \(instanceShape), got \(mask.shape)")
            }
            for (index, id) in mask.scalars.enumerated() {
                guard id >= 0, id == id.rounded() else {
                    throw ExplanationError(.invalidParameter, "parameter 'feature_mask' must hold group ids (integers ≥ 0), found \(id)")
                }
                guard id < Self.groupIdLimit else {
                    throw ExplanationError(
                        .invalidParameter,
                        "parameter 'feature_mask' group ids must be below \(Int(Self.groupIdLimit)) (they label groups; only their equality matters), found \(id)"
                    )
                }
                byId[Int(id), default: []].append(Element(input: input, index: index))
            }
        }
        return FeatureGroups(groups: byId.keys.sorted().compactMap { byId[$0] })
    }

    /// The windows of `window` extents that slide over an instance of `shape` in steps of
    /// `strides`, as Captum's `Occlusion` places them: starting at 0 on every axis, ⌈(n − w)/s⌉ + 1
    /// positions per axis, a window that runs past the edge cut off there.
    static func slidingWindows(shape: [Int], window: [Int], strides: [Int], input: Int) -> FeatureGroups {
        let positions = zip(zip(shape, window), strides).map { extents, stride in
            let (extent, width) = extents
            return (extent - width + stride - 1) / stride + 1  // ⌈(n − w)/s⌉ + 1
        }
        var rowStrides = [Int](repeating: 1, count: shape.count)
        for axis in stride(from: shape.count - 2, through: 0, by: -1) { rowStrides[axis] = rowStrides[axis + 1] * shape[axis + 1] }
        var groups: [[Element]] = []
        let total = positions.reduce(1, *)
        for number in 0..<total {
            // Window `number`'s start on each axis.
            var remaining = number
            var starts = [Int](repeating: 0, count: shape.count)
            for axis in stride(from: shape.count - 1, through: 0, by: -1) {
                starts[axis] = (remaining % positions[axis]) * strides[axis]
                remaining /= positions[axis]
            }
            let ends = zip(zip(starts, window), shape).map { min($0.0 + $0.1, $1) }
            var elements: [Element] = []
            var index = starts
            while true {
                elements.append(Element(input: input, index: zip(index, rowStrides).reduce(0) { $0 + $1.0 * $1.1 }))
                var axis = shape.count - 1
                while axis >= 0 {
                    index[axis] += 1
                    if index[axis] < ends[axis] { break }
                    index[axis] = starts[axis]
                    axis -= 1
                }
                if axis < 0 { break }
            }
            groups.append(elements)
        }
        return FeatureGroups(groups: groups)
    }
}

extension FeatureGroups {
    /// The groups a `feature_mask` parameter gives, or every element alone when it is omitted.
    init(featureMask: JSONValue?, problem: ExplanationProblem) throws(ExplanationError) {
        if let featureMask {
            self = try Self.fromMask(featureMask, problem: problem)
        } else {
            self = Self.singletons(instanceSizes: problem.instanceSizes)
        }
    }
}
