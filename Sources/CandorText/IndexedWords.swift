/// A text split as lime's `IndexedString` splits it for `LimeTextExplainer` (its defaults:
/// `split_expression` `\W+`, bag of words): alternating runs of word characters and of other
/// characters, the features being the distinct words in order of first appearance. Removing a
/// word removes every occurrence and keeps the characters around it, as lime's
/// `inverse_removing` does. Word characters are Python's `\w`: letters, numbers and `_`
/// (a combining mark is not one, as in Python).
public struct IndexedWords: Sendable, Equatable {
    /// The runs, in order; joined they are the text.
    public let pieces: [String]
    /// The word each run is, or nil for a run of other characters.
    let pieceWords: [Int?]
    /// The distinct words.
    public let words: [String]
    /// Where each word occurs in the text, in Unicode scalars.
    public let occurrences: [[Range<Int>]]

    public init(_ text: String) {
        var pieces: [String] = []
        var pieceWords: [Int?] = []
        var words: [String] = []
        var occurrences: [[Range<Int>]] = []
        var index: [String: Int] = [:]
        var current = String.UnicodeScalarView()
        var currentIsWord = false
        var start = 0
        var position = 0
        func close() {
            guard !current.isEmpty else { return }
            let piece = String(current)
            pieces.append(piece)
            if currentIsWord {
                let word = index[piece] ?? words.count
                if word == words.count {
                    index[piece] = word
                    words.append(piece)
                    occurrences.append([])
                }
                occurrences[word].append(start..<position)
                pieceWords.append(word)
            } else {
                pieceWords.append(nil)
            }
            current = String.UnicodeScalarView()
        }
        for scalar in text.unicodeScalars {
            let isWord = PythonCharacters.isWord(scalar)
            if isWord != currentIsWord || current.isEmpty {
                close()
                currentIsWord = isWord
                start = position
            }
            current.append(scalar)
            position += 1
        }
        close()
        self.pieces = pieces
        self.pieceWords = pieceWords
        self.words = words
        self.occurrences = occurrences
    }

    /// The text without the words for which `isRemoved` holds (every occurrence of each).
    public func removing(_ isRemoved: (Int) -> Bool) -> String {
        var result = ""
        for (piece, word) in zip(pieces, pieceWords) where word.map({ !isRemoved($0) }) ?? true { result += piece }
        return result
    }
}
