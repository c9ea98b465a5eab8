import CandorTestSupport
import Foundation
import HTTPTypes
import HummingbirdTesting
import NIOCore
import Testing

/// A model replace killed with SIGKILL at any step of the upload (`CANDOR_TEST_CRASH_AT`, read
/// by the upload path only) leaves a models folder that, after a restart, serves exactly the
/// old version or exactly the new one — never the old ONNX file with the new weights — and
/// no staging directory.
@Suite(.serialized) struct CrashConsistencyTests {
    static let name = "breast_cancer_mlp"
    static let instance = [Float](repeating: 1, count: 30).map { "\($0)" }.joined(separator: ",")

    /// A version of the demo model whose ONNX bytes and weights both differ from the demo's:
    /// every weight scaled, and a `doc_string` appended to the ONNX file (protobuf field 6,
    /// which leaves the graph as it is), so a mix of two versions has a hash neither has.
    struct Version {
        let onnx: Data
        let weights: Data

        init(scale: Float, tag: String) throws {
            let folder = Fixtures.repository.appendingPathComponent("models")
            var onnx = try Data(contentsOf: folder.appendingPathComponent("\(CrashConsistencyTests.name).onnx"))
            onnx.append(contentsOf: [0x32, UInt8(tag.utf8.count)] + Array(tag.utf8))
            self.onnx = onnx
            let original = try Data(contentsOf: folder.appendingPathComponent("\(CrashConsistencyTests.name).onnx.data"))
            var scaled = Data(capacity: original.count)
            for offset in stride(from: 0, to: original.count, by: 4) {
                let bits = original[offset..<(offset + 4)].enumerated().reduce(UInt32(0)) { $0 | UInt32($1.element) << (8 * $1.offset) }
                let value = (Float(bitPattern: bits) * scale).bitPattern
                scaled.append(contentsOf: (0..<4).map { UInt8(truncatingIfNeeded: value >> (8 * $0)) })
            }
            weights = scaled
        }

        /// The multipart upload of this version with the demo's sidecar and background rows.
        func upload(as name: String) throws -> ByteBuffer {
            let folder = Fixtures.repository.appendingPathComponent("models")
            let background = "\(CrashConsistencyTests.name).background.json"
            let sidecar = try Data(contentsOf: folder.appendingPathComponent("\(CrashConsistencyTests.name).yaml"))
            return multipartBody([
                (#"name="name""#, Data(name.utf8)), (#"name="model"; filename="m.onnx""#, onnx),
                (#"name="sidecar"; filename="m.yaml""#, sidecar),
                (#"name="external_data"; filename="\#(CrashConsistencyTests.name).onnx.data""#, weights),
                (#"name="external_data"; filename="\#(background)""#, try Data(contentsOf: folder.appendingPathComponent(background))),
            ])
        }
    }

    /// What a served version answers: its hash and its predictions.
    struct Served: Equatable {
        let sha256: String
        let outputs: String
    }

    static let admin = HTTPFields([
        HTTPField(name: .authorization, value: "Bearer \(ServerProcess.adminToken)"),
        HTTPField(name: .contentType, value: "multipart/form-data; boundary=B"),
    ])

    static func served(_ server: ServerProcess, _ name: String) async throws -> Served? {
        let description = try await server.request(.get, "/v1/models/\(name)")
        guard description.status == .ok else { return nil }
        let prediction = try await server.request(
            .post, "/v1/models/\(name)/predict", headers: [.contentType: "application/json"],
            body: ByteBuffer(string: #"{"inputs":[[\#(instance)]]}"#))
        let outputs = try JSONSerialization.data(withJSONObject: ServerProcess.json(prediction)["outputs"] ?? [:], options: .sortedKeys)
        return Served(sha256: ServerProcess.json(description)["sha256"] as? String ?? "", outputs: String(decoding: outputs, as: UTF8.self))
    }

    /// A models folder with the demo model's loose files (`uploadedFirst`: replaced once by
    /// an upload, so the old version is an uploaded one too).
    static func folder(uploadedFirst: Bool) async throws -> (URL, old: Served, new: Served) {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("candor-crash-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let demo = Fixtures.repository.appendingPathComponent("models")
        for file in try FileManager.default.contentsOfDirectory(atPath: demo.path) where file.hasPrefix(name) {
            try FileManager.default.copyItem(at: demo.appendingPathComponent(file), to: folder.appendingPathComponent(file))
        }
        let server = try await ServerProcess.start(models: folder)
        defer { server.kill() }
        if uploadedFirst {
            let first = try await server.request(
                .post, "/v1/models?replace=true", headers: admin, body: try Version(scale: 0.5, tag: "v1").upload(as: name))
            #expect(first.status == .created)
        }
        let old = try #require(try await served(server, name))
        // The new version's answers, from a reference copy that is removed again.
        let reference = try await server.request(
            .post, "/v1/models", headers: admin, body: try Version(scale: 2, tag: "v2").upload(as: "reference"))
        #expect(reference.status == .created)
        let new = try #require(try await served(server, "reference"))
        #expect(try await server.request(.delete, "/v1/models/reference", headers: admin).status == .noContent)
        #expect(old != new)
        return (folder, old, new)
    }

    @Test(arguments: [false, true])
    func aReplaceKilledAtAnyStepServesTheOldOrTheNewVersionAndLeavesNoStaging(uploadedFirst: Bool) async throws {
        for (index, step) in ["streamed", "staged", "versioned", "linked", "switched", "cleaned"].enumerated() {
            let (folder, old, new) = try await Self.folder(uploadedFirst: uploadedFirst)
            defer { try? FileManager.default.removeItem(at: folder) }
            let crashing = try await ServerProcess.start(models: folder, environment: ["CANDOR_TEST_CRASH_AT": step])
            let body = try Version(scale: 2, tag: "v2").upload(as: Self.name)
            let answer = try? await crashing.request(.post, "/v1/models?replace=true", headers: Self.admin, body: body)
            crashing.kill()  // already dead when the hook fired; never left running if it did not
            #expect(answer == nil, "\(step): the server answered instead of dying")
            #expect(crashing.process.terminationReason == .uncaughtSignal && crashing.process.terminationStatus == SIGKILL, "\(step)")

            let restarted = try await ServerProcess.start(models: folder)
            defer { restarted.kill() }
            let served = try await Self.served(restarted, Self.name)
            // The switch is the rename after `linked`: from `switched` on, the new version.
            #expect(served == (index >= 4 ? new : old), "\(step): served \(String(describing: served?.sha256))")
            let entries = try FileManager.default.contentsOfDirectory(atPath: folder.path)
            #expect(!entries.contains { $0.hasPrefix(".upload-") }, "\(step): \(entries)")
            let versions = (try? FileManager.default.contentsOfDirectory(atPath: folder.appendingPathComponent(".versions").path)) ?? []
            #expect(versions.filter { $0.contains("@") }.count == (uploadedFirst || index >= 4 ? 1 : 0), "\(step): \(versions)")
            #expect(!versions.contains { $0.hasPrefix(".") }, "\(step): \(versions)")
        }
    }
}
