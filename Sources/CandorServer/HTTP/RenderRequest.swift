import CandorExplain
import CandorImage
import CandorModel
import CandorTensor
import Foundation
import HTTPTypes

/// `render` on an explain request: a picture of each explanation, drawn after the explanation
/// is computed and never inside a method. An image input is drawn as Captum's
/// `visualize_image_attr` draws it (`AttributionRendering`, PNG at the input's resolution); a
/// flat feature input as an SVG bar chart of the features (`AttributionBarChart`); a text
/// instance as an HTML fragment of its text, tokens or words highlighted (`TextHighlight`).
struct RenderRequest: Sendable {
    static let fields: Set<String> = ["kind", "sign", "outlier_perc", "colormap", "alpha_overlay", "input", "max_features"]
    /// The options only a picture of an image input takes.
    static let imageFields: Set<String> = ["sign", "outlier_perc", "colormap", "alpha_overlay"]

    enum Picture: Sendable {
        case image(RenderOptions, preprocessing: ImagePreprocessing)
        case barChart(featureNames: [String], maxFeatures: Int)
        /// Text, highlighted: drawn beside the tokens or words, as `html`.
        case textHighlight

        /// The media type of the drawn picture.
        var mediaType: String {
            switch self {
            case .image: "image/png"
            case .barChart: "image/svg+xml"
            case .textHighlight: "text/html"
            }
        }
    }

    /// The model input drawn.
    let input: Int
    /// Text is highlighted beside its tokens (`html`) rather than drawn as a picture.
    var highlightsText: Bool { if case .textHighlight = picture { true } else { false } }
    let picture: Picture
    /// Every option with its default filled in (answers differ when these do).
    let effective: [String: JSONValue]

    /// Checks a `render` object against the model; `nil` and `{}` take every default.
    init(_ value: JSONValue?, model: LoadedModel) throws(Problem) {
        let options: [String: JSONValue]
        switch value {
        case nil, .null?: options = [:]
        case .object(let object)?: options = object
        case let other?: throw Problem.badRequest("invalid-render", "'render' must be an object, got \(other.typeName)")
        }
        if let unknown = options.keys.sorted().first(where: { !Self.fields.contains($0) }) {
            throw Problem.badRequest(
                "invalid-render", "unknown render option '\(unknown)'; accepted: \(Self.fields.sorted().joined(separator: ", "))")
        }
        if model.text != nil {
            if let kind = options["kind"], kind != .string("html") {
                throw Problem.badRequest("invalid-render", "a text model's explanations are drawn as kind html")
            }
            if let extra = options.keys.sorted().first(where: { $0 != "kind" }) {
                throw Problem.badRequest(
                    "invalid-render", "render.\(extra) is for pictures; text is drawn as kind html, with no other option")
            }
            (input, picture, effective) = (0, .textHighlight, ["kind": .string("html")])
            return
        }
        let inputs = model.model.inputs
        switch options["input"] {
        case nil, .null?:
            guard let index = inputs.count == 1 ? 0 : inputs.firstIndex(where: { model.imageInputs[$0.name] != nil }) else {
                throw Problem.badRequest(
                    "invalid-render", "name the input to draw with render.input (\(inputs.map(\.name).joined(separator: ", ")))")
            }
            input = index
        case .string(let name)?:
            guard let index = inputs.firstIndex(where: { $0.name == name }) else {
                throw Problem.badRequest("invalid-render", "render.input '\(name)' is not an input of this model")
            }
            input = index
        case let other?:
            throw Problem.badRequest("invalid-render", "render.input must be an input name, got \(other.typeName)")
        }
        let info = inputs[input]
        if let preprocessing = model.imageInputs[info.name] {
            if options["max_features"] != nil {
                throw Problem.badRequest("invalid-render", "render.max_features is for bar charts; input '\(info.name)' is a picture")
            }
            let drawn = try Self.imageOptions(options)
            picture = .image(drawn, preprocessing: preprocessing)
            effective = [
                "input": .string(info.name), "kind": .string(drawn.kind.rawValue), "sign": .string(drawn.sign.rawValue),
                "outlier_perc": .number(drawn.outlierPercent), "alpha_overlay": .number(drawn.alphaOverlay),
                "colormap": drawn.colormap.map { .string($0.name) } ?? .null,
            ]
        } else if info.instanceShape.count == 1, let width = info.instanceShape[0].fixedValue {
            if let kind = options["kind"], kind != .string("bar_chart") {
                throw Problem.badRequest(
                    "invalid-render", "input '\(info.name)' holds features: its explanations are drawn as kind bar_chart")
            }
            if let extra = Self.imageFields.sorted().first(where: { options[$0] != nil }) {
                throw Problem.badRequest("invalid-render", "render.\(extra) is for image inputs; input '\(info.name)' holds features")
            }
            let maxFeatures = try Self.integer(options["max_features"], name: "max_features", default: 20, range: 1...1000)
            // The sidecar's feature names are those of a single flat input.
            let names = (inputs.count == 1 ? model.metadata.featureNames : nil) ?? (0..<width).map { "feature \($0)" }
            picture = .barChart(featureNames: names, maxFeatures: maxFeatures)
            effective = ["input": .string(info.name), "kind": .string("bar_chart"), "max_features": .number(Double(maxFeatures))]
        } else {
            throw Problem.badRequest(
                "invalid-render",
                "input '\(info.name)' of shape [\(info.shape.map(\.description).joined(separator: ", "))] is neither a picture nor a row of features, so it cannot be drawn"
            )
        }
    }

