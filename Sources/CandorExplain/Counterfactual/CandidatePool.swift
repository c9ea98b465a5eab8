/// The distinct valid inputs a search has met, bounded: past `capacity` members the farther
/// half (by the reported distance) is dropped, so a long search holds at most `capacity`
/// rows however many it meets. Only the nearest candidates are ever chosen from
/// (``DiverseSelection`` considers at most a thousand), so nothing a search returns is lost.
struct CandidatePool {
    let space: FeatureSpace
    let instance: [Double]
    let capacity: Int
    private(set) var members: Set<[Double]> = []

    init(space: FeatureSpace, instance: [Double], capacity: Int) {
        self.space = space
        self.instance = instance
        self.capacity = max(2 * DiverseSelection.candidatesConsidered, capacity)
    }

    mutating func insert(_ candidate: [Double]) {
        members.insert(candidate)
        guard members.count > capacity else { return }
        let nearest = members.map { ($0, space.distance(instance, $0)) }.sorted { $0.1 < $1.1 }.prefix(capacity / 2)
        members = Set(nearest.map(\.0))
    }

    /// The members in a fixed order (so equal requests give equal answers).
    var sorted: [[Double]] { members.sorted { $0.lexicographicallyPrecedes($1) } }
}
