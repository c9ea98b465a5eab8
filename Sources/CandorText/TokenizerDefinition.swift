import Foundation

/// Reading a `tokenizer.json` (the `tokenizers` library's serialization, version 1.0).
extension TextTokenizer {
    public init(json data: Data) throws(TokenizerError) {
        let root: [String: Any]
        do {
            guard let object = try JSONSerialization.jsonObject(with: data) as? [String: Any] else {
                throw TokenizerError(description: "a tokenizer.json must be a JSON object")
            }
            root = object
        } catch let error as TokenizerError {
            throw error
        } catch {
            throw TokenizerError(description: "the tokenizer.json is not valid JSON (\(error))")
        }
        let processor = try Self.object(root["post_processor"], "post_processor")
        self.init(
            addedTokens: AddedTokens(try Self.addedTokens(root["added_tokens"])), normalizer: try Self.normalizer(root["normalizer"]),
            preTokenizer: try Self.preTokenizer(root["pre_tokenizer"]), model: try Self.model(root["model"]),
            single: try Self.template(processor, pair: false), pair: try Self.template(processor, pair: true),
            trimsOffsets: try Self.trimsOffsets(processor), truncation: try Self.truncation(root["truncation"]),
            padding: try Self.padding(root["padding"]))
    }

    static func object(_ value: Any?, _ what: String) throws(TokenizerError) -> [String: Any]? {
        if value == nil || value is NSNull { return nil }
        guard let object = value as? [String: Any] else { throw TokenizerError(description: "\(what) must be an object") }
        return object
    }

    private static func type(of object: [String: Any], _ what: String, supported: [String]) throws(TokenizerError) -> String {
        let type = object["type"] as? String ?? "?"
        guard supported.contains(type) else {
            throw TokenizerError(
                description: "the tokenizer's \(what) '\(type)' is not supported; supported: \(supported.joined(separator: ", "))")
        }
        return type
    }

    /// An integer setting; lengths and counts are held to `range`, so that a hostile file can
    /// neither overflow the arithmetic nor ask for unbounded work.
    private static func integer(_ value: Any?, _ what: String, in range: ClosedRange<Int> = 0...Int(Int32.max)) throws(TokenizerError)
        -> Int
    {
        guard let number = value as? NSNumber, let integer = Int(exactly: number.doubleValue), range.contains(integer) else {
            throw TokenizerError(description: "\(what) must be an integer from \(range.lowerBound) to \(range.upperBound)")
        }
        return integer
    }

    /// The longest sequence a tokenizer may truncate or pad to.
    static let maximumLength = 1_000_000

    static func model(_ value: Any?) throws(TokenizerError) -> Model {
        guard let model = try object(value, "model") else { throw TokenizerError(description: "the tokenizer has no model") }
        let kind = try type(of: model, "model", supported: ["WordPiece", "BPE"])
        guard let entries = model["vocab"] as? [String: Any], !entries.isEmpty else {
            throw TokenizerError(description: "the \(kind) model has no vocabulary")
        }
        var vocabulary: [String: Int] = [:]
        for (token, id) in entries { vocabulary[token] = try integer(id, "the id of vocabulary entry '\(token)'") }
        guard kind == "WordPiece" else { return .bytePairEncoding(try bytePairEncoding(model, vocabulary: vocabulary)) }
        let unknown = model["unk_token"] as? String ?? "[UNK]"
        guard vocabulary[unknown] != nil else {
            throw TokenizerError(description: "the WordPiece model's unknown token '\(unknown)' is not in its vocabulary")
        }
        return .wordPiece(
            WordPiece(
                vocabulary: vocabulary, unknownToken: unknown,
                continuingSubwordPrefix: model["continuing_subword_prefix"] as? String ?? "##",
                maxInputCharsPerWord: try model["max_input_chars_per_word"].map { value throws(TokenizerError) in
                    try integer(value, "max_input_chars_per_word", in: 1...1_000)
                } ?? 100))
    }

