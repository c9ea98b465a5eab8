import CandorTestSupport
import Foundation
import Testing

@testable import CandorText

/// Texts split into words as lime's `IndexedString` splits them, and samples rebuilt as its
/// `inverse_removing` rebuilds them (scripts/fixtures/make_text_fixtures.py: `lime_words`, and
/// the texts of lime's neighbourhoods of the demo reviews).
@Suite struct IndexedWordsTests {
    static var root: [String: Any] { (try? Fixtures.json("text/review_sentiment.golden.json")) as? [String: Any] ?? [:] }

    static var splits: [(text: String, pieces: [String], words: [String])] {
        let cases = (root["cases"] as? [[String: Any]] ?? []).compactMap { $0["lime_neighbourhood"] as? [String: Any] }
        let neighbourhoods = zip(root["cases"] as? [[String: Any]] ?? [], cases).map { entry, lime in
            (entry["text"] as? String ?? "", lime["pieces"] as? [String] ?? [], lime["words"] as? [String] ?? [])
        }
        let words = (root["lime_words"] as? [[String: Any]] ?? []).map { entry in
            (entry["text"] as? String ?? "", entry["pieces"] as? [String] ?? [], entry["words"] as? [String] ?? [])
        }
        return neighbourhoods + words
    }

    @Test func theFixtureHoldsTheSplits() {
        #expect(Self.splits.count == 5)
    }

    @Test func aTextSplitsIntoLimesPiecesAndWords() {
        for split in Self.splits {
            let indexed = IndexedWords(split.text)
            #expect(indexed.pieces == split.pieces, "\(split.text.debugDescription)")
            #expect(indexed.words == split.words, "\(split.text.debugDescription)")
            #expect(indexed.pieces.joined() == split.text)
        }
    }

    @Test func everyOccurrenceStandsWhereTheWordIs() {
        for split in Self.splits {
            let indexed = IndexedWords(split.text)
            let scalars = Array(split.text.unicodeScalars)
            for (word, occurrences) in zip(indexed.words, indexed.occurrences) {
                #expect(!occurrences.isEmpty)
                for range in occurrences {
                    #expect(String(String.UnicodeScalarView(scalars[range])) == word)
                }
            }
        }
    }

    @Test func removingWordsRebuildsLimesSampleTexts() throws {
        let cases = (Self.root["cases"] as? [[String: Any]] ?? []).filter { $0["lime_neighbourhood"] != nil }
        #expect(cases.count == 2)
        for entry in cases {
            let lime = try #require(entry["lime_neighbourhood"] as? [String: Any])
            let kept = try #require(lime["kept"] as? [[Int]])
            let texts = try #require(lime["texts"] as? [String])
            let indexed = IndexedWords(try #require(entry["text"] as? String))
            #expect(kept.count == texts.count && kept.count == 300)
            for (row, text) in zip(kept, texts) {
                #expect(indexed.removing { row[$0] == 0 } == text)
            }
        }
    }
}
