import CandorExplain
import CandorModel
import CandorTensor
import CandorText
import HTTPTypes

/// Explaining text instances: which methods take them, what those methods default to on a
/// text model, and the answer's form — one attribution per token, beside the token and where
/// it stands in the text.
///
/// The gradient methods attribute at the word embeddings (the lookup of `input_ids`, Captum's
/// `model.embeddings`) unless a layer method names another `layer`, and the path methods start
/// from Captum's tutorial reference: every token but the special ones replaced by the padding
/// token, the attention mask and token types unchanged. A token's attribution is the sum over
/// the layer's values at its position (the embedding dimensions), as Captum's tutorials
/// `summarize_attributions`, without their normalisation. The perturbation methods take each
/// token as a feature, replaced by the padding token; occlusion's windows slide over each
/// text's own tokens, its padding left out, as Captum's over one unpadded text.
enum TextExplanation {
    /// Where a method attributes on text.
    enum Strategy: Sendable {
        /// At a layer, by default the word embeddings (layer methods).
        case layer
        /// With the word embeddings as the model's input (`EmbeddingInputModel`): Captum's
        /// input methods run on `inputs_embeds`.
        case embeddings
        /// Over the token ids themselves, each token a feature replaced by the padding token
        /// (perturbation methods); the attention mask and token types stay.
        case tokens
        /// From the attention probabilities, one number per token already.
        case attention
        /// Windows over each text's own token ids, the text explained alone without padding
        /// (`InstanceWisePlan`), its attention mask and token types fixed (`TokenIdsModel`).
        case windows
        /// Over the text's words, removed from the text before it is tokenized again (lime's
        /// `LimeTextExplainer`, `TextWordSamples`).
        case words
        /// Over the text's tokens, each masked in the text itself — written as the mask token —
        /// before it is tokenized again (SHAP's Text masker, `TextMaskSamples`), in SHAP's
        /// hierarchy of the tokens (`TokenHierarchy`).
        case maskedTokens
    }

    /// What the attributions of a text are of.
    enum Answer {
        /// The batch's tokens, padding included (left out of the answer).
        case tokens
        /// Each text's own tokens, without padding.
        case unpaddedTokens
        /// Each text's distinct words.
        case words([IndexedWords])
    }

    /// The methods that explain text instances today, in the catalog's order, each checked
    /// against Captum on the demo model (Tests/Fixtures/text/review_sentiment.golden.json).
    static let strategies: [String: Strategy] = [
        "saliency": .embeddings, "input_x_gradient": .embeddings, "layer_integrated_gradients": .layer,
        "layer_gradient_x_activation": .layer, "attention_rollout": .attention, "attention_flow": .attention,
        "occlusion": .windows, "feature_ablation": .tokens,
        "kernel_shap": .maskedTokens, "partition_shap": .maskedTokens, "lime": .words,
    ]

    /// What a method runs on for a text batch: the model, its inputs, the parameters (the
    /// request's, with the layer, reference and features filled in where it leaves them out),
    /// and which input's attributions are the tokens'.
    struct Setup {
        let model: any PredictiveModel
        let inputs: [Tensor]
        let parameters: [String: JSONValue]
        let attributedInput: Int
        /// A plan made here, text by text, in place of the method's own for the batch.
        var plan: (any ExplanationPlan)? = nil
        var answer = Answer.tokens
        /// `reduce`: `sum` (each token's values summed over the layer's other axes) or `none`.
        var reduce = Reduction.sum
    }

    /// How a token's attributions at a layer become the answer's (the request's `reduce`):
    /// summed over the embedding's dimensions, as Captum's tutorials summarise them, or kept.
    enum Reduction: String {
        case sum, none

        /// The request's `reduce`: omitted, `sum` or `none`.
        init(_ value: JSONValue?) throws(Problem) {
            switch value {
            case nil, .null?: self = .sum
            case .string(let name)? where Reduction(rawValue: name) != nil: self = Reduction(rawValue: name) ?? .sum
            case let other?:
                throw Problem.badRequest(
                    "invalid-parameter",
                    "'reduce' is sum or none (each token's attributions summed over the layer's dimensions, or kept), not \(other.typeName == "string" ? "\(other)" : other.typeName)"
                )
            }
        }
    }