    /// A BPE model: its merges as `"a b"` strings or `["a", "b"]` pairs, in rank order.
    static func bytePairEncoding(_ model: [String: Any], vocabulary: [String: Int]) throws(TokenizerError) -> BytePairEncoding {
        for option in ["dropout", "continuing_subword_prefix", "end_of_word_suffix"] {
            if let value = model[option], !(value is NSNull) {
                throw TokenizerError(description: "BPE option '\(option)' is not supported")
            }
        }
        if model["byte_fallback"] as? Bool == true { throw TokenizerError(description: "BPE option 'byte_fallback' is not supported") }
        guard let merges = model["merges"] as? [Any] else { throw TokenizerError(description: "the BPE model has no merges") }
        var ranks: [BytePairEncoding.Pair: Int] = [:]
        for (rank, merge) in merges.enumerated() {
            let parts: [String]
            if let text = merge as? String {
                parts = text.split(separator: " ", omittingEmptySubsequences: false).map(String.init)
            } else {
                parts = merge as? [String] ?? []
            }
            guard parts.count == 2 else { throw TokenizerError(description: "BPE merge \(rank) is not a pair of symbols") }
            let pair = BytePairEncoding.Pair(left: parts[0], right: parts[1])
            if ranks[pair] == nil { ranks[pair] = rank }
        }
        let unknown = model["unk_token"] as? String
        if let unknown, vocabulary[unknown] == nil {
            throw TokenizerError(description: "the BPE model's unknown token '\(unknown)' is not in its vocabulary")
        }
        return BytePairEncoding(
            vocabulary: vocabulary, ranks: ranks, unknownToken: unknown, ignoreMerges: model["ignore_merges"] as? Bool ?? false)
    }

    static func addedTokens(_ value: Any?) throws(TokenizerError) -> [AddedToken] {
        guard let entries = value as? [[String: Any]] else { return [] }
        return try entries.map { entry throws(TokenizerError) in
            guard let content = entry["content"] as? String else { throw TokenizerError(description: "an added token has no content") }
            for option in ["single_word", "lstrip", "rstrip", "normalized"] where entry[option] as? Bool == true {
                throw TokenizerError(description: "added token '\(content)' uses '\(option)', which is not supported")
            }
            return AddedToken(id: try integer(entry["id"], "the id of added token '\(content)'"), content: Array(content.unicodeScalars))
        }
    }

    static func normalizer(_ value: Any?) throws(TokenizerError) -> BertNormalizer? {
        guard let normalizer = try object(value, "normalizer") else { return nil }
        _ = try type(of: normalizer, "normalizer", supported: ["BertNormalizer"])
        return BertNormalizer(
            cleanText: normalizer["clean_text"] as? Bool ?? true, handleChineseChars: normalizer["handle_chinese_chars"] as? Bool ?? true,
            stripAccents: normalizer["strip_accents"] as? Bool, lowercase: normalizer["lowercase"] as? Bool ?? true)
    }

    static func preTokenizer(_ value: Any?) throws(TokenizerError) -> PreTokenizer? {
        guard let preTokenizer = try object(value, "pre_tokenizer") else { return nil }
        guard try type(of: preTokenizer, "pre-tokenizer", supported: ["BertPreTokenizer", "ByteLevel"]) == "ByteLevel" else {
            return .bert
        }
        if preTokenizer["add_prefix_space"] as? Bool == true {
            throw TokenizerError(description: "the ByteLevel pre-tokenizer's add_prefix_space is not supported")
        }
        return .byteLevel(splitting: preTokenizer["use_regex"] as? Bool ?? true)
    }

    /// Whether RoBERTa's post-processor trims offsets (it must not expect a prefix space).
    static func trimsOffsets(_ processor: [String: Any]?) throws(TokenizerError) -> Bool {
        guard let processor, processor["type"] as? String == "RobertaProcessing" else { return false }
        let trims = processor["trim_offsets"] as? Bool ?? true
        if trims, processor["add_prefix_space"] as? Bool ?? true {
            throw TokenizerError(description: "RobertaProcessing with add_prefix_space is not supported")
        }
        return trims
    }

