import Foundation
import NIOCore
import NIOPosix
import NIOSSL
import Synchronization

/// A TCP connection (TLS when given a client configuration) that sends exactly the bytes a
/// test gives it, as hostile clients do, and collects whatever comes back.
final class RawConnection: Sendable {
    private final class Collector: ChannelInboundHandler, Sendable {
        typealias InboundIn = ByteBuffer
        let bytes = Mutex<[UInt8]>([])

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            let buffer = unwrapInboundIn(data)
            bytes.withLock { $0.append(contentsOf: buffer.readableBytesView) }
        }
    }

    private let channel: any Channel
    private let collector: Collector

    private init(channel: any Channel, collector: Collector) {
        self.channel = channel
        self.collector = collector
    }

    static func open(port: Int, tls: TLSConfiguration? = nil) async throws -> RawConnection {
        let collector = Collector()
        let context = try tls.map { try NIOSSLContext(configuration: $0) }
        let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    if let context {
                        try channel.pipeline.syncOperations.addHandler(NIOSSLClientHandler(context: context, serverHostname: "localhost"))
                    }
                    try channel.pipeline.syncOperations.addHandler(collector)
                }
            }
            .connect(host: "127.0.0.1", port: port).get()
        return RawConnection(channel: channel, collector: collector)
    }

    func send(_ text: String) async throws {
        try await channel.writeAndFlush(ByteBuffer(string: text)).get()
    }

    var received: String { String(decoding: receivedBytes, as: UTF8.self) }
    var receivedBytes: [UInt8] { collector.bytes.withLock { $0 } }
    var isOpen: Bool { channel.isActive }

    /// Waits until the server closes the connection or `limit` passes; returns whether it closed.
    @discardableResult
    func waitForClose(within limit: Duration) async -> Bool {
        let deadline = ContinuousClock.now + limit
        while channel.isActive && ContinuousClock.now < deadline { try? await Task.sleep(for: .milliseconds(20)) }
        return !channel.isActive
    }

    /// Waits until `text` has been received or `limit` passes.
    func waitFor(_ text: String, within limit: Duration) async -> Bool {
        let deadline = ContinuousClock.now + limit
        while !received.contains(text) && ContinuousClock.now < deadline { try? await Task.sleep(for: .milliseconds(20)) }
        return received.contains(text)
    }

    func close() async { try? await channel.close() }
}
