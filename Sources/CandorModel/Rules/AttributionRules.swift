/// How the two backward rules that replace gradients — DeepLIFT (``DeepLiftRule``) and LRP
/// (``LRPRule``) — treat one operator. Every operator declares its own
/// (``Operator/attributionRules``, a requirement without a default), so adding an operator
/// means deciding both in the operator and nowhere else: the rules dispatch on these
/// decisions, and LRP's refusal of a model is read off them
/// (``DifferentiableModel/lrpRefusals(feeding:)``).
public struct AttributionRules: Sendable {
    public let deepLift: DeepLiftTreatment
    public let lrp: LRPTreatment

    public init(deepLift: DeepLiftTreatment, lrp: LRPTreatment) {
        self.deepLift = deepLift
        self.lrp = lrp
    }

    /// An operator that moves, copies, joins or recasts values without computing new ones
    /// (reshapes, slices, concatenation, casts) or only supplies shapes and constants. Its
    /// gradient is the exact DeepLIFT multiplier (Δout is Δin rearranged), and as LRP's
    /// "gradient" it hands each output element's relevance to the element it came from, so
    /// the total is unchanged.
    public static let structural = AttributionRules(deepLift: .gradient, lrp: .gradient)
}

/// What ``DeepLiftRule`` does at an operator (Shrikumar et al., "Learning Important Features
/// Through Propagating Activation Differences", ICML 2017, as Captum's `DeepLift` applies it).
public enum DeepLiftTreatment: Sendable {
    /// The rescale rule for an element-wise nonlinearity: g · Δout/Δin, the gradient where
    /// |Δin| is tiny. Captum applies it to ReLU, ELU, LeakyReLU, Sigmoid, Tanh and Softplus.
    case rescale
    /// The rescale rule for SiLU written as Mul(x, Sigmoid(x)) (``SiLUProduct``): one
    /// nonlinearity of the operand at `input`, nothing back through the Sigmoid operand at
    /// `sigmoid`, whose share Δy/Δx already holds.
    case siluRescale(input: Int, sigmoid: Int)
    /// Captum's max-pooling rule: the output differences routed to each half's argmax in
    /// `pool`'s windows, divided by Δin.
    case maxPool(PoolOperator)
    /// Captum's softmax rule: the rescaled gradient, minus its mean over the batch.
    case softmax
    /// The operator's own gradient, as Captum keeps it for every module it does not hook.
    /// For a linear operator the gradient is the exact multiplier; for a nonlinearity Captum
    /// does not hook (GELU, layer normalisation…) it is the approximation Captum makes too.
    case gradient
}

/// What ``LRPRule`` does at an operator (Bach et al., PLoS ONE 2015, in Captum's `LRP`
/// gradient form, where the "gradient" flowing back is the relevance R).
public enum LRPTreatment: Sendable {
    /// A weight layer (Captum's `nn.Linear`, `nn.Conv2d`): the chosen weight rule (ε, γ,
    /// α1β0, z⁺) on the activation operand, the other of the first two inputs the weights.
    case weightLayer
    /// The ε rule on the layer as it is, relevance shared in proportion to each input's
    /// contribution to the output: Captum's `EpsilonRule` for pooling and batch norm.
    case epsilon
    /// A sum of two terms, each taking the ε rule's share of R in proportion to its
    /// contribution (Captum's `Addition_Module`), so a residual connection conserves
    /// relevance and a bias term absorbs its share as a layer's bias does.
    case addition
    /// R handed unchanged to the input at `operand`, nothing to the others: an activation
    /// Captum's LRP passes relevance through (ReLU, Tanh, Dropout).
    case passThrough(operand: Int)
    /// The operator's own gradient: at a node that only moves values (reshapes, slices,
    /// concatenation, broadcasting) it moves relevance without changing its total; a
    /// subtraction passes R to the minuend and −R to the subtrahend.
    case gradient
    /// No rule: a model that has this operator on the way to the explained output is
    /// refused, with `reason` in the message. (Captum's `LRP` raises for such layers too.)
    case refused(reason: String)

    /// The inputs that receive relevance, so the nodes feeding them are on LRP's way: only
    /// `operand` for a pass-through, every input otherwise.
    func relevanceOperands(count: Int) -> [Int] {
        if case .passThrough(let operand) = self { return operand < count ? [operand] : [] }
        return Array(0..<count)
    }
}

/// A node LRP has no rule for, on the way to an output it was asked to explain, and the
/// reason its operator gives. Only a graph of CandorModel's operators makes one.
public struct LRPRefusal: Sendable, Equatable {
    public let node: NodeIdentity
    public let reason: String
}

extension LRPTreatment {
    /// The refusal of an element-wise nonlinearity other than the ones LRP passes relevance
    /// through.
    static let nonlinearity = LRPTreatment.refused(
        reason: "Captum's LRP passes relevance through ReLU, Tanh and Dropout only and has no rule for other nonlinearities")

    /// A refusal for what Captum's `LRP` has no rule for either (it raises for any layer
    /// outside its rules).
    static func noCaptumRule(_ what: String) -> LRPTreatment {
        .refused(reason: "Captum's LRP has no rule for \(what)")
    }
}
