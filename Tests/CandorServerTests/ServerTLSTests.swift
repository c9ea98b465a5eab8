import CandorTestSupport
import CompressNIO
import Foundation
import NIOCore
import NIOSSL
import Testing

@testable import CandorServer

/// HTTPS with `server.tls_cert` and `server.tls_key` (a self-signed certificate from
/// scripts/fixtures/make_tls_fixtures.sh), end to end over a real socket, gzip included.
@Suite struct ServerTLSTests {
    static let certificate = Fixtures.url("tls/cert.pem").path
    static let key = Fixtures.url("tls/key.pem").path

    /// A client that trusts only the fixture's certificate.
    static func client() throws -> TLSConfiguration {
        var configuration = TLSConfiguration.makeClientConfiguration()
        configuration.trustRoots = .certificates(try NIOSSLCertificate.fromPEMFile(certificate))
        return configuration
    }

    @Test func httpsAnswersAndGzipsOverTheSameConnection() async throws {
        let application = try TestApplication {
            $0.server.port = 0
            $0.server.tlsCert = Self.certificate
            $0.server.tlsKey = Self.key
        }
        try await application.live { port in
            let connection = try await RawConnection.open(port: port, tls: try Self.client())
            try await connection.send("GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n")
            #expect(await connection.waitFor(#"{"status":"ok"}"#, within: .seconds(5)))
            #expect(connection.received.hasPrefix("HTTP/1.1 200 OK"))

            let before = connection.receivedBytes.count
            try await connection.send("GET /v1/methods HTTP/1.1\r\nHost: localhost\r\nAccept-Encoding: gzip\r\nConnection: close\r\n\r\n")
            await connection.waitForClose(within: .seconds(5))
            let reply = Array(connection.receivedBytes[before...])
            let split = try #require(reply.firstRange(of: Array("\r\n\r\n".utf8)))
            let head = String(decoding: reply[..<split.lowerBound], as: UTF8.self).lowercased()
            #expect(head.hasPrefix("http/1.1 200 ok") && head.contains("content-encoding: gzip"), "\(head)")
            let body = Array(reply[split.upperBound...])
            var compressed = ByteBuffer(bytes: head.contains("transfer-encoding: chunked") ? Self.dechunked(body) : body)
            #expect(compressed.readableBytesView.starts(with: [0x1f, 0x8b]), "gzip's magic")
            let methods = try compressed.decompress(with: .gzip())
            #expect(String(buffer: methods).contains("integrated_gradients"))
            await connection.close()
        }
    }

    @Test func plainHTTPToTheHTTPSPortGetsNoAnswer() async throws {
        let application = try TestApplication {
            $0.server.port = 0
            $0.server.tlsCert = Self.certificate
            $0.server.tlsKey = Self.key
        }
        try await application.live { port in
            let connection = try await RawConnection.open(port: port)
            // The server may close the connection before the request is written ("I/O on closed
            // channel"): that is no answer too.
            try? await connection.send("GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n")
            #expect(await connection.waitForClose(within: .seconds(5)))
            #expect(!connection.received.contains("HTTP/1.1"))
        }
    }

    @Test(arguments: [
        (certificate, "", "go together"), ("", key, "go together"),
        ("/nonexistent/cert.pem", key, "/nonexistent/cert.pem"), (certificate, "/nonexistent/key.pem", "/nonexistent/key.pem"),
        (certificate, Fixtures.url("tls/other-key.pem").path, "does not fit"), (key, key, "cannot read a PEM certificate"),
        ("/dev/null", key, "/dev/null"),
    ])
    func unusableFilesStopTheServerWithTheReason(certificate: String, key: String, mentions: String) throws {
        var server = CandorConfiguration.Server()
        server.tlsCert = certificate
        server.tlsKey = key
        let error = #expect(throws: CandorConfiguration.LoadError.self) { try ServerTLS.configuration(server) }
        #expect(error?.description.contains(mentions) == true, "\(String(describing: error))")
    }

    /// The body of a chunked HTTP/1.1 message (RFC 9112 §7.1), without its chunk framing.
    static func dechunked(_ bytes: [UInt8]) -> [UInt8] {
        var output: [UInt8] = []
        var index = bytes.startIndex
        while let lineEnd = bytes[index...].firstRange(of: Array("\r\n".utf8)),
            let size = Int(String(decoding: bytes[index..<lineEnd.lowerBound], as: UTF8.self), radix: 16), size > 0,
            lineEnd.upperBound + size <= bytes.endIndex
        {
            output += bytes[lineEnd.upperBound..<lineEnd.upperBound + size]
            index = lineEnd.upperBound + size + 2
            guard index < bytes.endIndex else { break }
        }
        return output
    }
}
