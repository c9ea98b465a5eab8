/// Every finished explanation method, by API name. A method appears here — and so in
/// `GET /v1/methods` — only once it is implemented and checked against its reference.
public struct MethodCatalog: Sendable {
    public let explainers: [any Explainer]

    public init(explainers: [any Explainer]) {
        self.explainers = explainers
    }

    /// The methods Candor ships.
    public static let standard = MethodCatalog(explainers: [
        Saliency(),
        InputXGradient(),
        IntegratedGradients(),
        DeepLift(),
        DeepLiftShap(),
        GuidedBackprop(),
        Deconvolution(),
        LayerwiseRelevance(),
        GradCam(),
        GuidedGradCam(),
        SmoothGrad(),
        GradientShap(),
        LayerIntegratedGradients(),
        LayerGradientXActivation(),
        LayerConductance(),
        NeuronGradient(),
        AttentionRollout(),
        AttentionFlow(),
        FeatureAblation(),
        Occlusion(),
        FeaturePermutation(),
        ExactShapley(),
        ShapleyValueSampling(),
        KernelShap(),
        PartitionShap(),
        TreeShap(),
        LinearShap(),
        Lime(),
        Anchors(),
        Rise(),
        Slic(),
        GrowingSpheres(),
        Dice(),
        Wachter(),
        MinPerturbation(),
    ])

    public func explainer(named name: String) -> (any Explainer)? {
        explainers.first { $0.descriptor.name == name }
    }

    public var names: [String] { explainers.map(\.descriptor.name) }
}
