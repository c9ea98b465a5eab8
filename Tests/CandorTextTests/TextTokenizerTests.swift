import CandorTestSupport
import Foundation
import Testing

@testable import CandorText

/// The WordPiece tokenizer gives the ids, tokens, offsets, type ids and masks Hugging Face
/// `tokenizers` gives on the same `tokenizer.json` (scripts/fixtures/make_tokenizer_fixtures.py),
/// on a corpus of accents, CJK, emoji, punctuation runs, control characters and long inputs.
@Suite struct TextTokenizerTests {
    struct Case: Sendable, CustomTestStringConvertible {
        let text: String
        let pair: String?
        let ids: [Int]
        let tokens: [String]
        let offsets: [Range<Int>]
        let typeIds: [Int]
        let attentionMask: [Int]
        let specialTokensMask: [Int]

        var testDescription: String { pair.map { "\(text.debugDescription) + \($0.debugDescription)" } ?? text.debugDescription }

        var expected: TextEncoding {
            TextEncoding(
                ids: ids, tokens: tokens, offsets: offsets, typeIds: typeIds, attentionMask: attentionMask,
                specialTokensMask: specialTokensMask)
        }
    }

    static func cases(_ file: String) -> [Case] {
        guard let root = try? Fixtures.json("text/\(file)") as? [String: Any], let cases = root["cases"] as? [[String: Any]] else {
            return []
        }
        return cases.map { entry in
            Case(
                text: entry["text"] as? String ?? "", pair: entry["text_pair"] as? String, ids: entry["ids"] as? [Int] ?? [],
                tokens: entry["tokens"] as? [String] ?? [],
                offsets: (entry["offsets"] as? [[Int]] ?? []).map { $0[0]..<$0[1] }, typeIds: entry["type_ids"] as? [Int] ?? [],
                attentionMask: entry["attention_mask"] as? [Int] ?? [],
                specialTokensMask: entry["special_tokens_mask"] as? [Int] ?? [])
        }
    }

    static func tokenizer(truncating: Bool = true) throws -> TextTokenizer {
        let tokenizer = try TextTokenizer(json: Data(contentsOf: Fixtures.url("text/wordpiece.tokenizer.json")))
        guard !truncating else { return tokenizer }
        return TextTokenizer(
            addedTokens: tokenizer.addedTokens, normalizer: tokenizer.normalizer, splitsWords: tokenizer.splitsWords,
            model: tokenizer.model, single: tokenizer.single, pair: tokenizer.pair, truncation: nil, padding: nil)
    }

    @Test func theFixturesHoldEveryCase() {
        #expect(Self.cases("wordpiece.encodings.json").count == 21)
        #expect(Self.cases("wordpiece.untruncated.json").count == 21)
    }

    @Test(arguments: cases("wordpiece.untruncated.json"))
    func encodesAsTokenizersDoes(_ golden: Case) throws {
        #expect(try Self.tokenizer(truncating: false).encode(golden.text, pair: golden.pair) == golden.expected)
    }

    @Test(arguments: cases("wordpiece.encodings.json"))
    func truncatesAndPadsAsTokenizersDoes(_ golden: Case) throws {
        #expect(try Self.tokenizer().encode(golden.text, pair: golden.pair) == golden.expected)
    }

    @Test(arguments: [
        (#"{"model": {"type": "BPE", "vocab": {}}}"#, "model 'BPE' is not supported"),
        (#"{"model": {"type": "WordPiece", "vocab": {"a": 0}, "unk_token": "[UNK]"}}"#, "unknown token '[UNK]'"),
        (#"{"model": {"type": "WordPiece", "vocab": {"[UNK]": 0}}, "normalizer": {"type": "NFKC"}}"#, "normalizer 'NFKC'"),
        (#"{"model": {"type": "WordPiece", "vocab": {"[UNK]": 0}}, "truncation": {"max_length": 8, "stride": 2}}"#, "stride"),
        (#"[1, 2]"#, "JSON object"), ("not json", "not valid JSON"),
    ])
    func anUnusableDefinitionIsRefusedNamingWhy(json: String, mentions: String) {
        let error = #expect(throws: TokenizerError.self) { try TextTokenizer(json: Data(json.utf8)) }
        #expect(error?.description.contains(mentions) == true, "\(String(describing: error))")
    }
}
