/// GPT-2's byte-level pre-tokenization (`ByteLevel` in `tokenizers`): the text is split
/// with GPT-2's pattern — `'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+`
/// (Radford et al. 2019), written out here as a scanner — and each piece's UTF-8 bytes become
/// printable characters (`bytes_to_unicode`: the printable Latin-1 bytes stand for
/// themselves, the others for U+0100 onwards), so that BPE never meets an unknown symbol.
enum ByteLevel {
    /// The character each byte is written as.
    static let characters: [Unicode.Scalar] = {
        var printable = Array(0x21...0x7E) + Array(0xA1...0xAC) + Array(0xAE...0xFF)
        var table = [Unicode.Scalar](repeating: " ", count: 256)
        for byte in printable { table[byte] = Unicode.Scalar(UInt32(byte)) ?? " " }
        var next: UInt32 = 256
        for byte in 0..<256 where !printable.contains(byte) {
            table[byte] = Unicode.Scalar(next) ?? " "
            printable.append(byte)
            next += 1
        }
        return table
    }()

    /// The space byte's character, `Ġ`, which marks a word's leading space.
    static let space = characters[0x20]

    /// The words of `text` by GPT-2's pattern (or the whole text without it), each as its
    /// bytes' characters, every character keeping the origin of the scalar it encodes.
    static func words(_ text: AlignedText, splitting: Bool) -> [AlignedText] {
        let ranges = splitting ? split(text.scalars) : [0..<text.scalars.count]
        return ranges.filter { !$0.isEmpty }.map { range in
            text.slice(range).mapping { scalar in String(scalar).utf8.map { characters[Int($0)] } }
        }
    }

    /// GPT-2's pattern, alternative by alternative, at each position.
    static func split(_ scalars: [Unicode.Scalar]) -> [Range<Int>] {
        enum Kind { case letter, number, space, other }
        func kind(_ index: Int) -> Kind {
            let scalar = scalars[index]
            if scalar.properties.isWhitespace { return .space }
            switch scalar.properties.generalCategory {
            case .uppercaseLetter, .lowercaseLetter, .titlecaseLetter, .modifierLetter, .otherLetter: return .letter
            case .decimalNumber, .letterNumber, .otherNumber: return .number
            default: return .other
            }
        }
        func run(from start: Int, of wanted: Kind) -> Int {
            var end = start
            while end < scalars.count, kind(end) == wanted { end += 1 }
            return end
        }
        var pieces: [Range<Int>] = []
        var position = 0
        while position < scalars.count {
            if scalars[position] == "'", let length = contraction(scalars, at: position) {
                pieces.append(position..<position + length)
                position += length
                continue
            }
            // ` ?\p{L}+`, ` ?\p{N}+`, ` ?[^\s\p{L}\p{N}]+`: an optional single space, then a run.
            let start = scalars[position] == " " && position + 1 < scalars.count && kind(position + 1) != .space ? position + 1 : position
            let first = kind(start)
            if first != .space {
                let end = run(from: start, of: first)
                pieces.append(position..<end)
                position = end
                continue
            }
            // `\s+(?!\S)`: whitespace up to, not including, the last one before a non-space;
            // else `\s+`: that one whitespace alone.
            let end = run(from: position, of: .space)
            let length = end < scalars.count && end - position > 1 ? end - position - 1 : end - position
            pieces.append(position..<position + length)
            position += length
        }
        return pieces
    }

    /// The length of `'s`, `'t`, `'re`, `'ve`, `'m`, `'ll` or `'d` at `index`, if one is there
    /// (lowercase only, as GPT-2's pattern is written).
    private static func contraction(_ scalars: [Unicode.Scalar], at index: Int) -> Int? {
        for suffix in ["re", "ve", "ll", "s", "t", "m", "d"] {
            let letters = Array(suffix.unicodeScalars)
            if index + letters.count < scalars.count, Array(scalars[index + 1...index + letters.count]) == letters {
                return letters.count + 1
            }
        }
        return nil
    }
}
