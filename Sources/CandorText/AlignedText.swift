/// Text on its way through a tokenizer's normalizer, each scalar remembering the scalars of
/// the input it came from, so that a token can say which part of the input it stands for
/// (the `offsets` of Hugging Face `tokenizers`, in Unicode scalars: Python's characters).
///
/// A scalar removed leaves no trace; one that becomes several (a lowercase expansion, a
/// canonical decomposition) passes its origin to each; one inserted (the spaces around a
/// Chinese character) takes the origin of the scalar it was inserted beside.
struct AlignedText: Equatable {
    private(set) var scalars: [Unicode.Scalar]
    /// For each scalar, the range of input scalars it came from.
    private(set) var origins: [Range<Int>]

    /// `text` as it is, starting at input scalar `offset`.
    init<Scalars: Sequence<Unicode.Scalar>>(_ text: Scalars, offset: Int = 0) {
        scalars = Array(text)
        origins = scalars.indices.map { offset + $0..<offset + $0 + 1 }
    }

    /// Replaces each scalar by what `transform` makes of it (nothing, itself, or several).
    mutating func map(_ transform: (Unicode.Scalar) -> [Unicode.Scalar]) {
        var newScalars: [Unicode.Scalar] = []
        var newOrigins: [Range<Int>] = []
        newScalars.reserveCapacity(scalars.count)
        newOrigins.reserveCapacity(scalars.count)
        for (scalar, origin) in zip(scalars, origins) {
            for replacement in transform(scalar) {
                newScalars.append(replacement)
                newOrigins.append(origin)
            }
        }
        scalars = newScalars
        origins = newOrigins
    }

    /// The same, transformed scalar by scalar.
    func mapping(_ transform: (Unicode.Scalar) -> [Unicode.Scalar]) -> AlignedText {
        var copy = self
        copy.map(transform)
        return copy
    }

    /// A run of the scalars, with their origins.
    func slice(_ range: Range<Int>) -> AlignedText {
        var part = self
        part.scalars = Array(scalars[range])
        part.origins = Array(origins[range])
        return part
    }

    /// The input range a run of scalars came from: from its first scalar's origin to its
    /// last's end.
    func origin(of range: Range<Int>) -> Range<Int> {
        guard let first = range.first, let last = range.last else { return 0..<0 }
        return origins[first].lowerBound..<origins[last].upperBound
    }
}
