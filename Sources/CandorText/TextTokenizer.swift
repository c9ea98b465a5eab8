import Foundation

/// Why a `tokenizer.json` cannot be used: malformed, or a component Candor does not
/// implement (named, with what is implemented).
public struct TokenizerError: Error, CustomStringConvertible, Equatable {
    public let description: String
}

/// One encoded text, or pair of texts, as `tokenizers` encodes it (its `Encoding`).
public struct TextEncoding: Sendable, Equatable {
    public var ids: [Int] = []
    public var tokens: [String] = []
    /// The input scalars each token stands for (of the second text, for its tokens); empty
    /// for the tokens the post-processor and the padding add.
    public var offsets: [Range<Int>] = []
    public var typeIds: [Int] = []
    public var attentionMask: [Int] = []
    /// 1 for the tokens the post-processor and the padding add, 0 for the text's own (a
    /// special token written in the text included).
    public var specialTokensMask: [Int] = []
    /// Which text each token comes from: 0 the first, 1 the second; nil for the tokens the
    /// post-processor and the padding add (`tokenizers`' `sequence_ids`).
    public var sequenceIds: [Int?] = []
    /// The word of its text each token spells, counted from 0 in each text (`tokenizers`'
    /// `word_ids`): a word of the pre-tokenizer, or an added token written in the text; nil
    /// for the tokens the post-processor and the padding add.
    public var wordIds: [Int?] = []

    mutating func append(
        id: Int, token: String, offset: Range<Int>, typeId: Int, attention: Int = 1, special: Int = 0, sequence: Int? = nil,
        word: Int? = nil
    ) {
        sequenceIds.append(special == 1 ? nil : sequence)
        wordIds.append(special == 1 ? nil : word)
        ids.append(id)
        tokens.append(token)
        offsets.append(offset)
        typeIds.append(typeId)
        attentionMask.append(attention)
        specialTokensMask.append(special)
    }

    mutating func append(contentsOf other: TextEncoding) {
        ids += other.ids
        tokens += other.tokens
        offsets += other.offsets
        typeIds += other.typeIds
        attentionMask += other.attentionMask
        specialTokensMask += other.specialTokensMask
        sequenceIds += other.sequenceIds
        wordIds += other.wordIds
    }

    var count: Int { ids.count }

    /// The tokens the attention mask keeps, padding left out (padding sits at one end, so
    /// they are contiguous).
    public var withoutPadding: TextEncoding {
        guard let first = attentionMask.firstIndex(of: 1), let last = attentionMask.lastIndex(of: 1) else { return TextEncoding() }
        return slice(first..<(last + 1))
    }

    /// The first `count` tokens, or with `fromEnd` the last.
    func keeping(_ count: Int, fromEnd: Bool) -> TextEncoding {
        slice(fromEnd ? max(0, ids.count - count)..<ids.count : 0..<min(count, ids.count))
    }

    private func slice(_ range: Range<Int>) -> TextEncoding {
        TextEncoding(
            ids: Array(ids[range]), tokens: Array(tokens[range]), offsets: Array(offsets[range]),
            typeIds: Array(typeIds[range]), attentionMask: Array(attentionMask[range]),
            specialTokensMask: Array(specialTokensMask[range]), sequenceIds: Array(sequenceIds[range]), wordIds: Array(wordIds[range]))
    }
}

/// A text tokenizer defined by a Hugging Face `tokenizer.json`, implemented from that
/// format's definition and checked against the `tokenizers` library (Tests/Fixtures/text).
/// The pipeline, per text: the added tokens (`[CLS]`, `[MASK]`, …) written in it are cut out
/// first and kept whole; the rest is normalized, split into words and spelled by the model;
/// the post-processor adds its special tokens around the sequence (or pair), after
/// truncation has made room for them; padding fills to the configured length.
///
/// Implemented today: BERT's pipeline (`BertNormalizer`, `BertPreTokenizer`, `WordPiece`,
/// `TemplateProcessing` or `BertProcessing`) and GPT-2's and RoBERTa's (no normalizer, the
/// `ByteLevel` pre-tokenizer, `BPE`, `RobertaProcessing` with its trimmed offsets),
/// truncation (longest first, only first, only second; either direction) and padding (fixed
/// length or none, either side, to a multiple). Anything else is refused when the file is
/// read, naming it.
public struct TextTokenizer: Sendable {
    enum Model: Equatable {
        case wordPiece(WordPiece)
        case bytePairEncoding(BytePairEncoding)

