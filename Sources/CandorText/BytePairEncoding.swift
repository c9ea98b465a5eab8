/// The BPE model (Sennrich et al. 2016, as GPT-2 and RoBERTa use it and `tokenizers`
/// defines it): a word starts as its characters, and the adjacent pair with the lowest merge
/// rank is merged — the leftmost first among equals — until no pair has a rank. With
/// `ignoreMerges`, a word the vocabulary holds whole is one token at once. A symbol the
/// vocabulary lacks is the unknown token, or dropped without one.
struct BytePairEncoding: Equatable {
    let vocabulary: [String: Int]
    /// Rank of each merge, by its two symbols.
    let ranks: [Pair: Int]
    let unknownToken: String?
    let ignoreMerges: Bool

    struct Pair: Hashable {
        let left: String
        let right: String
    }

    func pieces(of word: ArraySlice<Unicode.Scalar>) -> [(token: String, range: Range<Int>)] {
        if ignoreMerges, vocabulary[String(String.UnicodeScalarView(word))] != nil {
            return [(String(String.UnicodeScalarView(word)), word.startIndex..<word.endIndex)]
        }
        var symbols = word.indices.map { (token: String(word[$0]), range: $0..<$0 + 1) }
        while symbols.count > 1 {
            var best: (rank: Int, index: Int)?
            for index in 0..<symbols.count - 1 {
                guard let rank = ranks[Pair(left: symbols[index].token, right: symbols[index + 1].token)] else { continue }
                if best == nil || rank < best?.rank ?? .max { best = (rank, index) }
            }
            guard let merge = best else { break }
            let (left, right) = (symbols[merge.index], symbols[merge.index + 1])
            symbols[merge.index] = (left.token + right.token, left.range.lowerBound..<right.range.upperBound)
            symbols.remove(at: merge.index + 1)
        }
        return symbols.compactMap { symbol in
            if vocabulary[symbol.token] != nil { return symbol }
            return unknownToken.map { (token: $0, range: symbol.range) }
        }
    }
}
