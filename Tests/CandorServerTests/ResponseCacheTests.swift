import Testing

@testable import CandorServer

@Suite struct ResponseCacheTests {
    func cache(maxBytes: Int) -> ResponseCache { ResponseCache(maxBytes: maxBytes, metrics: ServiceMetrics()) }

    @Test func theLeastRecentlyUsedEntryIsEvictedFirst() {
        let cache = cache(maxBytes: 30)
        cache.store([UInt8](repeating: 1, count: 10), for: "a")
        cache.store([UInt8](repeating: 2, count: 10), for: "b")
        cache.store([UInt8](repeating: 3, count: 10), for: "c")
        #expect(cache.value(for: "a") != nil)  // a is now the most recent
        cache.store([UInt8](repeating: 4, count: 10), for: "d")
        #expect(cache.value(for: "b") == nil)
        #expect(cache.value(for: "a") != nil && cache.value(for: "c") != nil && cache.value(for: "d") != nil)
        #expect(cache.usage.bytes == 30)
    }

    @Test func anEntryLargerThanTheBudgetIsNotStored() {
        let cache = cache(maxBytes: 8)
        cache.store([UInt8](repeating: 0, count: 9), for: "big")
        #expect(cache.value(for: "big") == nil)
        #expect(cache.usage.entries == 0)
    }

    @Test func replacingAnEntryKeepsTheByteCountExact() {
        let cache = cache(maxBytes: 100)
        cache.store([UInt8](repeating: 0, count: 40), for: "k")
        cache.store([UInt8](repeating: 0, count: 25), for: "k")
        #expect(cache.usage.bytes == 25)
        #expect(cache.usage.entries == 1)
        cache.removeAll()
        #expect(cache.usage.bytes == 0)
    }
}
