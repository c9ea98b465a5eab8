import Crypto
import Foundation
import HTTPTypes
import HummingbirdTesting
import Logging
import NIOCore
import Testing

@testable import CandorServer

/// Every answered explanation and evaluation is recorded, and the admin reads it back.
@Suite struct AuditRouteTests {
    static let admin: HTTPFields = [.authorization: "Bearer secret"]
    let flowers = "[[5.1,3.5,1.4,0.2],[6.7,3.0,5.2,2.3]]"

    static func application(_ configure: @escaping (inout CandorConfiguration) -> Void = { _ in }) throws -> TestApplication {
        try TestApplication {
            $0.admin.token = "secret"
            configure(&$0)
        }
    }

    /// An application on a PostgreSQL store. Its retention is off: a pass would delete the
    /// deliberately old records AuditStoreTests writes to the same store.
    static func application(postgres url: String) throws -> TestApplication {
        try application {
            $0.audit.postgresURL = url
            $0.audit.retentionDays = 0
        }
    }

    /// The records the log holds for a query, once the writer has written `count` of them.
    static func records(_ client: any TestClientProtocol, _ query: String, count: Int) async throws -> [[String: Any]] {
        for _ in 0..<200 {
            let response = try await client.execute(uri: "/v1/audit?\(query)", method: .get, headers: admin)
            let records = response.json["records"] as? [[String: Any]] ?? []
            if response.status == .ok, records.count >= count { return records }
            try await Task.sleep(for: .milliseconds(20))
        }
        Issue.record("the audit log did not show \(count) records for \(query)")
        return []
    }

    @Test func anExplanationIsRecordedAndReturnedByteForByte() async throws {
        try await Self.application().test { client in
            let body = #"{"method":"integrated_gradients","inputs":\#(flowers),"target":"virginica"}"#
            let answer = try await client.post("/v1/models/iris_mlp/explain", json: body, headers: [.init("X-Request-Id")!: "audit-1"])
            #expect(answer.status == .ok)
            let again = try await client.post("/v1/models/iris_mlp/explain", json: body, headers: [.init("X-Request-Id")!: "audit-2"])
            #expect(again.headers[.init("X-Cache")!] == "hit")

            let records = try await Self.records(client, "model=iris_mlp", count: 2)
            #expect(records.map { $0["request_id"] as? String } == ["audit-1", "audit-2"])
            #expect(records.map { $0["cache_hit"] as? Bool } == [false, true])
            let first = records[0]
            #expect(first["route"] as? String == "explain" && first["method"] as? String == "integrated_gradients")
            #expect((first["model"] as? [String: Any])?["name"] as? String == "iris_mlp")
            #expect((first["params"] as? [String: Any])?["n_steps"] as? Int == 50)
            #expect(first["output"] as? String == "logits" && first["payload_stored"] as? Bool == true)
            let answers = try #require(first["answers"] as? [[String: Any]])
            #expect(answers.map { $0["target"] as? Int } == [2, 2])
            let explanations = try #require(answer.json["explanations"] as? [[String: Any]])
            #expect(answers.map { $0["output"] as? [Double] } == explanations.map { $0["output"] as? [Double] })
            #expect(first["payload_sha256"] as? String == SHA256.hash(data: Data(answer.body.readableBytesView)).hexString)
            // The cache hit is recorded as fully as the miss that computed it.
            #expect((records[1]["answers"] as? NSArray) == (first["answers"] as? NSArray))

            let stored = try await client.execute(uri: "/v1/audit/audit-1", method: .get, headers: Self.admin)
            #expect(stored.status == .ok)
            #expect(stored.headers[.contentType] == "application/json")
            #expect(Array(stored.body.readableBytesView) == Array(answer.body.readableBytesView))
        }
    }

