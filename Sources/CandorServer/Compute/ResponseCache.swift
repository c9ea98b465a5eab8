import CoreMetrics
import Foundation
import Synchronization

/// Encoded explanation responses, least recently used evicted first, bounded in bytes.
///
/// Sound because every input to an explanation is in the key — the model's bytes (by hash),
/// the method, its effective parameters with defaults filled in (seeds included), targets,
/// output and inputs — and every method is deterministic for those.
final class ResponseCache: Sendable {
    /// An answer's bytes and what the audit log records of it (``AuditDigest``; nil when the
    /// log is off), so a hit is recorded as fully as the miss that computed it.
    struct Answer: Sendable {
        let body: [UInt8]
        let audit: AuditDigest?

        var byteCount: Int { body.count + (audit?.byteCount ?? 0) }
    }

    private struct Entry {
        var answer: Answer
        var previous: String?
        var next: String?
    }

    private struct State {
        var entries: [String: Entry] = [:]
        /// Most recently used end of the list.
        var head: String?
        var tail: String?
        var bytes = 0
    }

    let maxBytes: Int
    private let state = Mutex(State())
    private let metrics: ServiceMetrics

    init(maxBytes: Int, metrics: ServiceMetrics) {
        self.maxBytes = maxBytes
        self.metrics = metrics
    }

    var isEnabled: Bool { maxBytes > 0 }

    func value(for key: String) -> Answer? {
        let body = state.withLock { state -> Answer? in
            guard let body = state.entries[key]?.answer else { return nil }
            Self.unlink(key, in: &state)
            Self.pushFront(key, in: &state)
            return body
        }
        if body == nil { metrics.cacheMisses.increment() } else { metrics.cacheHits.increment() }
        return body
    }

    /// Stores `body` (and its audit digest) unless it alone exceeds the budget, evicting the
    /// oldest entries to fit.
    func store(_ body: [UInt8], audit: AuditDigest? = nil, for key: String) {
        let answer = Answer(body: body, audit: audit)
        guard isEnabled, answer.byteCount <= maxBytes else { return }
        let (evicted, bytes, count) = state.withLock { state -> (Int, Int, Int) in
            if let old = state.entries[key] {
                state.bytes -= old.answer.byteCount
                Self.unlink(key, in: &state)
                state.entries[key] = nil
            }
            var evicted = 0
            while state.bytes + answer.byteCount > maxBytes, let oldest = state.tail {
                state.bytes -= state.entries[oldest]?.answer.byteCount ?? 0
                Self.unlink(oldest, in: &state)
                state.entries[oldest] = nil
                evicted += 1
            }
            state.entries[key] = Entry(answer: answer)
            Self.pushFront(key, in: &state)
            state.bytes += answer.byteCount
            return (evicted, state.bytes, state.entries.count)
        }
        if evicted > 0 { metrics.cacheEvictions.increment(by: evicted) }
        metrics.cacheBytes.record(bytes)
        metrics.cacheEntries.record(count)
    }

    /// Drops every entry (after a model is replaced or removed, their keys can never match
    /// again, but the memory should come back at once).
    func removeAll() {
        state.withLock { $0 = State() }
        metrics.cacheBytes.record(0)
        metrics.cacheEntries.record(0)
    }

    var usage: (entries: Int, bytes: Int) { state.withLock { ($0.entries.count, $0.bytes) } }

    private static func unlink(_ key: String, in state: inout State) {
        guard let entry = state.entries[key] else { return }
        if let previous = entry.previous { state.entries[previous]?.next = entry.next } else { state.head = entry.next }
        if let next = entry.next { state.entries[next]?.previous = entry.previous } else { state.tail = entry.previous }
        state.entries[key]?.previous = nil
        state.entries[key]?.next = nil
    }

    private static func pushFront(_ key: String, in state: inout State) {
        state.entries[key]?.next = state.head
        state.entries[key]?.previous = nil
        if let head = state.head { state.entries[head]?.previous = key }
        state.head = key
        if state.tail == nil { state.tail = key }
    }
}
