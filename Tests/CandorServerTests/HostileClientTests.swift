import CandorServer
import Foundation
import Testing

/// What raw-socket clients that break HTTP/1.1 or hold connections get: a problem document
/// with a request id and a closed connection, at once or within the configured timeouts —
/// never a 500, never a connection held for as long as the client likes.
@Suite(.serialized) struct HostileClientTests {
    /// A live application whose header, body and idle timeouts are `timeouts` seconds: short
    /// where a case is about them, long elsewhere, since the suite shares the cores with
    /// compute-heavy suites and a starved handler must not be mistaken for a slow client.
    static func application(
        timeouts: Double = 30, _ configure: (inout CandorConfiguration) -> Void = { _ in }
    ) throws -> TestApplication {
        try TestApplication {
            $0.server.port = 0
            $0.server.headerTimeoutSeconds = timeouts
            $0.server.bodyTimeoutSeconds = timeouts
            $0.server.minBodyBytesPerSecond = 1000
            $0.server.idleTimeoutSeconds = timeouts
            configure(&$0)
        }
    }

    static let predict = "POST /v1/models/iris_mlp/predict HTTP/1.1\r\nHost: localhost\r\n"

    /// Sends `request` on a new connection and returns what came back once the server closed.
    static func exchange(_ request: String, port: Int, within limit: Duration = .seconds(10)) async throws -> (text: String, closed: Bool) {
        let connection = try await RawConnection.open(port: port)
        // The server may answer and close before the whole request is written.
        try? await connection.send(request)
        let closed = await connection.waitForClose(within: limit)
        let text = connection.received
        await connection.close()
        return (text, closed)
    }

    static func expectProblem(_ text: String, status: String, code: String, sourceLocation: SourceLocation = #_sourceLocation) {
        let lowered = text.lowercased()
        #expect(text.hasPrefix("HTTP/1.1 \(status)"), "\(text)", sourceLocation: sourceLocation)
        #expect(lowered.contains("content-type: application/problem+json"), "\(text)", sourceLocation: sourceLocation)
        #expect(lowered.contains("x-request-id: "), "\(text)", sourceLocation: sourceLocation)
        #expect(text.contains("urn:candor:error:\(code)"), "\(text)", sourceLocation: sourceLocation)
    }

    @Test func aBadChunkSizeIsA400ProblemAndTheConnectionCloses() async throws {
        try await Self.application().live { port in
            let (text, closed) = try await Self.exchange(Self.predict + "Transfer-Encoding: chunked\r\n\r\nzz\r\n", port: port)
            #expect(closed)
            Self.expectProblem(text, status: "400", code: "malformed-request")
        }
    }

    @Test(arguments: ["9223372036854775808", "18446744073709551615", "9000000"])
    func aDeclaredLengthOverTheLimitIs413AtOnce(_ length: String) async throws {
        try await Self.application().live { port in
            let start = ContinuousClock.now
            let (text, closed) = try await Self.exchange(Self.predict + "Content-Length: \(length)\r\n\r\n{", port: port)
            #expect(closed)
            #expect(ContinuousClock.now - start < .seconds(5), "answered before any timeout")
            Self.expectProblem(text, status: "413", code: "body-too-large")
        }
    }

    @Test func aClientSendingAByteAtATimeIsCutOffWith408() async throws {
        try await Self.application(timeouts: 0.5).live { port in
            let connection = try await RawConnection.open(port: port)
            try await connection.send(Self.predict + "Content-Length: 200\r\n\r\n")
            let start = ContinuousClock.now
            while connection.isOpen && ContinuousClock.now - start < .seconds(10) {
                try? await connection.send("[")
                try await Task.sleep(for: .milliseconds(50))
            }
            #expect(!connection.isOpen)
            Self.expectProblem(connection.received, status: "408", code: "request-timeout")
        }
    }

    @Test func aChunkLargerThanAnyBodyIsCutOffWhenItStalls() async throws {
        try await Self.application(timeouts: 0.5).live { port in
            let (text, closed) = try await Self.exchange(
                Self.predict + "Transfer-Encoding: chunked\r\n\r\nffffffffffffffff\r\n{\"inputs\"", port: port)
            #expect(closed)
            Self.expectProblem(text, status: "408", code: "request-timeout")
        }
    }