        var vocabulary: [String: Int] {
            switch self {
            case .wordPiece(let model): model.vocabulary
            case .bytePairEncoding(let model): model.vocabulary
            }
        }

        func pieces(of word: ArraySlice<Unicode.Scalar>) -> [WordPieceSpan] {
            switch self {
            case .wordPiece(let model): model.pieces(of: word)
            case .bytePairEncoding(let model): model.pieces(of: word)
            }
        }
    }

    enum PreTokenizer: Equatable {
        case bert
        /// GPT-2's split (or none) and the bytes as characters.
        case byteLevel(splitting: Bool)

        func words(_ text: AlignedText) -> [AlignedText] {
            switch self {
            case .bert: BertPreTokenizer.words(text).map(text.slice)
            case .byteLevel(let splitting): ByteLevel.words(text, splitting: splitting)
            }
        }
    }
    struct AddedToken: Equatable {
        let id: Int
        let content: [Unicode.Scalar]
    }

    /// The added tokens, indexed once: by their first scalar, longest first (so that a text
    /// position tries only those that can start there), and by their text.
    struct AddedTokens: Equatable {
        let tokens: [AddedToken]
        let byFirstScalar: [Unicode.Scalar: [AddedToken]]
        let byText: [String: Int]

        init(_ tokens: [AddedToken]) {
            self.tokens = tokens
            var byFirstScalar: [Unicode.Scalar: [AddedToken]] = [:]
            for token in tokens where !token.content.isEmpty { byFirstScalar[token.content[0], default: []].append(token) }
            for first in byFirstScalar.keys { byFirstScalar[first]?.sort { $0.content.count > $1.content.count } }
            self.byFirstScalar = byFirstScalar
            byText = Dictionary(
                tokens.map { (String(String.UnicodeScalarView($0.content)), $0.id) }, uniquingKeysWith: { first, _ in first })
        }
    }

    enum TemplatePiece: Equatable {
        case special(ids: [Int], tokens: [String], typeId: Int)
        case sequence(second: Bool, typeId: Int)
    }

    struct Truncation: Equatable {
        enum Strategy: String { case longestFirst = "LongestFirst", onlyFirst = "OnlyFirst", onlySecond = "OnlySecond" }
        let maxLength: Int
        let strategy: Strategy
        let fromLeft: Bool
    }

    struct Padding: Equatable {
        /// nil: to the longest of a batch, which for one encoding is no padding.
        let length: Int?
        let multipleOf: Int?
        let onLeft: Bool
        let id: Int
        let typeId: Int
        let token: String
    }

    let addedTokens: AddedTokens
    let normalizer: BertNormalizer?
    /// nil: the whole text is one word.
    let preTokenizer: PreTokenizer?
    let model: Model
    let single: [TemplatePiece]
    let pair: [TemplatePiece]
    /// RoBERTa's post-processor trims each token's offsets of the spaces it spells.
    let trimsOffsets: Bool
    let truncation: Truncation?
    let padding: Padding?

    public func encode(_ text: String, pair second: String? = nil) -> TextEncoding {
        var first = encodeSequence(text)
        var other = second.map(encodeSequence)
        if trimsOffsets {
            trimOffsets(&first)
            if var encoded = other {
                trimOffsets(&encoded)
                other = encoded
            }
        }
        if let truncation {
            truncate(&first, &other, truncation)
        }
        var encoding = TextEncoding()
        for piece in other == nil ? single : pair {
            switch piece {
            case .special(let ids, let tokens, let typeId):
                for (id, token) in zip(ids, tokens) { encoding.append(id: id, token: token, offset: 0..<0, typeId: typeId, special: 1) }
            case .sequence(let isSecond, let typeId):
                guard let sequence = isSecond ? other : first else { continue }
                for index in 0..<sequence.count {
                    encoding.append(
                        id: sequence.ids[index], token: sequence.tokens[index], offset: sequence.offsets[index], typeId: typeId,
                        sequence: isSecond ? 1 : 0, word: sequence.wordIds[index])
                }
            }
        }
        if let padding { pad(&encoding, padding) }
        return encoding
    }