    static func setup(
        _ given: [String: JSONValue], explainer: any Explainer, catalog: MethodCatalog, text: TextInputs, batch: TextInputs.Batch,
        model original: any PredictiveModel, output: Int, reduce: Reduction, limits: CandorConfiguration.Limits
    ) throws -> Setup {
        let method = explainer.descriptor
        guard let strategy = strategies[method.name] else {
            let available = catalog.names.filter { strategies[$0] != nil }
            throw Problem.badRequest(
                "method-not-applicable",
                "\(method.name) does not explain text instances yet; on text: \(available.joined(separator: ", ")) (or send the tokenizer's ids by input name)"
            )
        }
        if reduce == .none, strategy == .words || strategy == .maskedTokens {
            throw Problem.badRequest(
                "invalid-parameter",
                "\(method.name) weighs the text's \(strategy == .words ? "words" : "tokens"), one number each: 'reduce' does not apply")
        }
        var setup = try setup(
            given, strategy: strategy, explainer: explainer, text: text, batch: batch, original: original, output: output, limits: limits)
        setup.reduce = reduce
        return setup
    }

    private static func setup(
        _ given: [String: JSONValue], strategy: Strategy, explainer: any Explainer, text: TextInputs, batch: TextInputs.Batch,
        original: any PredictiveModel, output: Int, limits: CandorConfiguration.Limits
    ) throws -> Setup {
        var parameters = given
        let names = original.inputs.map(\.name)
        let length = batch.inputs[text.ids].shape[1]
        func sized(_ length: Int) -> any PredictiveModel { (original as? ONNXModel)?.sized(forFreeExtent: length) ?? original }
        // Passes are sized for this batch's length: a transformer's instance grows with it.
        let model = sized(length)
        func isAbsent(_ name: String) -> Bool { parameters[name] == nil || parameters[name] == .null }
        switch strategy {
        case .layer:
            if isAbsent("layer") {
                guard let layer = text.embeddingLayer else { throw noEmbeddingLookup }
                parameters["layer"] = .string(layer)
            } else if case .string(let name)? = parameters["layer"], let layer = (model as? any DifferentiableModel)?.layer(named: name) {
                // One attribution per token needs a layer laid out [batch, sequence, ...].
                guard layer.shape.count >= 2, sameExtent(layer.shape[1], model.inputs[text.ids].shape[1]) else {
                    throw Problem.badRequest(
                        "invalid-parameter",
                        "layer '\(name)' has shape [\(layer.shape.map(\.description).joined(separator: ", "))]; on text the layer must be [batch, sequence, ...], as input_ids is, so that each token gets an attribution"
                    )
                }
            }
            if explainer.descriptor.parameters.contains(where: { $0.name == "baselines" }), isAbsent("baselines") {
                parameters["baselines"] = .object(
                    Dictionary(uniqueKeysWithValues: zip(names, text.referenceInputs(batch).map(TensorJSON.value(of:)))))
            }
            return Setup(model: model, inputs: batch.inputs, parameters: parameters, attributedInput: 0)
        case .attention:
            // The query token is a position: with padding on the left, a shorter text's first
            // position is padding.
            if text.tokenizer.padsOnLeft, batch.encodings.contains(where: { $0.attentionMask.first == 0 }) {
                throw Problem.badRequest(
                    "invalid-input",
                    "this model's tokenizer pads on the left, so the texts' [CLS] positions differ: send texts of one length, or one per request"
                )
            }
            return Setup(model: model, inputs: batch.inputs, parameters: parameters, attributedInput: 0)
        case .embeddings:
            guard let base = model as? ONNXModel, let embeddingModel = EmbeddingInputModel(base, ids: names[text.ids]) else {
                throw noEmbeddingLookup
            }
            let ids = batch.inputs[text.ids]
            let width = embeddingModel.lookup.table.shape[1]
            guard ids.count * width <= limits.maxInputElements else {
                throw Problem(
                    .contentTooLarge, code: "input-too-large",
                    detail:
                        "the texts' embeddings hold \(ids.count * width) numbers, more than the configured limit of \(limits.maxInputElements) input elements"
                )
            }
            var inputs = batch.inputs
            inputs.remove(at: text.ids)
            do { inputs.insert(try embeddingModel.lookup.embeddings(of: ids), at: 0) } catch { throw Problem(error) }
            return Setup(model: embeddingModel, inputs: inputs, parameters: parameters, attributedInput: 0)
        case .tokens:
            let baseline = try tokenBaseline(parameters["baselines"], text: text)
            let eachToken = [nil, .null, .string("tokens")].contains(parameters["feature_mask"])
            if eachToken, baseline == Int(TokenIdsModel.removed) {
                // A removed token shortens its text: each text alone.
                parameters["baselines"] = .number(Double(TokenIdsModel.removed))
                parameters["feature_mask"] = nil
                return try eachTextAlone(
                    parameters, explainer: explainer, text: text, batch: batch, model: model, sized: sized, output: output)
            }
            switch parameters["feature_mask"] {
            case .string("words")?:
                parameters["baselines"] = .number(Double(try baseline ?? perInputBaselines()))
                return try eachTextAlone(
                    parameters, explainer: explainer, text: text, batch: batch, model: model, sized: sized, output: output,
                    featureMask: { .array(wordGroups($0).map { .number(Double($0)) }) })
            case .string("tokens")?, nil, .null?:
                let positions = JSONValue.array((0..<length).map { .number(Double($0)) })
                parameters["feature_mask"] = .object(Dictionary(uniqueKeysWithValues: names.map { ($0, positions) }))
            case .string(let other)?:
                throw Problem.badRequest(
                    "invalid-parameter",
                    "'feature_mask' on text is tokens (each token alone), words (the tokens of each word together) or a group per token, not '\(other)'"
                )
            default:
                if baseline == Int(TokenIdsModel.removed) {
                    throw Problem.badRequest(
                        "invalid-parameter",
                        "'baselines': \"removed\" takes each token or word out of its text: use feature_mask tokens or words")
                }
            }
            // The ids take the baseline; the attention mask and token types stay.
            if let baseline {
                var baselines = Dictionary(uniqueKeysWithValues: zip(names, batch.inputs.map(TensorJSON.value(of:))))
                baselines[names[text.ids]] = .number(Double(baseline))
                parameters["baselines"] = .object(baselines)
            }
            return Setup(model: model, inputs: batch.inputs, parameters: parameters, attributedInput: text.ids)
        case .windows:
            parameters["baselines"] = .number(Double(try tokenBaseline(parameters["baselines"], text: text) ?? perInputBaselines()))
            return try eachTextAlone(parameters, explainer: explainer, text: text, batch: batch, model: model, sized: sized, output: output)
        case .maskedTokens:
            return try maskedTokens(
                parameters, explainer: explainer, text: text, batch: batch, model: model, original: original, output: output, limits: limits
            )
        case .words:
            guard let lime = explainer as? Lime else {
                throw Problem(.internalServerError, code: "internal-error", detail: "\(explainer.descriptor.name) is not lime")
            }
            let words = batch.texts.map { IndexedWords($0.text) }
            let samples = zip(words, batch.texts).map { words, instance in
                TextWordSamples(words: words, pair: instance.pair, text: text, model: original, limits: limits)
            }
            let problem = ExplanationProblem(model: model, inputs: batch.inputs, output: output, targets: nil)
            let plan: any ExplanationPlan
            do throws(ExplanationError) { plan = try lime.prepareText(parameters, words: samples, for: problem) } catch {
                throw Problem(error)
            }
            // Each text's samples are tokenized and held together: bounded before any is.
            if case .number(let count)? = plan.effectiveParameters["n_samples"],
                let longest = batch.encodings.map({ $0.withoutPadding.ids.count }).max(),
                count * Double(longest * names.count) > Double(limits.maxInputElements)
            {
                throw Problem(
                    .contentTooLarge, code: "input-too-large",
                    detail:
                        "lime's \(Int(count)) samples of texts of up to \(longest) tokens would exceed the configured limit of \(limits.maxInputElements) input elements: lower n_samples"
                )
            }
            return Setup(model: model, inputs: batch.inputs, parameters: parameters, attributedInput: 0, plan: plan, answer: .words(words))
        }
    }