    /// A request id two answers share names neither until `?record=` picks one.
    @Test func aReusedRequestIdIsAConflictUntilARecordIsNamed() async throws {
        try await Self.application().test { client in
            var answers: [[UInt8]] = []
            for index in 0..<2 {
                let answer = try await client.post(
                    "/v1/models/iris_mlp/explain", json: #"{"method":"saliency","inputs":[[\#(index),1,1,1]]}"#,
                    headers: [.init("X-Request-Id")!: "reused"])
                answers.append(Array(answer.body.readableBytesView))
            }
            let records = try await Self.records(client, "request_id=reused", count: 2)
            let conflict = try await client.execute(uri: "/v1/audit/reused", method: .get, headers: Self.admin)
            #expect(conflict.status == .conflict && conflict.problemCode == "ambiguous-request-id")
            for (record, answer) in zip(records, answers) {
                let id = try #require(record["id"] as? Int)
                let stored = try await client.execute(uri: "/v1/audit/reused?record=\(id)", method: .get, headers: Self.admin)
                #expect(Array(stored.body.readableBytesView) == answer)
                #expect(stored.headers[.init("X-Audit-Record")!] == String(id))
            }
            let wrong = try await client.execute(uri: "/v1/audit/reused?record=x", method: .get, headers: Self.admin)
            #expect(wrong.status == .badRequest)
        }
    }

    /// A store that is down cannot make the queue hold more than `queue_max_bytes`.
    @Test func theQueueIsBoundedInBytes() throws {
        var configuration = CandorConfiguration.Audit()
        configuration.queueMaxBytes = 3_000
        let log = AuditLog(
            store: SQLiteAuditStore(path: "/nonexistent/audit.sqlite", logger: Logger(label: "audit-test")), configuration: configuration,
            metrics: ServiceMetrics(), logger: Logger(label: "audit-test"))
        for index in 0..<3 {
            log.record(
                AuditRecord(
                    id: nil, recordedAt: 0, requestId: "\(index)", caller: "", route: "explain", model: "m", modelSHA256: "", method: nil,
                    params: "{}", output: "y", answers: "[]", inputsSHA256: "", mediaType: "application/json", payloadSHA256: "",
                    payload: Array(repeating: 0, count: 1_000), payloadStored: true, cacheHit: false, latencyMicroseconds: 0))
        }
        log.record(nil)
        #expect(log.status.queued == 1 && log.status.dropped == 3, "one record of about 1.5 kB fits, two more do not; nil counts")
    }

    @Test func timesAreReadToTheMicrosecond() throws {
        #expect(try AuditRoutes.time("2001-09-09T01:46:40.000123Z", named: "since") == 1_000_000_000_000_123)
        #expect(try AuditRoutes.time("2001-09-09T01:46:40Z", named: "since") == 1_000_000_000_000_000)
        #expect(try AuditRoutes.time("2001-09-09T03:46:40.5+02:00", named: "since") == 1_000_000_000_500_000)
        #expect(throws: Problem.self) { try AuditRoutes.time("2001-09-09T01:46:40.1234567Z", named: "since") }
        // A year past 9999 is refused rather than overflowing the microseconds.
        #expect(throws: Problem.self) { try AuditRoutes.time("300000-01-01T00:00:00Z", named: "since") }
        #expect(throws: Problem.self) { try AuditRoutes.time("+300000000-01-01T00:00:00Z", named: "since") }
    }

    @Test func anEvaluationIsRecorded() async throws {
        try await Self.application().test { client in
            let response = try await client.post(
                "/v1/models/iris_mlp/evaluate", json: #"{"inputs":\#(flowers),"method":"saliency","metrics":["sensitivity_max"]}"#,
                headers: [.init("X-Request-Id")!: "evaluate-1"])
            #expect(response.status == .ok, "\(response.text)")
            let records = try await Self.records(client, "request_id=evaluate-1", count: 1)
            #expect(records.first?["route"] as? String == "evaluate" && records.first?["method"] as? String == "saliency")
            #expect((records.first?["params"] as? [String: Any])?["metrics"] as? [String] == ["sensitivity_max"])
        }
    }

