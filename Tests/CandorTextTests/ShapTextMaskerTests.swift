import CandorTestSupport
import Foundation
import Testing

@testable import CandorText

/// Texts masked as SHAP's Text masker masks them, and their tokens grouped as its
/// `partition_tree` groups them, on the demo WordPiece tokenizer and a byte-level BPE one
/// (scripts/fixtures/make_shap_text_fixtures.py: `maskers`).
@Suite struct ShapTextMaskerTests {
    struct Case {
        let tokenizer: TextTokenizer
        let text: String
        let segments: [String]
        let clusteringTokens: [String]
        let clustering: [[Double]]
        let masks: [[Int]]
        let masked: [String]
        let maskToken: String
        let keep: (prefix: Int, suffix: Int)
    }

    static let cases: [Case] = {
        guard let root = try? Fixtures.json("text/partition_shap.golden.json") as? [String: Any],
            let maskers = root["maskers"] as? [[String: Any]]
        else { return [] }
        return maskers.flatMap { masker -> [Case] in
            guard let path = masker["tokenizer"] as? String,
                // SHAP is given the tokenizer without truncation or padding, as transformers' is.
                let tokenizer = try? TextTokenizer(json: Data(contentsOf: Fixtures.repository.appendingPathComponent(path))).unlimited
            else { return [] }
            return (masker["cases"] as? [[String: Any]] ?? []).map { entry in
                Case(
                    tokenizer: tokenizer, text: entry["text"] as? String ?? "", segments: entry["segments"] as? [String] ?? [],
                    clusteringTokens: entry["clustering_tokens"] as? [String] ?? [], clustering: entry["clustering"] as? [[Double]] ?? [],
                    masks: entry["masks"] as? [[Int]] ?? [], masked: entry["masked"] as? [String] ?? [],
                    maskToken: masker["mask_token"] as? String ?? "",
                    keep: (masker["keep_prefix"] as? Int ?? -1, masker["keep_suffix"] as? Int ?? -1))
            }
        }
    }()

    static func masker(_ test: Case) -> ShapTextMasker {
        let tokenizer = test.tokenizer
        let encoding = tokenizer.encode(test.text)
        return ShapTextMasker(
            text: test.text, encoding: encoding, keepPrefix: tokenizer.specialTokensAround.before,
            keepSuffix: tokenizer.specialTokensAround.after, maskToken: tokenizer.maskToken ?? "...", collapsesMaskTokens: false,
            separatorToken: tokenizer.separatorToken)
    }

    @Test func theFixtureHoldsBothTokenizersCases() {
        #expect(Self.cases.count == 16)
    }

    @Test func theTokenizerGivesSHAPsMaskTokenAndKeptEnds() {
        for test in Self.cases {
            #expect(test.tokenizer.maskToken == test.maskToken)
            #expect(test.tokenizer.specialTokensAround.before == test.keep.prefix)
            #expect(test.tokenizer.specialTokensAround.after == test.keep.suffix)
        }
    }

    @Test func eachTokensSegmentRunsToTheNextToken() {
        for test in Self.cases {
            #expect(Self.masker(test).segments == test.segments, "\(test.text.debugDescription)")
        }
    }

    @Test func theHierarchyIsBuiltOverSHAPsStrings() {
        for test in Self.cases {
            #expect(Self.masker(test).clusteringTokens == test.clusteringTokens, "\(test.text.debugDescription)")
        }
    }

    @Test func tokensAreMergedInSHAPsOrder() {
        for test in Self.cases {
            let merges = TokenHierarchy(
                tokens: test.clusteringTokens, specialTokens: test.tokenizer.separatorToken.map { [$0] } ?? []
            ).merges
            let expected = test.clustering.map { [Int($0[0]), Int($0[1]), Int($0[3])] }
            #expect(merges.map { [$0.left, $0.right, $0.size] } == expected, "\(test.text.debugDescription)")
        }
    }

    @Test func aMaskedTextIsWhatSHAPsMaskerWrites() {
        for test in Self.cases {
            let masker = Self.masker(test)
            for (mask, expected) in zip(test.masks, test.masked) {
                #expect(masker.maskedText { mask[$0] == 1 } == expected, "\(test.text.debugDescription) \(mask)")
            }
        }
    }

    @Test func aCollapsedRunOfMaskedTokensIsOneMaskToken() {
        let encoding = TextEncoding(offsets: [0..<3, 4..<7, 8..<11])
        let masker = ShapTextMasker(
            text: "one two six", encoding: encoding, keepPrefix: 0, keepSuffix: 0, maskToken: "...", collapsesMaskTokens: true,
            separatorToken: nil)
        #expect(masker.maskedText { $0 == 0 } == "one ...")
        // A token's segment holds the space after it: masked, the next word follows its mask.
        #expect(masker.maskedText { $0 == 1 } == "...two ...")
    }

    @Test func aNonWordEndIsFoundAsPythonsRegexFindsIt() {
        #expect(ShapTextMasker.endsInNonWord("is "))
        #expect(ShapTextMasker.endsInNonWord("is,\n"))
        #expect(!ShapTextMasker.endsInNonWord("word"))
        // `.` does not cross a newline, and `$` stands only before a final one.
        #expect(!ShapTextMasker.endsInNonWord("a\nb "))
        #expect(!ShapTextMasker.endsInNonWord(""))
    }
}
