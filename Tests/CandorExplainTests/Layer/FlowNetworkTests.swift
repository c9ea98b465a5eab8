import Testing

@testable import CandorExplain

/// Maximum flows of small networks whose answers are known: a textbook network (its minimum
/// cut), parallel paths limited by their narrowest edges, a sink out of reach, and the layered
/// networks attention flow builds, where one layer's flow is its attention itself.
@Suite struct FlowNetworkTests {
    /// Cormen et al.'s example (Introduction to Algorithms, figure 26.1): maximum flow 23.
    @Test func theTextbookNetworkCarriesItsMinimumCut() {
        var network = FlowNetwork(nodes: 6)
        for (tail, head, capacity) in [
            (0, 1, 16.0), (0, 2, 13), (1, 3, 12), (2, 1, 4), (2, 4, 14), (3, 2, 9), (3, 5, 20), (4, 3, 7), (4, 5, 4),
        ] {
            network.addEdge(from: tail, to: head, capacity: capacity)
        }
        #expect(abs(network.maximumFlow(from: 0, to: 5) - 23) < 1e-12)
        // The network is left as it was: a second call finds the same.
        #expect(abs(network.maximumFlow(from: 0, to: 5) - 23) < 1e-12)
    }

    @Test func parallelPathsAddTheirNarrowestEdges() {
        var network = FlowNetwork(nodes: 4)
        network.addEdge(from: 0, to: 1, capacity: 0.3)
        network.addEdge(from: 1, to: 3, capacity: 0.9)
        network.addEdge(from: 0, to: 2, capacity: 0.8)
        network.addEdge(from: 2, to: 3, capacity: 0.25)
        #expect(abs(network.maximumFlow(from: 0, to: 3) - 0.55) < 1e-12)
        #expect(network.maximumFlow(from: 3, to: 0) == 0)
        #expect(network.maximumFlow(from: 2, to: 2) == 0)
    }

    /// Through one layer the flow from the query to token j is the edge between them: the
    /// query's row of the fused attention, which already sums to 1.
    @Test func throughOneLayerTheFlowIsTheAttentionRow() {
        let row = [0.1, 0.45, 0.05, 0.4]
        var network = FlowNetwork(nodes: 8)
        for query in 0..<4 {
            for key in 0..<4 { network.addEdge(from: 4 + query, to: key, capacity: query == 0 ? row[key] : 0.25) }
        }
        let flows = (0..<4).map { network.maximumFlow(from: 4, to: $0) }
        #expect(zip(flows, row).allSatisfy { abs($0 - $1) < 1e-12 }, "\(flows)")
    }
}