    /// Captum's options (`visualize_image_attr`'s defaults: heat_map, absolute_value, 2 %, 0.5).
    private static func imageOptions(_ options: [String: JSONValue]) throws(Problem) -> RenderOptions {
        func choice<T: RawRepresentable & CaseIterable>(_ key: String, _ type: T.Type, default value: T) throws(Problem) -> T
        where T.RawValue == String {
            guard let given = options[key], given != .null else { return value }
            guard case .string(let name) = given, let chosen = T(rawValue: name) else {
                throw Problem.badRequest(
                    "invalid-render", "render.\(key) must be one of \(T.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            return chosen
        }
        func number(_ key: String, default value: Double) throws(Problem) -> Double {
            switch options[key] {
            case nil, .null?: return value
            case .number(let number)?: return number
            case let other?: throw Problem.badRequest("invalid-render", "render.\(key) must be a number, got \(other.typeName)")
            }
        }
        var drawn = RenderOptions(
            kind: try choice("kind", RenderKind.self, default: .heatMap),
            sign: try choice("sign", RenderSign.self, default: .absoluteValue),
            outlierPercent: try number("outlier_perc", default: 2), alphaOverlay: try number("alpha_overlay", default: 0.5))
        switch options["colormap"] {
        case nil, .null?: break
        case .string(let name)?:
            guard let colormap = Colormap.named(name) else {
                throw Problem.badRequest(
                    "invalid-render", "unknown colormap '\(name)'; available: \(Colormap.names.joined(separator: ", "))")
            }
            drawn.colormap = colormap
        case let other?: throw Problem.badRequest("invalid-render", "render.colormap must be a colormap name, got \(other.typeName)")
        }
        do { try drawn.validate() } catch { throw Problem.badRequest("invalid-render", "render: \(error)") }
        return drawn
    }

    private static func integer(_ value: JSONValue?, name: String, default fallback: Int, range: ClosedRange<Int>) throws(Problem) -> Int {
        switch value {
        case nil, .null?: return fallback
        case .number(let number)? where number == number.rounded() && range.contains(Int(exactly: number) ?? range.lowerBound - 1):
            return Int(number)
        default:
            throw Problem.badRequest(
                "invalid-render", "render.\(name) must be a whole number from \(range.lowerBound) to \(range.upperBound)")
        }
    }

    /// The picture of one explanation of `instance` (the drawn input's values for it).
    func draw(_ explanation: InstanceExplanation, instance: Tensor, targetName: String?) throws(Problem) -> [UInt8] {
        guard input < explanation.attribution.attributions.count else {
            throw Problem(.unprocessableContent, code: "render-failed", detail: "the method returned no attributions to draw")
        }
        let attribution = explanation.attribution.attributions[input]
        switch picture {
        case .textHighlight:
            throw Problem(
                .internalServerError, code: "internal-error", detail: "text is highlighted with its tokens, not drawn as a picture")
        case .barChart(let names, let maxFeatures):
            guard attribution.count == names.count else {
                throw Problem(
                    .unprocessableContent, code: "render-failed",
                    detail: "the method's attributions hold \(attribution.count) values for \(names.count) features")
            }
            let title = "Attributions to \(targetName ?? "output \(explanation.target)")"
            let features = zip(names, attribution.scalars).map { (name: $0, value: Double($1)) }
            return Array(AttributionBarChart.svg(features: features, title: title, maxFeatures: maxFeatures).utf8)
        case .image(let options, let preprocessing):
            guard attribution.rank == 3 else {
                throw Problem(
                    .unprocessableContent, code: "render-failed",
                    detail: "the method's attributions of shape \(attribution.shape) are not a picture")
            }
            let channelsFirst = preprocessing.layout == .nchw
            let (channels, height, width) =
                channelsFirst
                ? (attribution.shape[0], attribution.shape[1], attribution.shape[2])
                : (attribution.shape[2], attribution.shape[0], attribution.shape[1])
            // A layer's attributions at a coarser resolution have no picture beneath them.
            let original =
                height == preprocessing.height && width == preprocessing.width
                ? preprocessing.displayImage(instance.scalars) : nil
            do {
                let image = try AttributionRendering.render(
                    attribution.scalars, height: height, width: width, channels: channels, channelsFirst: channelsFirst,
                    original: original.map { ($0.values, $0.channels) }, options: options)
                return try PNGEncoder.encode(image)
            } catch {
                throw Problem(.unprocessableContent, code: "render-failed", detail: "the explanation cannot be drawn: \(error)")
            }
        }
    }
}
