import CandorTensor

/// `Add`, `Sub`, `Mul` and `Div` with NumPy broadcasting. Their VJPs scale the incoming
/// gradient by the partial derivative and sum it back over broadcast axes. Two int64 inputs
/// (shape arithmetic) are combined by ``IntegerArithmetic``, without a gradient.
struct ElementwiseBinary: Operator {
    enum Kind: String, Sendable { case add = "Add", sub = "Sub", mul = "Mul", div = "Div" }
    let kind: Kind

    /// A sum takes LRP's addition rule (Captum's `Addition_Module`); a difference keeps its
    /// gradient, R to the minuend and −R to the subtrahend; LRP has no rule to share relevance
    /// between the factors of a product or quotient. DeepLIFT keeps all four gradients, as Captum.
    var attributionRules: AttributionRules {
        switch kind {
        case .add: AttributionRules(deepLift: .gradient, lrp: .addition)
        case .sub: AttributionRules(deepLift: .gradient, lrp: .gradient)
        case .mul, .div: AttributionRules(deepLift: .gradient, lrp: .noCaptumRule("a product or quotient of activations"))
        }
    }

    func forward(_ inputs: [GraphValue?]) throws(TensorError) -> [GraphValue] {
        if case .integer(let a)? = inputs.first ?? nil, case .integer(let b)? = inputs.count > 1 ? inputs[1] : nil {
            return [.integer(try IntegerArithmetic.binary(kind, a, b))]
        }
        let a = try inputs.float(0, "A")
        let b = try inputs.float(1, "B")
        let result: Tensor =
            switch kind {
            // Closures written out (not `+` itself) so the kernel is specialised and inlined.
            case .add: try Broadcasting.apply(a, b) { $0 + $1 }
            case .sub: try Broadcasting.apply(a, b) { $0 - $1 }
            case .mul: try Broadcasting.apply(a, b) { $0 * $1 }
            case .div: try Broadcasting.apply(a, b) { $0 / $1 }
            }
        return [.float(result)]
    }

    func backward(
        _ inputs: [GraphValue?], outputs: [GraphValue], outputGradients: [Tensor?], wanted: [Bool]
    ) throws(TensorError) -> [Tensor?] {
        let a = try inputs.float(0, "A")
        let b = try inputs.float(1, "B")
        let g = outputGradients.firstGradient(like: try outputs.firstFloat())
        let wantsA = wanted.first ?? true
        let wantsB = wanted.count > 1 ? wanted[1] : true
        var gradA: Tensor?
        var gradB: Tensor?
        switch kind {
        case .add:
            gradA = wantsA ? g : nil
            gradB = wantsB ? g : nil
        case .sub:
            gradA = wantsA ? g : nil
            gradB = wantsB ? g.map { -$0 } : nil
        case .mul:
            if wantsA { gradA = try Broadcasting.apply(g, b) { $0 * $1 } }
            if wantsB { gradB = try Broadcasting.apply(g, a) { $0 * $1 } }
        case .div:
            // ∂(a/b)/∂a = 1/b, ∂(a/b)/∂b = −a/b²
            if wantsA { gradA = try Broadcasting.apply(g, b) { $0 / $1 } }
            if wantsB {
                let quotient = try Broadcasting.apply(a, b) { $0 / $1 }
                gradB = try Broadcasting.apply(try Broadcasting.apply(g, quotient) { $0 * $1 }, b) { -$0 / $1 }
            }
        }
        return [
            try gradA.map { gradient throws(TensorError) in try Broadcasting.reduce(gradient, toShape: a.shape) },
            try gradB.map { gradient throws(TensorError) in try Broadcasting.reduce(gradient, toShape: b.shape) },
        ]
    }
}
