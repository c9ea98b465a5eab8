import ArgumentParser
import CandorExplain
import CandorServer
import Foundation
import Hummingbird
import Logging

#if canImport(Glibc)
    import CGlibcMalloc
#endif

@main
struct Candor: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "candor",
        abstract: "Serve machine-learning models and explain their predictions.",
        subcommands: [Serve.self, Inspect.self, Explain.self, Analyze.self, Methods.self],
        defaultSubcommand: Serve.self)
}

/// Options that shape the configuration, shared by the subcommands.
struct ConfigurationOptions: ParsableArguments {
    @Option(help: "A YAML configuration file (see config/candor.yaml); defaults are built in.")
    var config: String?

    @Option(help: "Folder of NAME.onnx models with their NAME.yaml sidecars.")
    var modelsDir: String?

    /// Built-in defaults, then the file, then CANDOR_… variables, then flags.
    func resolve(host: String? = nil, port: Int? = nil) throws -> CandorConfiguration {
        var configuration = CandorConfiguration()
        if let config {
            let text: String
            do { text = try String(contentsOfFile: config, encoding: .utf8) } catch {
                throw ValidationError("cannot read configuration file \(config): \(error.localizedDescription)")
            }
            configuration = try CandorConfiguration.fromYAML(text, source: config)
        }
        try configuration.applyEnvironment(ProcessInfo.processInfo.environment)
        if let modelsDir { configuration.models.directory = modelsDir }
        if let host { configuration.server.host = host }
        if let port { configuration.server.port = port }
        return configuration
    }
}

struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Serve the models folder over HTTP.")

    @OptionGroup var options: ConfigurationOptions

    @Option(help: "Address to listen on.")
    var host: String?

    @Option(help: "Port to listen on.")
    var port: Int?

    @OptionGroup(title: "KServe") var kserve: KServeOptions

    func run() async throws {
        let configuration = try options.resolve(host: host, port: port ?? kserve.httpPort)
        keepFreedMemoryForReuse()
        LoggingSystem.bootstrap(StreamLogHandler.standardError)
        var logger = Logger(label: "candor")
        logger.logLevel = Logger.Level(rawValue: configuration.logging.level) ?? .info
        let service = CandorService(configuration: configuration, logger: logger)
        service.reportMatrixKernels()
        let application = try buildApplication(service)
        // SIGTERM and SIGINT stop accepting connections and let in-flight requests finish.
        try await application.runService()
    }
}

/// The arguments KServe appends to a custom explainer (or transformer) container's own, so
/// that the image runs as one unchanged: the port is used, the rest are accepted and have no
/// effect — Candor explains its own copy of each model from its models folder, serving every
/// model there, rather than calling a predictor.
struct KServeOptions: ParsableArguments {
    @Option(name: .customLong("http_port"), help: "Port to listen on when --port is not given.")
    var httpPort: Int?

    @Option(name: .customLong("model_name"), help: "The InferenceService's model (Candor serves every model in its folder).")
    var modelName: String?

    @Option(name: .customLong("predictor_host"), help: "Not used: Candor evaluates its own copy of the model.")
    var predictorHost: String?

    @Option(name: .customLong("workers"), help: "Not used: workers.threads sizes the worker pool.")
    var workers: Int?

    @Option(name: .customLong("protocol"), help: "Not used: Candor answers the V1 and V2 protocols both.")
    var inferenceProtocol: String?
}

/// Explanations allocate and free activations of a few hundred kilobytes to tens of megabytes
/// per batch. glibc would hand each back to the kernel (mmap/munmap, heap trimming) and fault
/// fresh zeroed pages in on the next request; keeping them in the heap measured 15–20 % off
/// integrated-gradient latency and 45 % more throughput (bench/run.sh, 32 instances).
private func keepFreedMemoryForReuse() {
    #if canImport(Glibc)
        _ = mallopt(M_MMAP_THRESHOLD, 32 * 1024 * 1024)
        _ = mallopt(M_TRIM_THRESHOLD, 256 * 1024 * 1024)
    #endif
}

