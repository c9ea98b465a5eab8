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

    /// The pieces of one word, merged in order of rank with a priority queue over the word's
    /// symbols as a linked list (as `tokenizers` merges), so a long word costs O(n log n)
    /// rather than a rescan of every pair per merge.
    func pieces(of word: ArraySlice<Unicode.Scalar>) -> [WordPieceSpan] {
        let whole = String(String.UnicodeScalarView(word))
        if ignoreMerges, let id = vocabulary[whole] { return [WordPieceSpan(id: id, token: whole, range: word.startIndex..<word.endIndex)] }
        guard !word.isEmpty else { return [] }
        var symbols = word.indices.map { Symbol(token: String(word[$0]), range: $0..<$0 + 1) }
        var next = Array(1...symbols.count)
        var previous = Array(-1..<(symbols.count - 1))
        var queue = MergeQueue()
        func propose(_ left: Int) {
            let right = next[left]
            guard right < symbols.count, let rank = ranks[Pair(left: symbols[left].token, right: symbols[right].token)] else { return }
            queue.push(
                Merge(rank: rank, start: symbols[left].range.lowerBound, left: left, right: right, end: symbols[right].range.upperBound))
        }
        for index in symbols.indices { propose(index) }
        while let merge = queue.pop() {
            // A merge is stale once either symbol has changed: merged away, or grown (a symbol
            // only grows rightwards, so the right one's end tells; the left one's start never moves).
            guard symbols[merge.left].alive, symbols[merge.right].alive, next[merge.left] == merge.right,
                symbols[merge.right].range.upperBound == merge.end
            else { continue }
            symbols[merge.left] = Symbol(
                token: symbols[merge.left].token + symbols[merge.right].token,
                range: symbols[merge.left].range.lowerBound..<symbols[merge.right].range.upperBound)
            symbols[merge.right].alive = false
            next[merge.left] = next[merge.right]
            if next[merge.right] < symbols.count { previous[next[merge.right]] = merge.left }
            if previous[merge.left] >= 0 { propose(previous[merge.left]) }
            propose(merge.left)
        }
        let unknownId = unknownToken.flatMap { vocabulary[$0] }
        return symbols.filter(\.alive).compactMap { symbol in
            if let id = vocabulary[symbol.token] { return WordPieceSpan(id: id, token: symbol.token, range: symbol.range) }
            guard let unknownToken, let unknownId else { return nil }
            return WordPieceSpan(id: unknownId, token: unknownToken, range: symbol.range)
        }
    }

    private struct Symbol {
        var token: String
        var range: Range<Int>
        var alive = true
    }

    /// A candidate merge of the symbols `left` and `right`, as they were when it was proposed
    /// (`end`, the right symbol's, tells whether they still are; `start` orders equal ranks).
    private struct Merge {
        let rank: Int
        let start: Int
        let left: Int
        let right: Int
        let end: Int

        /// Lower rank first; among equal ranks, the leftmost.
        func precedes(_ other: Merge) -> Bool { (rank, start) < (other.rank, other.start) }
    }

    /// A binary min-heap of merges.
    private struct MergeQueue {
        private var items: [Merge] = []

        mutating func push(_ merge: Merge) {
            items.append(merge)
            var child = items.count - 1
            while child > 0 {
                let parent = (child - 1) / 2
                guard items[child].precedes(items[parent]) else { break }
                items.swapAt(child, parent)
                child = parent
            }
        }

        mutating func pop() -> Merge? {
            guard let first = items.first else { return nil }
            let last = items.removeLast()
            guard !items.isEmpty else { return first }
            items[0] = last
            var parent = 0
            while true {
                let (left, right) = (2 * parent + 1, 2 * parent + 2)
                var smallest = parent
                if left < items.count, items[left].precedes(items[smallest]) { smallest = left }
                if right < items.count, items[right].precedes(items[smallest]) { smallest = right }
                guard smallest != parent else { return first }
                items.swapAt(parent, smallest)
                parent = smallest
            }
        }
    }
}
