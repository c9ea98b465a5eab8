import CandorTestSupport
import Foundation
import HTTPTypes
import HummingbirdTesting
import NIOCore
import NIOPosix

/// The real `candor` executable, started as a child process on a free loopback port over a
/// models folder — for tests that kill the server (`kill -9`) and start it again.
struct ServerProcess {
    static let adminToken = "crash-test-token"

    let process: Process
    let port: Int

    /// `candor` beside the test bundle (`swift build --build-tests` builds it with the tests).
    static var executable: URL? {
        let candidates = [
            URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("candor"),
            Fixtures.repository.appendingPathComponent(".build/debug/candor"),
        ]
        return candidates.first { FileManager.default.isExecutableFile(atPath: $0.path) }
    }

    struct Failure: Error, CustomStringConvertible {
        let description: String
        var exitedAtStart = false
    }

    /// Starts `candor serve` and waits until `/readyz` answers 200 — on another port if the
    /// one chosen was taken in between.
    static func start(models: URL, environment: [String: String] = [:]) async throws -> ServerProcess {
        var attempt = 0
        while true {
            do { return try await startOnce(models: models, environment: environment) } catch let failure as Failure
                where failure.exitedAtStart && attempt < 3
            {
                attempt += 1
            }
        }
    }

    private static func startOnce(models: URL, environment: [String: String]) async throws -> ServerProcess {
        guard let executable else {
            throw Failure(description: "the candor executable is not built: run swift build --build-tests first")
        }
        let port = try await freePort()
        let process = Process()
        process.executableURL = executable
        process.arguments = ["serve", "--models-dir", models.path, "--host", "127.0.0.1", "--port", "\(port)"]
        process.environment = ProcessInfo.processInfo.environment.merging(
            ["CANDOR_ADMIN_TOKEN": adminToken, "CANDOR_WORKERS_THREADS": "1"].merging(environment) { $1 }
        ) { $1 }
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        let server = ServerProcess(process: process, port: port)
        for _ in 0..<600 {
            guard process.isRunning else {
                throw Failure(description: "candor exited at start (status \(process.terminationStatus))", exitedAtStart: true)
            }
            if let ready = try? await server.request(.get, "/readyz"), ready.status == .ok { return server }
            try await Task.sleep(for: .milliseconds(100))
        }
        server.kill()
        throw Failure(description: "candor did not become ready in 60 s")
    }

    /// One request on a new connection.
    func request(
        _ method: HTTPRequest.Method, _ uri: String, headers: HTTPFields = [:], body: ByteBuffer? = nil
    ) async throws -> TestClient.Response {
        try await TestClient.withClient(host: "127.0.0.1", port: port) { client in
            try await client.execute(TestClient.Request(uri, method: method, headers: headers, body: body))
        }
    }

    /// A response body as JSON (an empty object when it is not).
    static func json(_ response: TestClient.Response) -> [String: Any] {
        let data = Data((response.body ?? ByteBuffer()).readableBytesView)
        return (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] ?? [:]
    }

    /// SIGKILL, and waits for the process to be gone.
    func kill() {
        if process.isRunning { _ = Foundation.kill(process.processIdentifier, SIGKILL) }
        process.waitUntilExit()
    }

    /// A port nothing listens on now: bound once by the OS's choice, then released.
    private static func freePort() async throws -> Int {
        let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton).bind(host: "127.0.0.1", port: 0).get()
        let port = channel.localAddress?.port ?? 0
        try await channel.close()
        guard port > 0 else { throw Failure(description: "no free port") }
        return port
    }
}