struct Inspect: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Load a model file, validate it and print its description as JSON.")

    @Argument(help: "An .onnx file.")
    var file: String

    func run() async throws {
        print(try OfflineCommands.describe(file: URL(fileURLWithPath: file)))
    }
}

struct Explain: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Explain with a model file, offline: reads an explain request (JSON, as POST …/explain takes) and prints the response.")

    @Argument(help: "An .onnx file (its external data and NAME.yaml sidecar beside it).")
    var file: String

    @Argument(help: "A file holding the explain request; '-' or nothing reads standard input.")
    var request: String = "-"

    func run() async throws {
        let body = request == "-" ? FileHandle.standardInput.readDataToEndOfFile() : try Data(contentsOf: URL(fileURLWithPath: request))
        do {
            print(try OfflineCommands.explain(file: URL(fileURLWithPath: file), request: body))
        } catch let problem as Problem {
            throw ValidationError(problem.detail)
        }
    }
}

struct Analyze: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract:
            "Run a dataset-level analysis offline: reads the analysis (JSON, as POST …/analyses takes it, without 'data'), runs it over a data file with a progress bar on standard error, and prints the result."
    )

    @Argument(help: "A model file (its external data and NAME.yaml sidecar beside it).")
    var model: String

    @Argument(help: "The data: CSV with a header row naming the columns, or JSON as POST /v1/datasets takes it.")
    var data: String

    @Argument(help: "A file holding the analysis request; '-' or nothing reads standard input.")
    var analysis: String = "-"

    @Option(help: "The data's label column (true classes or values), for analyses that score the model.")
    var label: String?

    func run() async throws {
        let request =
            analysis == "-" ? FileHandle.standardInput.readDataToEndOfFile() : try Data(contentsOf: URL(fileURLWithPath: analysis))
        let bar = ProgressBar()
        do {
            let result = try OfflineCommands.analyze(
                file: URL(fileURLWithPath: model), data: URL(fileURLWithPath: data), labelColumn: label, request: request,
                started: bar.start)
            bar.stop()
            print(result)
        } catch let problem as Problem {
            bar.stop()
            throw ValidationError(problem.detail)
        }
    }
}

/// A one-line progress bar on standard error, redrawn from a background thread five times a
/// second while an offline analysis runs on the calling one.
private final class ProgressBar: @unchecked Sendable {
    private let lock = NSLock()
    private var thread: Thread?
    private var running = false

    func start(_ progress: AnalysisProgress) {
        lock.withLock { running = true }
        let began = Date()
        let thread = Thread { [self] in
            while lock.withLock({ running }) {
                Self.draw(progress, since: began)
                Thread.sleep(forTimeInterval: 0.2)
            }
            Self.draw(progress, since: began)
            FileHandle.standardError.write(Data("\n".utf8))
        }
        lock.withLock { self.thread = thread }
        thread.start()
    }

    func stop() {
        let thread = lock.withLock { () -> Thread? in
            running = false
            return self.thread
        }
        while let thread, !thread.isFinished { Thread.sleep(forTimeInterval: 0.01) }
    }

    private static func draw(_ progress: AnalysisProgress, since began: Date) {
        let done = progress.done
        let total = max(progress.total, 1)
        let width = 30
        let filled = width * done / total
        let elapsed = Date().timeIntervalSince(began)
        let eta = done > 0 ? String(format: ", %.0f s left", elapsed * Double(total - done) / Double(done)) : ""
        let line =
            "\r[\(String(repeating: "#", count: filled))\(String(repeating: " ", count: width - filled))] \(100 * done / total)% \(done)/\(progress.total) \(progress.unit)\(eta)   "
        FileHandle.standardError.write(Data(line.utf8))
    }
}

struct Methods: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "List the explanation methods with their parameters and what each is checked against, as GET /v1/methods lists them.")

    @Flag(help: "Print docs/methods.md, the Markdown reference generated from the method catalog.")
    var markdown = false

    func run() async throws {
        print(OfflineCommands.methods(markdown: markdown), terminator: "")
    }
}