    /// The methods that replace tokens explain each text alone, without the batch's padding
    /// (`InstanceWisePlan`), its attention mask and token types fixed (`TokenIdsModel`), with
    /// `featureMask` (when given) grouping that text's tokens.
    private static func eachTextAlone(
        _ given: [String: JSONValue], explainer: any Explainer, text: TextInputs, batch: TextInputs.Batch, model: any PredictiveModel,
        sized: (Int) -> any PredictiveModel, output: Int, featureMask: ((TextEncoding) -> JSONValue)? = nil
    ) throws -> Setup {
        var parameters = given
        let removes = given["baselines"] == .number(Double(TokenIdsModel.removed))
        let count = batch.inputs.count
        var parts: [InstanceWisePlan.Part] = []
        for (index, encoding) in batch.encodings.enumerated() {
            // A model with a fixed sequence length takes its padding.
            let own = text.fixedLength == nil ? encoding.withoutPadding : encoding
            let inputs = try text.inputs([own], count: count)
            let companions = Dictionary(uniqueKeysWithValues: inputs.indices.filter { $0 != text.ids }.map { ($0, inputs[$0]) })
            let alone = ExplanationProblem(
                model: TokenIdsModel(
                    base: sized(own.ids.count), ids: text.ids, companions: companions,
                    removalPadding: removes ? text.tokenizer.paddingId : nil),
                inputs: [inputs[text.ids]],
                output: output, targets: nil)
            if let featureMask { parameters["feature_mask"] = featureMask(own) }
            do throws(ExplanationError) {
                parts.append(.init(problem: alone, plan: try explainer.prepare(parameters, for: alone)))
            } catch {
                throw Problem(ExplanationError(error.code, "text \(index): \(error.message)"))
            }
        }
        // Each text's groups are its own, and a removed token is no id: the forms asked for are echoed.
        var echoed: [String: JSONValue] = featureMask == nil ? [:] : ["feature_mask": given["feature_mask"] ?? .null]
        if removes { echoed["baselines"] = "removed" }
        parameters["feature_mask"] = given["feature_mask"]
        return Setup(
            model: model, inputs: batch.inputs, parameters: parameters, attributedInput: 0,
            plan: InstanceWisePlan(parts: parts, echoing: echoed), answer: text.fixedLength == nil ? .unpaddedTokens : .tokens)
    }

