/// The WordPiece model (Schuster & Nakajima 2012, as BERT uses it and `tokenizers` defines
/// it): a word is spelled greedily, longest vocabulary entry first, its pieces after the
/// first carrying the continuation prefix (`##`); a word that cannot be spelled, or that is
/// longer than `maxInputCharsPerWord` scalars, is one unknown token.
struct WordPiece: Equatable {
    let vocabulary: [String: Int]
    let unknownToken: String
    let continuingSubwordPrefix: String
    let maxInputCharsPerWord: Int

    /// The pieces of one word: each piece's id, text and the range of the word's scalars it
    /// spells.
    func pieces(of word: ArraySlice<Unicode.Scalar>) -> [WordPieceSpan] {
        let whole =
            vocabulary[unknownToken].map { [WordPieceSpan(id: $0, token: unknownToken, range: word.startIndex..<word.endIndex)] } ?? []
        guard word.count <= maxInputCharsPerWord else { return whole }
        var pieces: [WordPieceSpan] = []
        var start = word.startIndex
        while start < word.endIndex {
            var end = word.endIndex
            var found: WordPieceSpan?
            while start < end {
                var candidate = String(String.UnicodeScalarView(word[start..<end]))
                if start > word.startIndex { candidate = continuingSubwordPrefix + candidate }
                if let id = vocabulary[candidate] {
                    found = WordPieceSpan(id: id, token: candidate, range: start..<end)
                    break
                }
                end -= 1
            }
            guard let piece = found else { return whole }
            pieces.append(piece)
            start = end
        }
        return pieces
    }
}

/// A piece a model spells a word with: its vocabulary id and text, and the range of the word's
/// scalars it stands for.
struct WordPieceSpan: Equatable {
    let id: Int
    let token: String
    let range: Range<Int>
}