    /// A batch of encodings as a model takes them, a rectangle: each padded to the longest of
    /// the batch (rounded up to the file's `pad_to_multiple_of`), or to `length` if that is
    /// longer, as `tokenizers`' `encode_batch` pads — with the file's padding token, side and
    /// type id, or, when the file does not pad, at the right with `[PAD]` or `<pad>` (else id
    /// 0). Encodings already padded to a fixed length by the file stay as they are.
    public func padded(_ encodings: [TextEncoding], length: Int = 0) -> [TextEncoding] {
        var longest = max(length, encodings.map(\.count).max() ?? 0)
        if let multiple = padding?.multipleOf, multiple > 0, longest % multiple != 0 { longest += multiple - longest % multiple }
        let filler = padding ?? defaultPadding
        let batchPadding = Padding(
            length: longest, multipleOf: nil, onLeft: filler.onLeft, id: filler.id, typeId: filler.typeId, token: filler.token)
        return encodings.map { encoding in
            var padded = encoding
            pad(&padded, batchPadding)
            return padded
        }
    }

    /// Whether padding goes before the tokens (the file's `direction: Left`).
    public var padsOnLeft: Bool { padding?.onLeft ?? false }

    /// One past the largest id the tokenizer gives (its vocabulary's and added tokens').
    public var idLimit: Int {
        max(model.vocabulary.values.max() ?? -1, addedTokens.byText.values.max() ?? -1) + 1
    }

    /// Whether the file's truncation cuts `text` short (one text, no pair).
    public func truncates(_ text: String) -> Bool {
        guard let truncation else { return false }
        let around = specialTokensAround
        return encodeSequence(text).count + around.before + around.after > truncation.maxLength
    }

    /// The id of a token of the vocabulary or of the added tokens (`[PAD]`, `<mask>`), if any.
    public func id(of token: String) -> Int? {
        model.vocabulary[token] ?? addedTokens.byText[token]
    }

    /// The token a masker writes for a masked one (transformers' `mask_token`): `[MASK]` or
    /// `<mask>`, when the file adds it as a token, so that it is read back as itself.
    public var maskToken: String? { ["[MASK]", "<mask>"].first { addedTokens.byText[$0] != nil } }

    /// The separator token (transformers' `sep_token`): `[SEP]` or `</s>`, when the file adds it.
    public var separatorToken: String? { ["[SEP]", "</s>"].first { addedTokens.byText[$0] != nil } }

    /// How many special tokens the post-processor puts before and after a single text ([CLS]
    /// and [SEP]: one and one), which a masker keeps (SHAP's `keep_prefix` and `keep_suffix`).
    public var specialTokensAround: (before: Int, after: Int) {
        var counts = (before: 0, after: 0)
        var seenText = false
        for piece in single {
            switch piece {
            case .special(let ids, _, _):
                if seenText { counts.after += ids.count } else { counts.before += ids.count }
            case .sequence: seenText = true
            }
        }
        return counts
    }

    /// The id that pads a sequence: the file's padding id, else that of `[PAD]` or `<pad>`,
    /// else 0 (padded positions are masked out by the attention mask).
    public var paddingId: Int { (padding ?? defaultPadding).id }

    /// Padding at the right with `[PAD]` or `<pad>`, for a file without padding settings.
    private var defaultPadding: Padding {
        let token = ["[PAD]", "<pad>"].first { id(of: $0) != nil }
        return Padding(length: nil, multipleOf: nil, onLeft: false, id: token.flatMap(id(of:)) ?? 0, typeId: 0, token: token ?? "")
    }