    @Test func aHalfSentHeadGets408AndIsCounted() async throws {
        try await Self.application(timeouts: 0.5).live { port in
            let (text, closed) = try await Self.exchange(Self.predict + "Content-Type: application/j", port: port)
            #expect(closed)
            Self.expectProblem(text, status: "408", code: "request-timeout")
            let metrics = try await Self.exchange("GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", port: port)
            #expect(metrics.text.contains(#"candor_connection_timeouts_total{phase="header"} 1"#), "\(metrics.text)")
        }
    }

    /// The head's clock also runs for the second request on a kept-alive connection.
    @Test func aHalfSentSecondHeadGets408() async throws {
        try await Self.application(timeouts: 0.5).live { port in
            let connection = try await RawConnection.open(port: port)
            try await connection.send("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
            #expect(await connection.waitFor("HTTP/1.1 200", within: .seconds(10)))
            try await connection.send("GET /healthz HTTP/1.1\r\nHo")
            #expect(await connection.waitForClose(within: .seconds(10)))
            Self.expectProblem(
                String(connection.received[(connection.received.range(of: "HTTP/1.1 408")?.lowerBound ?? connection.received.endIndex)...]),
                status: "408", code: "request-timeout")
        }
    }

    @Test func aSilentConnectionAndAnIdleKeptAliveOneAreClosedQuietly() async throws {
        try await Self.application(timeouts: 0.5).live { port in
            let silent = try await RawConnection.open(port: port)
            #expect(await silent.waitForClose(within: .seconds(10)))
            #expect(silent.received.isEmpty)

            let keptAlive = try await RawConnection.open(port: port)
            try await keptAlive.send("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
            #expect(await keptAlive.waitFor("HTTP/1.1 200", within: .seconds(10)))
            #expect(keptAlive.isOpen, "kept alive after the answer")
            #expect(await keptAlive.waitForClose(within: .seconds(10)))
        }
    }

    @Test func anUnknownMethodIs501WithAllow() async throws {
        try await Self.application().live { port in
            let (text, closed) = try await Self.exchange("FROB /v1/models HTTP/1.1\r\nHost: x\r\n\r\n", port: port)
            #expect(closed)
            Self.expectProblem(text, status: "501", code: "method-not-implemented")
            #expect(text.lowercased().contains("allow: get, head, post, delete"), "\(text)")
        }
    }

    @Test(arguments: [
        "GET /healthz HTTP/1.1\r\nContent-Length: abc\r\n\r\n", "GET /healthz HTTP/9.9\r\n\r\n",
        "GET /healthz HTTP/1.1\r\nBad Header\r\n\r\n",
        "POST /v1/models/iris_mlp/predict HTTP/1.1\r\nContent-Length: 99999999999999999999999\r\n\r\n",
    ])
    func aGarbageRequestIsA400Problem(_ request: String) async throws {
        try await Self.application().live { port in
            let (text, closed) = try await Self.exchange(request, port: port)
            #expect(closed)
            Self.expectProblem(text, status: "400", code: "malformed-request")
        }
    }

    @Test func connectionsBeyondTheLimitWaitUntilOneCloses() async throws {
        try await Self.application {
            $0.server.maxConnections = 2
        }.live { port in
            let first = try await RawConnection.open(port: port)
            let second = try await RawConnection.open(port: port)
            try await Task.sleep(for: .milliseconds(100))
            let third = try await RawConnection.open(port: port)
            try await third.send("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
            #expect(await !third.waitFor("HTTP/1.1 200", within: .milliseconds(500)), "not accepted while two are open")
            await first.close()
            #expect(await third.waitFor("HTTP/1.1 200", within: .seconds(10)), "accepted once one closed")
            await second.close()
            await third.close()
        }
    }

    /// About 20 s of occlusion (three images, 3,072 windows each) on the CNN demo model in a
    /// debug build, checked for cancellation every 8 rows.
    static let slowExplanation: String = {
        let row = "[" + Array(repeating: "0.5", count: 32).joined(separator: ",") + "]"
        let channel = "[" + Array(repeating: row, count: 32).joined(separator: ",") + "]"
        let image = "[" + Array(repeating: channel, count: 3).joined(separator: ",") + "]"
        let body = #"{"method":"occlusion","inputs":[\#(image),\#(image),\#(image)],"params":{"sliding_window_shapes":[1,1,1]}}"#
        return "POST /v1/models/shapes_cnn/explain HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            + "Cache-Control: no-cache\r\nContent-Length: \(body.utf8.count)\r\n\r\n\(body)"
    }()

    static func busyWorkers(port: Int) async throws -> String {
        let (text, _) = try await exchange("GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", port: port)
        return text.split(separator: "\n").first { $0.hasPrefix("candor_busy_workers ") }.map(String.init) ?? ""
    }

    /// Sends the slow explanation and waits until a worker runs it.
    static func occupyWorker(port: Int) async throws -> RawConnection {
        let connection = try await RawConnection.open(port: port)
        try await connection.send(slowExplanation)
        for _ in 0..<100 {
            if try await busyWorkers(port: port) == "candor_busy_workers 1.0" { break }
            try await Task.sleep(for: .milliseconds(20))
        }
        return connection
    }

    /// A connection that got a 429 is not read again before its Retry-After: a flood that
    /// ignores the header gets one refusal per second per connection, not thousands, and the
    /// workers keep the cores.
    @Test func aRefusedConnectionIsNotReadBeforeItsRetryAfter() async throws {
        try await Self.application {
            $0.workers.threads = 1
            $0.workers.queueLimit = 0
            $0.server.requestTimeoutSeconds = 120
            $0.limits.maxBatchElements = 3 * 32 * 32 * 8
        }.live { port in
            let busy = try await Self.occupyWorker(port: port)
            let flood = try await RawConnection.open(port: port)
            let predict = #"{"inputs":[[5.1,3.5,1.4,0.2]]}"#
            let request = Self.predict + "Content-Length: \(predict.utf8.count)\r\n\r\n\(predict)"
            try await flood.send(request)
            #expect(await flood.waitFor("HTTP/1.1 429", within: .seconds(10)))
            #expect(flood.received.lowercased().contains("retry-after: 1"))
            let start = ContinuousClock.now
            try await flood.send(request)
            try await Task.sleep(for: .milliseconds(600))
            #expect(flood.received.components(separatedBy: "HTTP/1.1 429").count == 2, "the second waits out the Retry-After")
            while flood.received.components(separatedBy: "HTTP/1.1 429").count < 3 && ContinuousClock.now - start < .seconds(5) {
                try await Task.sleep(for: .milliseconds(20))
            }
            #expect(flood.received.components(separatedBy: "HTTP/1.1 429").count == 3, "then it is read and refused too")
            #expect(ContinuousClock.now - start >= .seconds(0.9))
            await flood.close()
            await busy.close()
        }
    }

    /// A client that leaves while its explanation is computed frees the worker at the next
    /// batch: the computation (seconds of occlusion) is cancelled, not finished for nobody.
    @Test func aClientThatLeavesHasItsComputationCancelled() async throws {
        try await Self.application {
            $0.server.requestTimeoutSeconds = 120
            $0.limits.maxBatchElements = 3 * 32 * 32 * 8
        }.live { port in
            let connection = try await Self.occupyWorker(port: port)
            #expect(try await Self.busyWorkers(port: port) == "candor_busy_workers 1.0", "the occlusion is running")
            let left = ContinuousClock.now
            await connection.close()
            var idle = false
            while !idle && ContinuousClock.now - left < .seconds(10) {
                idle = try await Self.busyWorkers(port: port) == "candor_busy_workers 0.0"
                if !idle { try await Task.sleep(for: .milliseconds(20)) }
            }
            #expect(idle, "the worker was freed within 10 s of the client leaving (the whole occlusion takes about 20 s)")
            #expect(connection.received.isEmpty)
        }
    }

    /// Requests sent back to back on one connection are each answered, and the connection
    /// then idles as usual.
    @Test func pipelinedRequestsAreAllAnswered() async throws {
        try await Self.application(timeouts: 0.5).live { port in
            let predict = #"{"inputs":[[5.1,3.5,1.4,0.2]]}"#
            let connection = try await RawConnection.open(port: port)
            try await connection.send(
                "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n" + Self.predict + "Content-Length: \(predict.utf8.count)\r\n\r\n\(predict)"
                    + "GET /readyz HTTP/1.1\r\nHost: x\r\n\r\n")
            #expect(await connection.waitFor("ready", within: .seconds(10)))
            #expect(connection.received.components(separatedBy: "HTTP/1.1 200 OK").count == 4, "\(connection.received)")
            #expect(await connection.waitForClose(within: .seconds(10)), "idle afterwards")
        }
    }
}