    /// The token id the perturbation methods put in place of a token: `baselines` as an id or
    /// a token of the tokenizer (`"[MASK]"`), by default the padding token, or `"removed"`
    /// (`TokenIdsModel.removed`: the token taken out of the text); nil for baselines per input
    /// (an object), which only the per-token ablation of the batch takes.
    private static func tokenBaseline(_ value: JSONValue?, text: TextInputs) throws(Problem) -> Int? {
        switch value {
        case nil, .null?: return text.tokenizer.paddingId
        case .string("removed")?:
            guard text.attentionMask != nil, !text.tokenizer.padsOnLeft, text.fixedLength == nil else {
                throw Problem.badRequest(
                    "invalid-parameter",
                    "'baselines': \"removed\" takes tokens out of the text, which needs a model with an attention_mask input, a free sequence length and padding on the right"
                )
            }
            return Int(TokenIdsModel.removed)
        case .string(let token)?:
            guard let id = text.tokenizer.id(of: token) else {
                throw Problem.badRequest(
                    "invalid-parameter",
                    "'baselines' names '\(token)', which is no token of this model's tokenizer (for example [PAD] or [MASK])")
            }
            return id
        case .number(let id)? where id == id.rounded() && id >= 0 && id < Double(text.tokenizer.idLimit):
            return Int(id)
        case .object?: return nil
        default:
            throw Problem.badRequest(
                "invalid-parameter",
                "'baselines' on text is a token id of the tokenizer (below \(text.tokenizer.idLimit)), a token such as [MASK], \"removed\", or baselines per input name"
            )
        }
    }

    private static func perInputBaselines() throws(Problem) -> Int {
        throw Problem.badRequest(
            "invalid-parameter", "'baselines' here is one token for every text: a token id or a token such as [MASK], not one per input")
    }

    /// Captum's feature mask over words: the tokens of a word (`wordIds`, in each text of a
    /// pair) share a group, each special or padding token is alone, numbered in order.
    static func wordGroups(_ encoding: TextEncoding) -> [Int] {
        var numbers: [String: Int] = [:]
        return encoding.ids.indices.map { position in
            let key =
                encoding.wordIds[position].map { "\(encoding.sequenceIds[position] ?? 0):\($0)" } ?? "special:\(position)"
            if let number = numbers[key] { return number }
            numbers[key] = numbers.count
            return numbers.count - 1
        }
    }

