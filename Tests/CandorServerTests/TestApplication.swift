import CandorExplain
import CandorServer
import CandorTestSupport
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
import NIOCore
import ServiceLifecycle

/// A service over a private copy of the demo models, with settings a test may change.
struct TestApplication {
    /// The demo models every test application serves, by name.
    static let demoModels: [String] = {
        let folder = Fixtures.repository.appendingPathComponent("models")
        let files = (try? FileManager.default.contentsOfDirectory(atPath: folder.path)) ?? []
        return files.filter { $0.hasSuffix(".onnx") }.map { String($0.dropLast(5)) }.sorted()
    }()

    let service: CandorService
    let modelsDirectory: URL
    /// Whether the test's end removes `modelsDirectory` (not for a restart over another's).
    private var ownsDirectory = true

    init(analyses: AnalysisCatalog = .standard, _ configure: (inout CandorConfiguration) -> Void = { _ in }) throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("candor-tests-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let demo = Fixtures.repository.appendingPathComponent("models")
        for file in try FileManager.default.contentsOfDirectory(atPath: demo.path) where !file.hasPrefix(".") {
            try FileManager.default.copyItem(at: demo.appendingPathComponent(file), to: directory.appendingPathComponent(file))
        }
        var configuration = CandorConfiguration()
        configuration.models.directory = directory.path
        // Inside the models copy, so it goes with it; the registry skips dot-folders.
        configuration.data.directory = directory.appendingPathComponent(".data").path
        configuration.workers.threads = 2
        configure(&configuration)
        var logger = Logger(label: "candor-tests")
        logger.logLevel = .warning
        service = CandorService(configuration: configuration, analysisCatalog: analyses, logger: logger)
        modelsDirectory = directory
    }

    /// A second service over the folders of `configuration`, as a restart finds them.
    static func restarted(_ configuration: CandorConfiguration, analyses: AnalysisCatalog = .withSteps) throws -> TestApplication {
        var logger = Logger(label: "candor-tests-restarted")
        logger.logLevel = .warning
        return TestApplication(
            service: CandorService(configuration: configuration, analysisCatalog: analyses, logger: logger),
            modelsDirectory: URL(fileURLWithPath: configuration.models.directory), ownsDirectory: false)
    }

    private init(service: CandorService, modelsDirectory: URL, ownsDirectory: Bool) {
        self.service = service
        self.modelsDirectory = modelsDirectory
        self.ownsDirectory = ownsDirectory
    }

    /// Where uploaded versions live: `.versions/NAME@ID/`, with the link `.versions/NAME`.
    var versionsDirectory: URL { modelsDirectory.appendingPathComponent(".versions") }

    /// A file of the version of uploaded model `name` being served.
    func uploadedFile(_ name: String, _ file: String) -> URL {
        versionsDirectory.appendingPathComponent(name).appendingPathComponent(file)
    }

    /// Runs `body` against the application in process, through Hummingbird's router tester.
    func test<Value>(_ body: @Sendable (any TestClientProtocol) async throws -> Value) async throws -> Value {
        defer { if ownsDirectory { try? FileManager.default.removeItem(at: modelsDirectory) } }
        return try await buildApplication(service).test(.router, body)
    }

    /// Runs `body` against the application listening on a free loopback port (configure
    /// `server.port = 0`), for tests that need real sockets; `body` gets the port. Unlike
    /// HummingbirdTesting's `.live`, no test client holds a connection of its own.
    func live<Value: Sendable>(_ body: @Sendable (Int) async throws -> Value) async throws -> Value {
        defer { try? FileManager.default.removeItem(at: modelsDirectory) }
        let (ports, portSource) = AsyncStream<Int>.makeStream()
        let application = try buildApplication(service) { channel in
            portSource.yield(channel.localAddress?.port ?? 0)
            portSource.finish()
        }
        let group = ServiceGroup(configuration: .init(services: [application], logger: Logger(label: "candor-tests-live")))
        return try await withThrowingTaskGroup(of: Value?.self) { tasks in
            tasks.addTask {
                try await group.run()
                return nil
            }
            var iterator = ports.makeAsyncIterator()
            guard let port = await iterator.next(), port > 0 else { throw CancellationError() }
            do {
                let value = try await body(port)
                await group.triggerGracefulShutdown()
                try await tasks.waitForAll()
                return value
            } catch {
                await group.triggerGracefulShutdown()
                throw error
            }
        }
    }
}

extension TestClientProtocol {
    /// POSTs a JSON body (given as text, so tests can send malformed JSON too).
    func post(_ uri: String, json: String, headers: HTTPFields = [:]) async throws -> TestResponse {
        var headers = headers
        headers[.contentType] = "application/json"
        return try await execute(uri: uri, method: .post, headers: headers, body: ByteBuffer(string: json))
    }

    func get(_ uri: String) async throws -> TestResponse {
        try await execute(uri: uri, method: .get)
    }
}

extension TestResponse {
    /// The body parsed as a JSON object.
    var json: [String: Any] {
        (try? JSONSerialization.jsonObject(with: Data(body.readableBytesView))) as? [String: Any] ?? [:]
    }

    var text: String { String(buffer: body) }

    /// The problem `type` code after `urn:candor:error:`.
    var problemCode: String? {
        (json["type"] as? String).map { String($0.dropFirst("urn:candor:error:".count)) }
    }

    var isProblem: Bool { headers[.contentType] == "application/problem+json" && json["detail"] is String }
}

/// A `multipart/form-data` body of `(Content-Disposition parameters, bytes)` parts.
func multipartBody(_ parts: [(String, Data)], boundary: String = "B") -> ByteBuffer {
    var body = ByteBuffer()
    for (disposition, data) in parts {
        body.writeString("--\(boundary)\r\nContent-Disposition: form-data; \(disposition)\r\n\r\n")
        body.writeBytes(data)
        body.writeString("\r\n")
    }
    body.writeString("--\(boundary)--\r\n")
    return body
}