    /// With payloads off, the record (with the answer's hash, targets and outputs) stands in
    /// for the answer.
    @Test func withoutPayloadsTheRecordStandsInForTheAnswer() async throws {
        try await Self.application { $0.audit.storePayloads = false }.test { client in
            let answer = try await client.post(
                "/v1/models/iris_mlp/explain", json: #"{"method":"saliency","inputs":\#(flowers)}"#,
                headers: [.init("X-Request-Id")!: "hashed-1"])
            _ = try await Self.records(client, "request_id=hashed-1", count: 1)
            let record = try await client.execute(uri: "/v1/audit/hashed-1", method: .get, headers: Self.admin)
            #expect(record.json["payload_stored"] as? Bool == false)
            #expect(record.json["payload_sha256"] as? String == SHA256.hash(data: Data(answer.body.readableBytesView)).hexString)
        }
    }

    @Test func pagesFollowTheNextLink() async throws {
        try await Self.application().test { client in
            for index in 0..<5 {
                _ = try await client.post(
                    "/v1/models/iris_mlp/explain", json: #"{"method":"saliency","inputs":[[\#(index),1,1,1]]}"#,
                    headers: [.init("X-Request-Id")!: "page-\(index)"])
            }
            _ = try await Self.records(client, "", count: 5)
            var seen: [String] = []
            var next: String? = "/v1/audit?limit=2"
            while let uri = next {
                let page = try await client.execute(uri: uri, method: .get, headers: Self.admin)
                seen += (page.json["records"] as? [[String: Any]] ?? []).compactMap { $0["request_id"] as? String }
                next = page.json["next"] as? String
                #expect(seen.count <= 6, "the pages end")
                if seen.count > 6 { break }
            }
            #expect(seen == (0..<5).map { "page-\($0)" })
        }
    }

    @Test func readingTheLogNeedsTheAdminTokenAndGoodParameters() async throws {
        try await Self.application().test { client in
            _ = try await Self.records(client, "", count: 0)
            #expect(try await client.get("/v1/audit").status == .unauthorized)
            #expect(try await client.get("/v1/audit/x").status == .unauthorized)
            for query in ["limit=0", "limit=1001", "since=yesterday", "after=-1", "color=blue"] {
                let response = try await client.execute(uri: "/v1/audit?\(query)", method: .get, headers: Self.admin)
                #expect(response.status == .badRequest, "\(query)")
                #expect(response.isProblem)
            }
            let missing = try await client.execute(uri: "/v1/audit/never-answered", method: .get, headers: Self.admin)
            #expect(missing.status == .notFound && missing.problemCode == "unknown-request")
        }
        try await Self.application { $0.audit.enabled = false }.test { client in
            let response = try await client.execute(uri: "/v1/audit", method: .get, headers: Self.admin)
            #expect(response.status == .notFound && response.problemCode == "audit-disabled")
        }
    }

    /// Replicas on one PostgreSQL store: what one answered, another shows byte for byte.
    @Test(.enabled(if: AuditStoreTests.postgresURL != nil, "CANDOR_TEST_POSTGRES_URL names no database"))
    func replicasShareAPostgresStore() async throws {
        let url = AuditStoreTests.postgresURL ?? ""
        let requestId = "replica-\(UUID().uuidString)"
        let body = #"{"method":"saliency","inputs":\#(flowers)}"#
        let answer = try await Self.application(postgres: url).test { client in
            let answer = try await client.post("/v1/models/iris_mlp/explain", json: body, headers: [.init("X-Request-Id")!: requestId])
            _ = try await Self.records(client, "request_id=\(requestId)", count: 1)
            return Array(answer.body.readableBytesView)
        }
        try await Self.application(postgres: url).test { client in
            _ = try await Self.records(client, "request_id=\(requestId)", count: 1)
            let stored = try await client.execute(uri: "/v1/audit/\(requestId)", method: .get, headers: Self.admin)
            #expect(Array(stored.body.readableBytesView) == answer)
            #expect(try await client.get("/readyz").json["audit"].flatMap { $0 as? [String: Any] }?["store"] as? String == "postgres")
        }
    }

