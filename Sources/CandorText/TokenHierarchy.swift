/// SHAP's hierarchy of a text's tokens (`shap.maskers._text.partition_tree`, 0.51), which its
/// Partition explainer splits top down: adjacent groups are merged greedily, the best-scoring
/// pair first (the leftmost of equals), by `merge_score`'s heuristics of sentence structure —
/// word pieces first (+20), then apostrophe endings (+15); across connectors (−2), commas
/// (−10) and sentence ends (−20) late; an unbalanced parenthesis (−100) or a control token
/// such as [MASK] on one side only (−1000) later still; separator tokens meet last; and
/// smaller groups before larger (−the sizes of both).
public struct TokenHierarchy: Sendable, Equatable {
    /// A merge of two nodes: a leaf is a token index, node `count + k` the k-th merge.
    public struct Merge: Sendable, Equatable {
        public let left: Int
        public let right: Int
        /// How many tokens the merged group holds.
        public let size: Int
    }

    public let merges: [Merge]

    /// The hierarchy of `tokens` (the masker's `clusteringTokens`); `specialTokens` (the
    /// separator) are merged with each other last.
    public init(tokens: [String], specialTokens: [String]) {
        var groups = tokens.indices.map { Group(tokens: [$0], node: $0) }
        // A parenthesis is balanced once a group opens and closes with the pair.
        var balanced = tokens.map { $0 != "(" && $0 != ")" }
        var merges: [Merge] = []
        while groups.count > 1 {
            var best = 0
            var bestScore = -Double.infinity
            for index in 0..<(groups.count - 1) {
                let score = Self.mergeScore(groups[index], groups[index + 1], tokens: tokens, balanced: balanced, special: specialTokens)
                if score > bestScore || index == 0 {
                    (best, bestScore) = (index, score)
                }
            }
            let (left, right) = (groups[best], groups[best + 1])
            merges.append(Merge(left: left.node, right: right.node, size: left.tokens.count + right.tokens.count))
            let merged = Group(tokens: left.tokens + right.tokens, node: tokens.count + merges.count - 1)
            if let first = merged.tokens.first, let last = right.tokens.last, tokens[first] == "(", tokens[last] == ")" {
                balanced[first] = true
                balanced[last] = true
            }
            groups[best] = merged
            groups.remove(at: best + 1)
        }
        self.merges = merges
    }

    private struct Group {
        let tokens: [Int]
        let node: Int
    }

    private static let connectors: Set<String> = ["but", "and", "or"]
    private static let sentenceEnds: Set<String> = [".", "?", "!"]

    /// `merge_score(group1, group2, special_tokens)`.
    private static func mergeScore(_ first: Group, _ second: Group, tokens: [String], balanced: [Bool], special: [String]) -> Double {
        guard let firstStart = first.tokens.first, let firstEnd = first.tokens.last, let secondStart = second.tokens.first,
            let secondEnd = second.tokens.last
        else { return -.infinity }
        let (head, last, next, tail) = (tokens[firstStart], tokens[firstEnd], tokens[secondStart], tokens[secondEnd])
        var score = 0.0
        if !special.isEmpty, special.contains(last), special.contains(next) { score -= .infinity }
        if next.hasPrefix("##") { score += 20 }
        if next == "'", second.tokens.count == 1 || (second.tokens.count == 2 && ["t", "s"].contains(tokens[second.tokens[1]])) {
            score += 15
        }
        if last == "'", ["t", "s"].contains(next) { score += 15 }
        func isControl(_ token: String) -> Bool { token.hasPrefix("[") && token.hasSuffix("]") }
        if isControl(head) != isControl(tail) { score -= 1000 }
        if next == "(", !balanced[secondStart] { score -= 100 }
        if last == ")", !balanced[firstEnd] { score -= 100 }
        // SHAP also asks that the second group not end in a closer, a test of a token object
        // against strings that always holds.
        if head == "(" { score -= 2 }
        if connectors.contains(last) || connectors.contains(next) { score -= 2 }
        if last == "," { score -= 10 }
        if next == "," { score -= second.tokens.count > 1 ? 10 : 1 }
        if sentenceEnds.contains(last) { score -= 20 }
        if sentenceEnds.contains(next) { score -= second.tokens.count > 1 ? 20 : 1 }
        return score - Double(first.tokens.count + second.tokens.count)
    }
}
