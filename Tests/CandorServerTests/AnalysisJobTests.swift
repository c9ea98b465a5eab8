import CandorExplain
import CandorServer
import Foundation
import HTTPTypes
import HummingbirdTesting
import Logging
import Testing

/// The analysis job lifecycle over HTTP: 202 and Location, progress, `?wait`, the result
/// cache, cancellation between batches, Server-Sent Events, and results that outlive a restart.
@Suite struct AnalysisJobTests {
    let submitURI = "/v1/models/iris_mlp/analyses"

    func stepsRequest(steps: Int, milliseconds: Int, data: String = #""model""#) -> String {
        #"{"analysis":"steps","data":\#(data),"target":"setosa","params":{"steps":\#(steps),"step_milliseconds":\#(milliseconds)}}"#
    }

    /// Polls the job until `condition` holds of its document, or fails after 20 s.
    func poll(
        _ client: any TestClientProtocol, _ location: String, until condition: ([String: Any]) -> Bool
    ) async throws -> [String: Any] {
        for _ in 0..<400 {
            let document = try await client.get(location).json
            if condition(document) { return document }
            try await Task.sleep(for: .milliseconds(50))
        }
        Issue.record("the job at \(location) never reached the expected state")
        return [:]
    }

    @Test func aJobIsAcceptedShowsProgressAndSucceedsWithItsResult() async throws {
        try await TestApplication(analyses: .withSteps).test { client in
            let response = try await client.post(submitURI, json: stepsRequest(steps: 20, milliseconds: 20))
            #expect(response.status == .accepted, "\(response.text)")
            let location = try #require(response.headers[.location])
            let id = try #require(response.json["id"] as? String)
            #expect(location == "/v1/analyses/\(id)")
            #expect(response.json["analysis"] as? String == "steps")
            #expect(response.json["data"] as? String == "model")
            #expect((response.json["params"] as? [String: Any])?["steps"] as? Int == 20)

            let midway = try await poll(client, location) { (($0["progress"] as? [String: Any])?["done"] as? Int ?? 0) > 0 }
            let progress = try #require(midway["progress"] as? [String: Any])
            #expect(progress["total"] as? Int == 20)
            #expect(progress["unit"] as? String == "steps")
            if midway["state"] as? String == "running" {
                #expect(midway["started_at"] is String)
                #expect(midway["eta_seconds"] is Double)
            }

            let finished = try await poll(client, location) { $0["state"] as? String == "succeeded" }
            let result = try #require(finished["result"] as? [String: Any])
            #expect(result["rows"] as? Int == 30)
            #expect((result["mean_output"] as? Double).map { $0.isFinite } == true)
            #expect((finished["progress"] as? [String: Any])?["done"] as? Int == 20)
            #expect(finished["finished_at"] is String)

            let listing = try await client.get("/v1/analyses")
            let jobs = try #require(listing.json["analyses"] as? [[String: Any]])
            #expect(jobs.contains { $0["id"] as? String == id && $0["result"] == nil })
        }
    }

    @Test func waitAnswersTheResultWhenTheJobFinishesInTime() async throws {
        try await TestApplication(analyses: .withSteps).test { client in
            let response = try await client.post("\(submitURI)?wait=10", json: stepsRequest(steps: 2, milliseconds: 1))
            #expect(response.status == .ok, "\(response.text)")
            #expect(response.json["state"] as? String == "succeeded")
            #expect(response.json["result"] is [String: Any])

            let slow = try await client.post("\(submitURI)?wait=0.05", json: stepsRequest(steps: 200, milliseconds: 20))
            #expect(slow.status == .accepted)
            #expect(slow.json["result"] == nil)
            let location = try #require(slow.headers[.location])
            _ = try await client.execute(uri: location, method: .delete)

            let bad = try await client.post("\(submitURI)?wait=forever", json: stepsRequest(steps: 1, milliseconds: 1))
            #expect(bad.status == .badRequest)
            #expect((bad.json["detail"] as? String)?.contains("'wait'") == true)
        }
    }

