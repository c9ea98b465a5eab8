import Foundation
import Logging
import Testing

@testable import CandorServer

/// Both stores keep what they are given and find it again by every filter; the PostgreSQL
/// case runs where `CANDOR_TEST_POSTGRES_URL` names a throwaway database (`.ci/run` starts
/// one).
@Suite struct AuditStoreTests {
    static let postgresURL = ProcessInfo.processInfo.environment["CANDOR_TEST_POSTGRES_URL"]

    static func record(_ requestId: String, model: String = "iris_mlp", at time: Int64, payload: [UInt8]? = [1, 2, 3]) -> AuditRecord {
        AuditRecord(
            id: nil, recordedAt: time, requestId: requestId, caller: "127.0.0.1", route: "explain", model: model,
            modelSHA256: String(repeating: "a", count: 64), method: "saliency", params: #"{"abs":true}"#, output: "logits",
            answers: #"[{"target":0,"output":[1,2,3]}]"#, inputsSHA256: String(repeating: "b", count: 64),
            mediaType: "application/json", payloadSHA256: String(repeating: "c", count: 64), payload: payload,
            payloadStored: payload != nil, cacheHit: false, latencyMicroseconds: 1_234)
    }

    /// Writes records at three times over two models, then reads them back every way.
    static func checkRoundTrip(_ store: any AuditStore) async throws {
        try await store.open()
        try await store.open()  // Migrations already applied are not applied again.
        // Long ago (2001), so that deleting before it touches no record another test writes
        // to a shared store meanwhile (those tests keep every record: retention_days 0), and
        // every query is bounded to these records' span.
        let base = 1_000_000_000_000_000 + Int64.random(in: 0..<1_000_000_000)
        let span = (since: base, until: base + 100)
        try await store.insert([
            record("r-1", at: base), record("r-2", model: "credit_mlp", at: base + 10),
            record("r-3", at: base + 20, payload: nil), record("r-1", at: base + 30, payload: Array("again".utf8)),
        ])
        let all = try await store.records(matching: AuditQuery(since: span.since, until: span.until))
        try #require(all.count == 4)
        #expect(all.map(\.requestId) == ["r-1", "r-2", "r-3", "r-1"])
        #expect(all.allSatisfy { $0.payload == nil }, "a listing carries no payloads")
        #expect(all.map(\.payloadStored) == [true, true, false, true], "but says which are stored")
        let expected = record("r-1", at: base)
        #expect(all[0].requestId == expected.requestId && all[0].params == expected.params && all[0].answers == expected.answers)
        #expect(all[0].recordedAt == base && all[0].method == "saliency" && all[0].latencyMicroseconds == 1_234)
        let ids = all.compactMap(\.id)
        #expect(ids == ids.sorted() && Set(ids).count == 4)

        #expect(
            try await store.records(matching: AuditQuery(model: "credit_mlp", since: span.since, until: span.until)).map(\.requestId) == [
                "r-2"
            ])
        #expect(try await store.records(matching: AuditQuery(requestId: "r-1", since: span.since, until: span.until)).count == 2)
        #expect(try await store.records(matching: AuditQuery(since: base + 10, until: base + 20)).map(\.requestId) == ["r-2", "r-3"])
        let firstPage = try await store.records(matching: AuditQuery(since: span.since, until: span.until, limit: 3))
        #expect(firstPage.count == 3)
        let secondPage = try await store.records(
            matching: AuditQuery(since: span.since, until: span.until, after: firstPage[2].id ?? 0, limit: 3))
        #expect(secondPage.map(\.id) == [ids[3]])

        // Earlier runs on a shared store may have left records under "r-1": pick this run's.
        let both = try await store.records(requestId: "r-1", recordId: nil)
        #expect(both.count == 2, "a request id may name several records")
        #expect(try await store.records(requestId: "r-1", recordId: ids[0]).map(\.payload) == [[1, 2, 3]])
        #expect(try await store.records(requestId: "r-1", recordId: ids[3]).map(\.payload) == [Array("again".utf8)])
        #expect(try await store.records(requestId: "r-3", recordId: ids[2]).map(\.payloadStored) == [false])
        #expect(try await store.records(requestId: "never-\(base)", recordId: nil).isEmpty)

        #expect(try await store.deleteRecords(before: base + 15) >= 2)
        #expect(try await store.records(matching: AuditQuery(since: span.since, until: span.until)).map(\.requestId) == ["r-3", "r-1"])
        await store.close()
    }

    @Test func sqliteKeepsAndFindsRecords() async throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("candor-audit-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: folder) }
        let path = folder.appendingPathComponent("audit.sqlite").path
        try await Self.checkRoundTrip(SQLiteAuditStore(path: path, logger: Logger(label: "audit-test")))
        // Reopened, the file has the records and its schema version.
        let reopened = SQLiteAuditStore(path: path, logger: Logger(label: "audit-test"))
        try await reopened.open()
        #expect(try await reopened.records(matching: AuditQuery()).count == 2)
        await reopened.close()
    }

    @Test(.enabled(if: postgresURL != nil, "CANDOR_TEST_POSTGRES_URL names no database"))
    func postgresKeepsAndFindsRecords() async throws {
        let store = PostgresAuditStore(url: Self.postgresURL ?? "", logger: Logger(label: "audit-test"))
        try await withThrowingDiscardingTaskGroup { tasks in
            tasks.addTask { await store.run() }
            try await Self.checkRoundTrip(store)
            tasks.cancelAll()
        }
    }

    @Test(arguments: [
        ("http://user@host/db", "postgres://"), ("postgres://host/db", "postgres://"),
        ("postgres://user@host/db?sslmode=sometimes", "sslmode"),
    ])
    func aMalformedPostgresURLIsRefusedAtLoad(url: String, mentions: String) throws {
        let error = #expect(throws: CandorConfiguration.LoadError.self) {
            try CandorConfiguration.fromYAML("audit:\n  postgres_url: \"\(url)\"\n", source: "test.yaml")
        }
        #expect(error?.description.contains(mentions) == true, "\(String(describing: error))")
    }
}
