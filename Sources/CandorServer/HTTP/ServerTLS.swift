import NIOSSL

/// HTTPS, when `server.tls_cert` and `server.tls_key` name a PEM certificate chain and its
/// private key (swift-nio-ssl, BoringSSL): TLS 1.2 and 1.3 only, HTTP/1.1 offered by ALPN.
/// The files are read and checked against each other at start, so a wrong path or a key that
/// does not match the certificate stops the server with a message instead of failing every
/// handshake.
enum ServerTLS {
    /// The configuration for the files, or nil when neither setting is given.
    static func configuration(_ server: CandorConfiguration.Server) throws -> TLSConfiguration? {
        switch (server.tlsCert.isEmpty, server.tlsKey.isEmpty) {
        case (true, true): return nil
        case (false, false): break
        default:
            throw CandorConfiguration.LoadError(
                description: "server.tls_cert and server.tls_key go together: set both for HTTPS, or neither for HTTP")
        }
        let chain: [NIOSSLCertificate]
        let key: NIOSSLPrivateKey
        do { chain = try NIOSSLCertificate.fromPEMFile(server.tlsCert) } catch {
            throw CandorConfiguration.LoadError(
                description: "server.tls_cert: cannot read a PEM certificate chain from \(server.tlsCert) (\(error))")
        }
        guard !chain.isEmpty else {
            throw CandorConfiguration.LoadError(description: "server.tls_cert: \(server.tlsCert) holds no certificate")
        }
        do { key = try NIOSSLPrivateKey(file: server.tlsKey, format: .pem) } catch {
            throw CandorConfiguration.LoadError(
                description: "server.tls_key: cannot read a PEM private key from \(server.tlsKey) (\(error))")
        }
        var configuration = TLSConfiguration.makeServerConfiguration(
            certificateChain: chain.map { .certificate($0) }, privateKey: .privateKey(key))
        configuration.minimumTLSVersion = .tlsv12
        configuration.applicationProtocols = ["http/1.1"]
        // Building a context checks that the key belongs to the certificate.
        do { _ = try NIOSSLContext(configuration: configuration) } catch {
            throw CandorConfiguration.LoadError(
                description: "server.tls_key \(server.tlsKey) does not fit the certificate in \(server.tlsCert) (\(error))")
        }
        return configuration
    }
}