    /// PostgreSQL killed under a running service: every answer is still given, and every
    /// record after the kill is either still queued or counted as dropped.
    @Test(
        .enabled(
            if: ProcessInfo.processInfo.environment["CANDOR_TEST_POSTGRES_DOOMED_STOP"] != nil,
            "CANDOR_TEST_POSTGRES_DOOMED_URL names no database to kill"))
    func aKilledPostgresLosesRecordsOnlyAsCounted() async throws {
        let environment = ProcessInfo.processInfo.environment
        let url = environment["CANDOR_TEST_POSTGRES_DOOMED_URL"] ?? ""
        let stop = environment["CANDOR_TEST_POSTGRES_DOOMED_STOP"] ?? ""
        try await Self.application(postgres: url).test { client in
            let first = try await client.post(
                "/v1/models/iris_mlp/explain", json: #"{"method":"saliency","inputs":\#(flowers)}"#,
                headers: [.init("X-Request-Id")!: "before-the-kill"])
            #expect(first.status == .ok)
            _ = try await Self.records(client, "request_id=before-the-kill", count: 1)

            let killer = Process()
            killer.executableURL = URL(fileURLWithPath: "/bin/sh")
            killer.arguments = ["-c", stop]
            try killer.run()
            killer.waitUntilExit()
            #expect(killer.terminationStatus == 0, "\(stop)")

            for index in 0..<3 {
                let answer = try await client.post(
                    "/v1/models/iris_mlp/explain", json: #"{"method":"saliency","inputs":[[\#(index),1,1,1]]}"#)
                #expect(answer.status == .ok, "an answer after the kill")
            }
            var audit: [String: Any] = [:]
            for _ in 0..<1_000 {
                audit = try await client.get("/readyz").json["audit"] as? [String: Any] ?? [:]
                if audit["state"] as? String == "unavailable", audit["queued"] as? Int == 0 { break }
                try await Task.sleep(for: .milliseconds(20))
            }
            #expect(audit["state"] as? String == "unavailable")
            #expect(audit["dropped"] as? Int == 3, "the three records after the kill are counted, not silently lost: \(audit)")
            #expect(try await client.get("/metrics").text.contains("candor_audit_dropped_total 3"))
        }
    }

    /// A store that cannot be reached costs records, counted, and never an answer.
    @Test func anUnreachableStoreLosesRecordsOnlyAsCounted() async throws {
        try await Self.application {
            $0.audit.postgresURL = "postgres://candor@127.0.0.1:1/audit?sslmode=disable"
            $0.audit.queueLimit = 1
        }.test { client in
            for index in 0..<3 {
                let answer = try await client.post(
                    "/v1/models/iris_mlp/explain", json: #"{"method":"saliency","inputs":[[\#(index),1,1,1]]}"#)
                #expect(answer.status == .ok)
            }
            var readiness: [String: Any] = [:]
            for _ in 0..<500 {
                readiness = try await client.get("/readyz").json
                if ((readiness["audit"] as? [String: Any])?["state"] as? String) == "unavailable" { break }
                try await Task.sleep(for: .milliseconds(20))
            }
            let audit = try #require(readiness["audit"] as? [String: Any])
            #expect(audit["store"] as? String == "postgres" && audit["state"] as? String == "unavailable")
            #expect((audit["reason"] as? String)?.isEmpty == false)
            #expect(audit["queued"] as? Int == 1 && audit["dropped"] as? Int == 2, "one record waits, two are dropped")
            #expect(try await client.get("/metrics").text.contains("candor_audit_dropped_total 2"))
            #expect(readiness["status"] as? String == "ready", "answers continue, so the service stays ready")
        }
    }
}