    /// One text's tokens, before post-processing.
    func encodeSequence(_ text: String) -> TextEncoding {
        let input = Array(text.unicodeScalars)
        var encoding = TextEncoding()
        var segmentStart = 0
        var position = 0
        var word = 0
        func encodePlain(_ range: Range<Int>) {
            guard !range.isEmpty else { return }
            var aligned = AlignedText(input[range], offset: range.lowerBound)
            normalizer?.normalize(&aligned)
            let words = preTokenizer?.words(aligned) ?? [aligned]
            for spelled in words where !spelled.scalars.isEmpty {
                for piece in model.pieces(of: spelled.scalars[...]) {
                    encoding.append(id: piece.id, token: piece.token, offset: spelled.origin(of: piece.range), typeId: 0, word: word)
                }
                word += 1
            }
        }
        while position < input.count {
            // Leftmost, then longest, added token.
            let match = addedTokens.byFirstScalar[input[position]]?.first { token in
                position + token.content.count <= input.count
                    && input[position..<position + token.content.count].elementsEqual(token.content)
            }
            guard let match else {
                position += 1
                continue
            }
            encodePlain(segmentStart..<position)
            let end = position + match.content.count
            encoding.append(
                id: match.id, token: String(String.UnicodeScalarView(match.content)), offset: position..<end, typeId: 0, word: word)
            word += 1
            position = end
            segmentStart = end
        }
        encodePlain(segmentStart..<input.count)
        return encoding
    }

    /// RoBERTa's trimming (`trim_offsets`, without a prefix space): a token's offsets leave
    /// out the spaces (`Ġ`, or whitespace) it begins or ends with, never past each other.
    func trimOffsets(_ encoding: inout TextEncoding) {
        func isSpace(_ scalar: Unicode.Scalar) -> Bool { scalar == ByteLevel.space || scalar.properties.isWhitespace }
        for index in encoding.offsets.indices {
            let scalars = Array(encoding.tokens[index].unicodeScalars)
            let leading = scalars.prefix(while: isSpace).count
            let trailing = scalars.reversed().prefix(while: isSpace).count
            var offset = encoding.offsets[index]
            if leading > 0 { offset = min(offset.lowerBound + leading, offset.upperBound)..<offset.upperBound }
            if trailing > 0, offset.upperBound >= trailing {
                offset = offset.lowerBound..<max(offset.upperBound - trailing, offset.lowerBound)
            }
            encoding.offsets[index] = offset
        }
    }

    /// Cuts the sequences to `maxLength` less the post-processor's tokens, as `tokenizers`
    /// does: longest first shortens the longer sequence, and both to half the room when the
    /// shorter alone takes more than half.
    func truncate(_ first: inout TextEncoding, _ second: inout TextEncoding?, _ truncation: Truncation) {
        let added = (second == nil ? single : pair).reduce(0) { count, piece in
            if case .special(let ids, _, _) = piece { return count + ids.count }
            return count
        }
        let room = max(0, truncation.maxLength - added)
        guard var other = second else {
            if first.count > room { first = first.keeping(room, fromEnd: truncation.fromLeft) }
            return
        }
        guard first.count + other.count > room else { return }
        switch truncation.strategy {
        case .onlyFirst: first = first.keeping(max(0, room - other.count), fromEnd: truncation.fromLeft)
        case .onlySecond: other = other.keeping(max(0, room - first.count), fromEnd: truncation.fromLeft)
        case .longestFirst:
            var (shorter, longer) = (min(first.count, other.count), max(first.count, other.count))
            longer = shorter > room ? shorter : max(shorter, room - shorter)
            if shorter + longer > room {
                shorter = room / 2
                longer = shorter + room % 2
            }
            let (firstLength, otherLength) = first.count > other.count ? (longer, shorter) : (shorter, longer)
            first = first.keeping(firstLength, fromEnd: truncation.fromLeft)
            other = other.keeping(otherLength, fromEnd: truncation.fromLeft)
        }
        second = other
    }

    func pad(_ encoding: inout TextEncoding, _ padding: Padding) {
        guard var target = padding.length else { return }
        if let multiple = padding.multipleOf, multiple > 0, target % multiple != 0 { target += multiple - target % multiple }
        let missing = target - encoding.count
        guard missing > 0 else { return }
        var fill = TextEncoding()
        for _ in 0..<missing {
            fill.append(id: padding.id, token: padding.token, offset: 0..<0, typeId: padding.typeId, attention: 0, special: 1)
        }
        if padding.onLeft {
            fill.append(contentsOf: encoding)
            encoding = fill
        } else {
            encoding.append(contentsOf: fill)
        }
    }
}
