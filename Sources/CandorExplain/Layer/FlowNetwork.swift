/// A directed graph with real edge capacities and its maximum flow between two nodes, by
/// Dinic's algorithm: breadth-first levels from the source over edges with capacity left, then
/// a blocking flow along strictly increasing levels, until the sink is out of reach (Dinic,
/// "Algorithm for solution of a problem of maximum flow in networks with power estimation",
/// 1970). The value of a maximum flow is unique, so any algorithm (the reference uses
/// networkx's Edmonds–Karp) finds the same number, up to rounding.
struct FlowNetwork {
    /// Capacities at or below this count as used up (sums of probabilities in double precision).
    static let exhausted = 1e-12

    let nodeCount: Int
    /// Edge e goes to `heads[e]` with `capacities[e]`; edge e ^ 1 is its reverse (capacity 0).
    private var heads: [Int] = []
    private var capacities: [Double] = []
    private var outgoing: [[Int]]

    init(nodes: Int) {
        nodeCount = nodes
        outgoing = Array(repeating: [], count: nodes)
    }

    mutating func addEdge(from tail: Int, to head: Int, capacity: Double) {
        outgoing[tail].append(heads.count)
        heads.append(head)
        capacities.append(capacity)
        outgoing[head].append(heads.count)
        heads.append(tail)
        capacities.append(0)
    }

    /// The value of a maximum flow from `source` to `sink` (the network is left as it was).
    func maximumFlow(from source: Int, to sink: Int) -> Double {
        guard source != sink else { return 0 }
        var residual = capacities
        var total = 0.0
        var level = [Int](repeating: -1, count: nodeCount)
        var nextEdge = [Int](repeating: 0, count: nodeCount)
        while true {
            levels(from: source, residual: residual, into: &level)
            guard level[sink] >= 0 else { break }
            for node in 0..<nodeCount { nextEdge[node] = 0 }
            while true {
                let pushed = push(from: source, to: sink, limit: .infinity, residual: &residual, level: level, nextEdge: &nextEdge)
                guard pushed > Self.exhausted else { break }
                total += pushed
            }
        }
        return total
    }

    /// Breadth-first levels from `source` over edges with capacity left (-1: out of reach).
    private func levels(from source: Int, residual: [Double], into level: inout [Int]) {
        for node in 0..<nodeCount { level[node] = -1 }
        level[source] = 0
        var queue = [source]
        var front = 0
        while front < queue.count {
            let node = queue[front]
            front += 1
            for edge in outgoing[node] where residual[edge] > Self.exhausted && level[heads[edge]] < 0 {
                level[heads[edge]] = level[node] + 1
                queue.append(heads[edge])
            }
        }
    }

    /// Sends up to `limit` from `node` to `sink` along edges one level up, depth first,
    /// skipping for good the edges that are used up or lead nowhere (`nextEdge`).
    private func push(
        from node: Int, to sink: Int, limit: Double, residual: inout [Double], level: [Int], nextEdge: inout [Int]
    ) -> Double {
        if node == sink { return limit }
        while nextEdge[node] < outgoing[node].count {
            let edge = outgoing[node][nextEdge[node]]
            let head = heads[edge]
            if residual[edge] > Self.exhausted, level[head] == level[node] + 1 {
                let pushed = push(
                    from: head, to: sink, limit: Swift.min(limit, residual[edge]), residual: &residual, level: level, nextEdge: &nextEdge)
                if pushed > Self.exhausted {
                    residual[edge] -= pushed
                    residual[edge ^ 1] += pushed
                    return pushed
                }
            }
            nextEdge[node] += 1
        }
        return 0
    }
}