    /// The post-processor's layout for one text or a pair; none: the tokens alone.
    static func template(_ processor: [String: Any]?, pair: Bool) throws(TokenizerError) -> [TemplatePiece] {
        let plain: [TemplatePiece] =
            pair ? [.sequence(second: false, typeId: 0), .sequence(second: true, typeId: 1)] : [.sequence(second: false, typeId: 0)]
        guard let processor else { return plain }
        let kind = try type(of: processor, "post-processor", supported: ["TemplateProcessing", "BertProcessing", "RobertaProcessing"])
        switch kind {
        case "BertProcessing", "RobertaProcessing":
            guard let cls = processor["cls"] as? [Any], let sep = processor["sep"] as? [Any], cls.count == 2, sep.count == 2,
                let clsToken = cls[0] as? String, let sepToken = sep[0] as? String
            else { throw TokenizerError(description: "\(kind) needs cls and sep as [token, id]") }
            let start = TemplatePiece.special(ids: [try integer(cls[1], "cls's id")], tokens: [clsToken], typeId: 0)
            let sepId = try integer(sep[1], "sep's id")
            let end = TemplatePiece.special(ids: [sepId], tokens: [sepToken], typeId: 0)
            let first: [TemplatePiece] = [start, .sequence(second: false, typeId: 0), end]
            guard pair else { return first }
            // BERT: [CLS] A [SEP] B [SEP], B's part of type 1; RoBERTa: <s> A </s> </s> B </s>, all of type 0.
            guard kind == "RobertaProcessing" else {
                return first + [.sequence(second: true, typeId: 1), .special(ids: [sepId], tokens: [sepToken], typeId: 1)]
            }
            return first + [end, .sequence(second: true, typeId: 0), end]
        default:
            guard let pieces = processor[pair ? "pair" : "single"] as? [[String: Any]] else {
                throw TokenizerError(description: "TemplateProcessing has no '\(pair ? "pair" : "single")' template")
            }
            let specials = processor["special_tokens"] as? [String: Any] ?? [:]
            return try pieces.map { piece throws(TokenizerError) in
                if let special = piece["SpecialToken"] as? [String: Any], let name = special["id"] as? String {
                    guard let definition = specials[name] as? [String: Any], let ids = definition["ids"] as? [Any],
                        let tokens = definition["tokens"] as? [String], ids.count == tokens.count
                    else { throw TokenizerError(description: "TemplateProcessing does not define special token '\(name)'") }
                    return .special(
                        ids: try ids.map { id throws(TokenizerError) in try integer(id, "an id of '\(name)'") }, tokens: tokens,
                        typeId: try integer(special["type_id"] ?? 0, "a type id"))
                }
                if let sequence = piece["Sequence"] as? [String: Any], let name = sequence["id"] as? String, ["A", "B"].contains(name) {
                    return .sequence(second: name == "B", typeId: try integer(sequence["type_id"] ?? 0, "a type id"))
                }
                throw TokenizerError(description: "TemplateProcessing has a piece that is neither a SpecialToken nor Sequence A or B")
            }
        }
    }

    static func truncation(_ value: Any?) throws(TokenizerError) -> Truncation? {
        guard let truncation = try object(value, "truncation") else { return nil }
        let name = truncation["strategy"] as? String ?? "LongestFirst"
        guard let strategy = Truncation.Strategy(rawValue: name) else {
            throw TokenizerError(
                description: "truncation strategy '\(name)' is not supported; supported: LongestFirst, OnlyFirst, OnlySecond")
        }
        if let stride = truncation["stride"], try integer(stride, "truncation stride") != 0 {
            throw TokenizerError(description: "truncation with a stride (overflowing windows) is not supported")
        }
        return Truncation(
            maxLength: try integer(truncation["max_length"], "truncation max_length", in: 0...maximumLength), strategy: strategy,
            fromLeft: truncation["direction"] as? String == "Left")
    }

    static func padding(_ value: Any?) throws(TokenizerError) -> Padding? {
        guard let padding = try object(value, "padding") else { return nil }
        var length: Int?
        if let fixed = (padding["strategy"] as? [String: Any])?["Fixed"] {
            length = try integer(fixed, "padding length", in: 0...maximumLength)
        } else if padding["strategy"] as? String != "BatchLongest" {
            throw TokenizerError(description: "padding strategy must be BatchLongest or Fixed")
        }
        return Padding(
            length: length,
            multipleOf: try padding["pad_to_multiple_of"].flatMap { $0 is NSNull ? nil : $0 }.map { value throws(TokenizerError) in
                try integer(value, "pad_to_multiple_of", in: 1...maximumLength)
            },
            onLeft: padding["direction"] as? String == "Left", id: try integer(padding["pad_id"] ?? 0, "pad_id"),
            typeId: try integer(padding["pad_type_id"] ?? 0, "pad_type_id"), token: padding["pad_token"] as? String ?? "[PAD]")
    }
}
