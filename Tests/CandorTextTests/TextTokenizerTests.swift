import CandorTestSupport
import Foundation
import Testing

@testable import CandorText

/// The WordPiece (BERT) and byte-level BPE (GPT-2, RoBERTa) tokenizers give the ids, tokens,
/// offsets, type ids, masks, sequence ids and word ids Hugging Face `tokenizers` gives on the same `tokenizer.json`
/// (scripts/fixtures/make_tokenizer_fixtures.py), on a corpus of accents, CJK, emoji,
/// punctuation runs, control characters, contractions, space runs and long inputs.
@Suite struct TextTokenizerTests {
    struct Case: Sendable, CustomTestStringConvertible {
        /// `wordpiece` or `bpe`: the fixture's tokenizer.
        let tokenizer: String
        let text: String
        let pair: String?
        let ids: [Int]
        let tokens: [String]
        let offsets: [Range<Int>]
        let typeIds: [Int]
        let attentionMask: [Int]
        let specialTokensMask: [Int]
        let sequenceIds: [Int?]
        let wordIds: [Int?]

        var testDescription: String {
            "\(tokenizer): " + (pair.map { "\(text.debugDescription) + \($0.debugDescription)" } ?? text.debugDescription)
        }

        var expected: TextEncoding {
            TextEncoding(
                ids: ids, tokens: tokens, offsets: offsets, typeIds: typeIds, attentionMask: attentionMask,
                specialTokensMask: specialTokensMask, sequenceIds: sequenceIds, wordIds: wordIds)
        }
    }

    /// The cases of `wordpiece.*` and `bpe.*`, truncated and padded or not.
    static func cases(truncated: Bool) -> [Case] {
        ["wordpiece", "bpe"].flatMap { tokenizer in cases(tokenizer, truncated: truncated) }
    }

    static func cases(_ tokenizer: String, truncated: Bool) -> [Case] {
        let file = "text/\(tokenizer).\(truncated ? "encodings" : "untruncated").json"
        guard let root = try? Fixtures.json(file) as? [String: Any], let cases = root["cases"] as? [[String: Any]] else {
            return []
        }
        return cases.map { entry in
            Case(
                tokenizer: tokenizer, text: entry["text"] as? String ?? "", pair: entry["text_pair"] as? String,
                ids: entry["ids"] as? [Int] ?? [],
                tokens: entry["tokens"] as? [String] ?? [],
                offsets: (entry["offsets"] as? [[Int]] ?? []).map { $0[0]..<$0[1] }, typeIds: entry["type_ids"] as? [Int] ?? [],
                attentionMask: entry["attention_mask"] as? [Int] ?? [],
                specialTokensMask: entry["special_tokens_mask"] as? [Int] ?? [],
                sequenceIds: (entry["sequence_ids"] as? [Any] ?? []).map { $0 as? Int },
                wordIds: (entry["word_ids"] as? [Any] ?? []).map { $0 as? Int })
        }
    }

    static func tokenizer(_ name: String, truncating: Bool) throws -> TextTokenizer {
        let tokenizer = try TextTokenizer(json: Data(contentsOf: Fixtures.url("text/\(name).tokenizer.json")))
        return truncating ? tokenizer : tokenizer.unlimited
    }

    @Test func theFixturesHoldEveryCase() {
        #expect(Self.cases("wordpiece", truncated: true).count == 21 && Self.cases("wordpiece", truncated: false).count == 21)
        #expect(Self.cases("bpe", truncated: true).count == 28 && Self.cases("bpe", truncated: false).count == 28)
    }

    @Test(arguments: cases(truncated: false))
    func encodesAsTokenizersDoes(_ golden: Case) throws {
        #expect(try Self.tokenizer(golden.tokenizer, truncating: false).encode(golden.text, pair: golden.pair) == golden.expected)
    }

    @Test(arguments: cases(truncated: true))
    func truncatesAndPadsAsTokenizersDoes(_ golden: Case) throws {
        #expect(try Self.tokenizer(golden.tokenizer, truncating: true).encode(golden.text, pair: golden.pair) == golden.expected)
    }

    @Test(arguments: [
        (#"{"model": {"type": "Unigram", "vocab": []}}"#, "model 'Unigram' is not supported"),
        (#"{"model": {"type": "BPE", "vocab": {"a": 0}, "merges": [], "dropout": 0.1}}"#, "'dropout'"),
        (#"{"model": {"type": "WordPiece", "vocab": {"a": 0}, "unk_token": "[UNK]"}}"#, "unknown token '[UNK]'"),
        (#"{"model": {"type": "WordPiece", "vocab": {"[UNK]": 0}}, "normalizer": {"type": "NFKC"}}"#, "normalizer 'NFKC'"),
        (#"{"model": {"type": "WordPiece", "vocab": {"[UNK]": 0}}, "truncation": {"max_length": 8, "stride": 2}}"#, "stride"),
        (#"{"model": {"type": "WordPiece", "vocab": {"[UNK]": 0}}, "truncation": {"max_length": -9223372036854775808}}"#, "max_length"),
        (#"{"model": {"type": "WordPiece", "vocab": {"[UNK]": 0}}, "padding": {"strategy": {"Fixed": 1e15}}}"#, "padding length"),
        (#"[1, 2]"#, "JSON object"), ("not json", "not valid JSON"),
    ])
    func anUnusableDefinitionIsRefusedNamingWhy(json: String, mentions: String) {
        let error = #expect(throws: TokenizerError.self) { try TextTokenizer(json: Data(json.utf8)) }
        #expect(error?.description.contains(mentions) == true, "\(String(describing: error))")
    }

    /// A batch for a model is a rectangle: each text encoded alone, then padded at the right
    /// to the longest (or to a model's fixed length) with [PAD], masked out and of no text.
    @Test func aBatchIsPaddedToItsLongestText() throws {
        let tokenizer = try Self.tokenizer("wordpiece", truncating: false)
        let texts: [(text: String, pair: String?)] = [("This phone is great", nil), ("The kettle", "is broken")]
        let alone = texts.map { tokenizer.encode($0.text, pair: $0.pair) }
        let batch = tokenizer.padded(alone)
        let longest = alone.map(\.ids.count).max() ?? 0
        #expect(batch.allSatisfy { $0.ids.count == longest })
        let pad = try #require(tokenizer.id(of: "[PAD]"))
        #expect(tokenizer.paddingId == pad)
        for (padded, single) in zip(batch, alone) {
            #expect(Array(padded.ids.prefix(single.ids.count)) == single.ids)
            #expect(Array(padded.sequenceIds.prefix(single.ids.count)) == single.sequenceIds)
            let filler = padded.ids.count - single.ids.count
            #expect(padded.ids.suffix(filler).allSatisfy { $0 == pad })
            #expect(padded.attentionMask.suffix(filler).allSatisfy { $0 == 0 })
            #expect(padded.sequenceIds.suffix(filler).allSatisfy { $0 == nil })
        }
        #expect(tokenizer.padded(alone, length: 30).allSatisfy { $0.ids.count == 30 })
    }
}

extension TextTokenizer {
    /// The tokenizer without its file's truncation and padding, as `tokenizers` encodes after
    /// `no_truncation()` and `no_padding()` (and transformers calls it by default).
    var unlimited: TextTokenizer {
        TextTokenizer(
            addedTokens: addedTokens, normalizer: normalizer, preTokenizer: preTokenizer, model: model, single: single, pair: pair,
            trimsOffsets: trimsOffsets, truncation: nil, padding: nil)
    }
}