    /// A job is reported finished only once its record, with the result, is on disk: an
    /// answer to `?wait` always carries the result, however long writing it takes.
    @Test func aFinishedJobIsReportedWithItsResult() async throws {
        try await TestApplication(analyses: .withSteps).test { client in
            for steps in 1...4 {
                let response = try await client.post(
                    "\(submitURI)?wait=30",
                    json: #"{"analysis":"steps","data":"model","target":0,"params":{"steps":\#(steps),"payload":200000}}"#)
                #expect(response.json["state"] as? String == "succeeded")
                #expect(((response.json["result"] as? [String: Any])?["payload"] as? [Any])?.count == 200_000)
            }
        }
    }

    @Test func anEqualRequestIsAnsweredFromTheKeptResult() async throws {
        try await TestApplication(analyses: .withSteps).test { client in
            let first = try await client.post("\(submitURI)?wait=10", json: stepsRequest(steps: 1, milliseconds: 1))
            #expect(first.status == .ok)
            let again = try await client.post(submitURI, json: stepsRequest(steps: 1, milliseconds: 1))
            #expect(again.status == .ok)
            #expect(again.headers[HTTPField.Name("X-Cache")!] == "hit")
            #expect(again.json["id"] as? String == first.json["id"] as? String)
            #expect(again.json["result"] is [String: Any])

            // Other parameters, or other data, are another job.
            let other = try await client.post("\(submitURI)?wait=10", json: stepsRequest(steps: 2, milliseconds: 1))
            #expect(other.json["id"] as? String != first.json["id"] as? String)
            let rows = try await client.post(
                "\(submitURI)?wait=10", json: stepsRequest(steps: 1, milliseconds: 1, data: "[[5.1,3.5,1.4,0.2],[6.7,3.0,5.2,2.3]]"))
            #expect(rows.json["id"] as? String != first.json["id"] as? String)
            #expect((rows.json["result"] as? [String: Any])?["rows"] as? Int == 2)
            #expect(rows.json["data"] as? String == "request")
        }
    }

    @Test func cancellingARunningJobStopsItsWorkBetweenBatches() async throws {
        try await TestApplication(analyses: .withSteps).test { client in
            let response = try await client.post(submitURI, json: stepsRequest(steps: 2000, milliseconds: 5))
            let location = try #require(response.headers[.location])
            _ = try await poll(client, location) { (($0["progress"] as? [String: Any])?["done"] as? Int ?? 0) > 2 }
            let cancelled = try await client.execute(uri: location, method: .delete)
            #expect(cancelled.status == .ok)
            #expect(cancelled.json["state"] as? String == "cancelled")
            // The work stops: progress stays put, well short of the total.
            try await Task.sleep(for: .milliseconds(300))
            let first = try await client.get(location).json
            try await Task.sleep(for: .milliseconds(300))
            let second = try await client.get(location).json
            let done = (second["progress"] as? [String: Any])?["done"] as? Int ?? -1
            #expect(done == (first["progress"] as? [String: Any])?["done"] as? Int)
            #expect(done < 2000)
            #expect(second["state"] as? String == "cancelled")
            #expect(second["result"] == nil)

            // The slot is free again: a new job runs to the end.
            let next = try await client.post("\(submitURI)?wait=10", json: stepsRequest(steps: 1, milliseconds: 1))
            #expect(next.json["state"] as? String == "succeeded")

            // Deleting a finished job forgets it.
            let removed = try await client.execute(uri: location, method: .delete)
            #expect(removed.status == .noContent)
            #expect(try await client.get(location).status == .notFound)
        }
    }

    @Test func aQueuedJobWaitsForTheRunningOneAndCanBeCancelledBeforeItStarts() async throws {
        try await TestApplication(analyses: .withSteps).test { client in
            // The running job lasts 20 s, and is cancelled at the end: under a loaded CI machine a
            // 2 s job ended before the DELETE, and the queued one ran.
            let running = try await client.post(submitURI, json: stepsRequest(steps: 4000, milliseconds: 5))
            let queued = try await client.post(submitURI, json: stepsRequest(steps: 3, milliseconds: 1))
            #expect(queued.json["state"] as? String == "queued")
            let location = try #require(queued.headers[.location])
            let cancelled = try await client.execute(uri: location, method: .delete)
            #expect(cancelled.json["state"] as? String == "cancelled")
            #expect((cancelled.json["progress"] as? [String: Any])?["done"] as? Int == 0)
            _ = try await client.execute(uri: try #require(running.headers[.location]), method: .delete)
        }
    }

    @Test func aFullQueueIsRefusedWithRetryAfter() async throws {
        try await TestApplication(analyses: .withSteps, { $0.analyses.maxQueued = 1 }).test { client in
            let first = try await client.post(submitURI, json: stepsRequest(steps: 1000, milliseconds: 5))
            let second = try await client.post(submitURI, json: stepsRequest(steps: 1001, milliseconds: 5))
            #expect(second.status == .accepted)
            let third = try await client.post(submitURI, json: stepsRequest(steps: 1002, milliseconds: 5))
            #expect(third.status == .tooManyRequests)
            #expect(third.problemCode == "too-many-analyses")
            #expect(third.headers[.retryAfter] != nil)
            for response in [first, second] {
                _ = try await client.execute(uri: try #require(response.headers[.location]), method: .delete)
            }
        }
    }

    @Test func eventsStreamProgressThenTheFinalDocument() async throws {
        try await TestApplication(analyses: .withSteps).test { client in
            let response = try await client.post(submitURI, json: stepsRequest(steps: 10, milliseconds: 30))
            let location = try #require(response.headers[.location])
            let events = try await client.get("\(location)/events")
            #expect(events.status == .ok)
            #expect(events.headers[.contentType] == "text/event-stream")
            let text = events.text
            #expect(text.contains("event: progress\ndata: {"))
            #expect(text.contains("event: succeeded\ndata: {"))
            let last = try #require(text.components(separatedBy: "event: succeeded\ndata: ").last?.split(separator: "\n").first)
            let document = try #require(try JSONSerialization.jsonObject(with: Data(last.utf8)) as? [String: Any])
            #expect(document["result"] is [String: Any])
            // Each progress event carries a count no smaller than the one before.
            let counts = text.components(separatedBy: "\"done\":").dropFirst().compactMap { Int($0.prefix { $0.isNumber }) }
            #expect(counts == counts.sorted())
            #expect(counts.last == 10)
        }
    }

    @Test func badAnalysisRequestsAreNamed400s() async throws {
        try await TestApplication(analyses: .withSteps, { $0.analyses.maxRows = 3 }).test { client in
            let cases: [(String, String, String)] = [
                (#"{"analysis":"nope","data":"model"}"#, "unknown-analysis", "nope"),
                (#"{"analysis":"steps"}"#, "invalid-data", "no 'data'"),
                (#"{"analysis":"steps","data":{"dataset":"0123"}}"#, "unknown-dataset", "0123"),
                (#"{"analysis":"steps","data":"model","target":"setosa"}"#, "too-many-rows", "analyses.max_rows"),
                (#"{"analysis":"steps","data":[[1,2,3]]}"#, "invalid-input", "shape"),
                (#"{"analysis":"steps","data":[[1,2,3,4]],"labels":[1,2]}"#, "invalid-labels", "2 labels for 1 rows"),
                (#"{"analysis":"steps","data":[[1,2,3,4]],"labels":["rose"]}"#, "invalid-labels", "rose"),
                (#"{"analysis":"steps","data":[[1,2,3,4]],"params":{"steps":-1}}"#, "invalid-parameter", "steps"),
                (#"{"analysis":"steps","data":[[1,2,3,4]],"target":[0]}"#, "invalid-target", "one 'target'"),
                (#"{"analysis":"steps","data":[[1,2,3,4]],"extra":1}"#, "unknown-field", "extra"),
            ]
            for (body, code, mention) in cases {
                let response = try await client.post(submitURI, json: body)
                #expect(response.status == .badRequest, "\(body)")
                #expect(response.problemCode == code, "\(body): \(response.text)")
                #expect((response.json["detail"] as? String)?.contains(mention) == true, "\(body): \(response.text)")
            }
            #expect(try await client.get("/v1/analyses/0123").status == .notFound)
            #expect(try await client.post("/v1/models/none/analyses", json: #"{"analysis":"steps","data":"model"}"#).status == .notFound)
        }
    }

    /// A result reported before a restart is there after it, and a job the restart interrupted
    /// comes back failed, saying so.
    @Test func aRestartKeepsFinishedResultsAndReportsInterruptedJobs() async throws {
        let application = try TestApplication(analyses: .withSteps)
        let configuration = application.service.configuration
        let (finishedID, interruptedID) = try await application.test { client in
            let finished = try await client.post("\(submitURI)?wait=10", json: stepsRequest(steps: 1, milliseconds: 1))
            #expect(finished.json["state"] as? String == "succeeded")
            let running = try await client.post(submitURI, json: stepsRequest(steps: 5000, milliseconds: 5))
            let location = try #require(running.headers[.location])
            _ = try await poll(client, location) { $0["state"] as? String == "running" }
            // A second service over the same folders starts while the job runs, as a restart
            // after a crash would find it.
            let restarted = try TestApplication.restarted(configuration)
            try await restarted.test { client in
                let kept = try await client.get("/v1/analyses/\(try #require(finished.json["id"] as? String))")
                #expect(kept.json["state"] as? String == "succeeded")
                #expect(kept.json["result"] as? [String: Any] != nil)
                let interrupted = try await client.get(location)
                #expect(interrupted.json["state"] as? String == "failed")
                #expect(
                    (interrupted.json["error"] as? [String: Any])?["detail"] as? String
                        == "the service stopped before this analysis finished; submit it again")
            }
            _ = try await client.execute(uri: location, method: .delete)
            return (finished.json["id"] as? String, running.json["id"] as? String)
        }
        #expect(finishedID != nil && interruptedID != nil)
    }
}

extension AnalysisJobTests {
    /// An analysis that outlives `analyses.timeout_seconds` is stopped at its next batch and
    /// fails, saying why, and frees its slot.
    @Test func anAnalysisPastItsDeadlineFailsSayingSo() async throws {
        try await TestApplication(analyses: .withSteps, { $0.analyses.timeoutSeconds = 0.3 }).test { client in
            let response = try await client.post("\(submitURI)?wait=10", json: stepsRequest(steps: 5000, milliseconds: 5))
            #expect(response.json["state"] as? String == "failed")
            let error = try #require(response.json["error"] as? [String: Any])
            #expect(error["type"] as? String == "urn:candor:error:deadline-exceeded")
            #expect((error["detail"] as? String)?.contains("analyses.timeout_seconds") == true)
            let done = (response.json["progress"] as? [String: Any])?["done"] as? Int ?? 0
            #expect(done > 0 && done < 5000)
            let next = try await client.post("\(submitURI)?wait=10", json: stepsRequest(steps: 1, milliseconds: 1))
            #expect(next.json["state"] as? String == "succeeded")
        }
    }
}