    /// partition_shap's and kernel_shap's setup: each text's tokens masked as SHAP's Text
    /// masker masks them (for partition_shap, in SHAP's hierarchy of them); the masker's
    /// settings default to the tokenizer's (its mask token, not collapsed; else "...",
    /// collapsed, as SHAP's `auto`).
    private static func maskedTokens(
        _ given: [String: JSONValue], explainer: any Explainer, text: TextInputs, batch: TextInputs.Batch, model: any PredictiveModel,
        original: any PredictiveModel, output: Int, limits: CandorConfiguration.Limits
    ) throws -> Setup {
        let method = explainer.descriptor.name
        if let paired = batch.texts.firstIndex(where: { $0.pair != nil }) {
            throw Problem.badRequest(
                "invalid-input", "\(method) masks the tokens of one text; instance \(paired) has a text_pair: send the text alone")
        }
        var parameters = given
        let settings: (maskToken: String?, collapse: Bool?)
        do { settings = try TokenMasking.settings(parameters, of: explainer.descriptor) } catch { throw Problem(error) }
        let maskToken = settings.maskToken ?? text.tokenizer.maskToken ?? "..."
        let collapse = settings.collapse ?? (settings.maskToken != nil || text.tokenizer.maskToken == nil)
        parameters["mask_token"] = .string(maskToken)
        parameters["collapse_mask_token"] = .bool(collapse)
        let around = text.tokenizer.specialTokensAround
        let separator = text.tokenizer.separatorToken
        var samples: [any TextSamples] = []
        var hierarchies: [FeatureHierarchy] = []
        for (index, encoding) in batch.encodings.enumerated() {
            let masker = ShapTextMasker(
                text: batch.texts[index].text, encoding: encoding.withoutPadding, keepPrefix: around.before, keepSuffix: around.after,
                maskToken: maskToken, collapsesMaskTokens: collapse, separatorToken: separator)
            let tokens = masker.clusteringTokens
            guard !tokens.isEmpty else {
                throw Problem.badRequest("invalid-input", "text \(index) has no tokens for \(method) to mask")
            }
            // SHAP's masker cuts segments from the whole text; a text the tokenizer cuts short
            // would lose its tail (or, cut on the left, fold its head into [CLS]).
            if text.tokenizer.truncates(batch.texts[index].text) {
                throw Problem.badRequest(
                    "invalid-input",
                    "text \(index) is longer than this tokenizer keeps: \(method) masks every token of a text, as SHAP does; send a shorter text"
                )
            }
            if explainer is PartitionShap {
                guard tokens.count <= PartitionShap.maximumTokens else {
                    throw Problem(
                        .contentTooLarge, code: "input-too-large",
                        detail: "text \(index) has \(tokens.count) tokens; partition_shap takes at most \(PartitionShap.maximumTokens)")
                }
                let tree = TokenHierarchy(tokens: tokens, specialTokens: separator.map { [$0] } ?? [])
                do { hierarchies.append(try FeatureHierarchy(count: tokens.count, merges: tree.merges.map { ($0.left, $0.right) })) } catch
                {
                    throw Problem(error)
                }
            }
            samples.append(TextMaskSamples(masker: masker, text: text, model: original, limits: limits))
        }
        let problem = ExplanationProblem(model: model, inputs: batch.inputs, output: output, targets: nil)
        let plan: any ExplanationPlan
        do throws(ExplanationError) {
            switch explainer {
            case let partition as PartitionShap:
                plan = try partition.prepareText(parameters, texts: samples, hierarchies: hierarchies, for: problem)
            case let kernel as KernelShap: plan = try kernel.prepareText(parameters, texts: samples, for: problem)
            default: throw ExplanationError(.modelFailure, "\(method) does not mask text")
            }
        } catch {
            throw Problem(error)
        }
        return Setup(model: model, inputs: batch.inputs, parameters: parameters, attributedInput: 0, plan: plan, answer: .unpaddedTokens)
    }

    /// Whether two declared extents can be the same axis: both free, or both the same number.
    private static func sameExtent(_ first: Dimension, _ second: Dimension) -> Bool {
        switch (first, second) {
        case (.symbolic, .symbolic): true
        case (.fixed(let a), .fixed(let b)): a == b
        default: false
        }
    }

    private static var noEmbeddingLookup: Problem {
        Problem.badRequest(
            "invalid-parameter",
            "this model's graph looks input_ids up in no embedding table Candor can find: name the layer to attribute at with 'layer'")
    }

    /// One instance's attributions per token: the layer's (or `input_ids`') attributions at
    /// each position summed over the rest of their axes, the padding left out (`unpadded`: the
    /// attributions are of the text's own tokens already).
    static func tokenAttributions(
        _ attributions: Tensor, encoding padded: TextEncoding, unpadded: Bool, reduce: Reduction
    ) throws(Problem) -> Tensor {
        let encoding = unpadded ? padded.withoutPadding : padded
        let length = encoding.ids.count
        guard attributions.rank >= 1, attributions.shape[0] == length else {
            throw Problem(
                .internalServerError, code: "internal-error",
                detail: "attributions of shape \(attributions.shape) are not one per token of \(length)")
        }
        let width = attributions.count / max(length, 1)
        let scalars = attributions.scalars
        var perToken: [Float] = []
        for position in 0..<length where encoding.attentionMask[position] == 1 {
            let values = scalars[(position * width)..<((position + 1) * width)]
            if reduce == .sum { perToken.append(values.reduce(0, +)) } else { perToken += values }
        }
        let shape = reduce == .sum ? [perToken.count] : [perToken.count / max(width, 1)] + attributions.shape.dropFirst()
        do { return try Tensor(shape: shape, scalars: perToken) } catch {
            throw Problem(.internalServerError, code: "internal-error", detail: "\(error)")
        }
    }

    /// A token of the answer: its text, and where it stands in the instance's text (or its
    /// pair, `"in": "text_pair"`); the special tokens the tokenizer adds carry no offsets.
    struct Token: Encodable {
        let token: String
        let start: Int?
        let end: Int?
        let special: Bool?
        let within: String?

        enum CodingKeys: String, CodingKey {
            case token, start, end, special
            case within = "in"
        }
    }

    /// One text explanation's answer: its tokens (or lime's words) beside one attribution each
    /// (per dimension with `reduce: none`), and with `highlight` the text highlighted by them.
    static func answer(
        _ body: inout ExplanationBody, row: Int, attributions: Tensor, batch: TextInputs.Batch, form: Answer, reduce: Reduction,
        highlight: Bool
    ) throws(Problem) {
        let spans: [TextHighlight.Span]
        switch form {
        case .words(let words):
            body.attributions = [("words", attributions)]
            body.words = Self.words(words[row])
            guard highlight else { return }
            spans = Self.spans(words[row], weights: attributions)
        case .tokens, .unpaddedTokens:
            let encoding = batch.encodings[row]
            let unpadded = if case .unpaddedTokens = form { true } else { false }
            let perToken = try tokenAttributions(attributions, encoding: encoding, unpadded: unpadded, reduce: reduce)
            body.attributions = [("tokens", perToken)]
            body.tokens = tokens(encoding)
            guard highlight else { return }
            let summed =
                reduce == .sum ? perToken : try tokenAttributions(attributions, encoding: encoding, unpadded: unpadded, reduce: .sum)
            spans = Self.spans(encoding, attributions: summed)
        }
        body.html = TextHighlight.html(text: batch.texts[row].text, pair: batch.texts[row].pair, spans: spans)
    }

    /// A word of the answer (lime's features): the word and where each occurrence stands in
    /// the text, [start, end) in Unicode scalars.
    struct Word: Encodable {
        let word: String
        let offsets: [[Int]]
    }

    private static func words(_ words: IndexedWords) -> [Word] {
        zip(words.words, words.occurrences).map { word, occurrences in
            Word(word: word, offsets: occurrences.map { [$0.lowerBound, $0.upperBound] })
        }
    }

    /// The stretches of text the words' weights highlight: every occurrence of each word.
    private static func spans(_ words: IndexedWords, weights: Tensor) -> [TextHighlight.Span] {
        zip(words.occurrences, weights.scalars).flatMap { occurrences, weight in
            occurrences.map { TextHighlight.Span(range: $0, within: 0, value: Double(weight)) }
        }
    }

    /// The stretches of text the tokens' attributions highlight: each token of the text or its
    /// pair at its offsets (special tokens stand for no text).
    private static func spans(_ encoding: TextEncoding, attributions: Tensor) -> [TextHighlight.Span] {
        let own = encoding.withoutPadding
        return zip(own.ids.indices, attributions.scalars).compactMap { position, value in
            own.sequenceIds[position].map { TextHighlight.Span(range: own.offsets[position], within: $0, value: Double(value)) }
        }
    }

    /// The tokens of one instance, padding left out.
    static func tokens(_ encoding: TextEncoding) -> [Token] {
        encoding.ids.indices.filter { encoding.attentionMask[$0] == 1 }.map { position in
            guard let sequence = encoding.sequenceIds[position] else {
                return Token(token: encoding.tokens[position], start: nil, end: nil, special: true, within: nil)
            }
            let offsets = encoding.offsets[position]
            return Token(
                token: encoding.tokens[position], start: offsets.lowerBound, end: offsets.upperBound, special: nil,
                within: sequence == 1 ? "text_pair" : nil)
        }
    }
}
