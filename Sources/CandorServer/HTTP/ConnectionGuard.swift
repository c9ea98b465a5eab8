import CoreMetrics
import Foundation
import HTTPTypes
import NIOCore
import NIOHTTP1
import NIOHTTPTypes

/// How long a connection may take to send its parts, and how long it may sit idle.
///
/// The defaults follow what public-facing servers use (nginx's `client_header_timeout`,
/// `client_body_timeout` and `keepalive_timeout`; Apache's `mod_reqtimeout` minimum rate):
/// a client that sends nothing, or a byte a second, cannot hold a connection for long.
struct ConnectionTimeouts: Sendable {
    /// From a new connection, or the first byte of a request, until its head is complete.
    var header: TimeAmount
    /// The body must grow by `minimumBodyBytes` within every window of this length.
    var bodyWindow: TimeAmount
    var minimumBodyBytes: Int
    /// A kept-alive connection with no request in flight is closed after this long.
    var idle: TimeAmount
    /// After a request timed out while its body was being read, how long the handler has to
    /// answer 408 before the connection is closed regardless.
    var answerGrace: TimeAmount = .seconds(2)
}

/// A request whose head or body did not arrive in time (408, then the connection closes).
struct RequestReadTimeout: Error {
    let detail: String
}

/// Guards one HTTP/1 connection against clients that send too slowly, stay idle, break the
/// framing, or leave before their answer: the part of a server's robustness that routes
/// cannot see, because it happens before a request exists or after it is handed off.
///
/// It sits after the HTTP codec (it sees request and response parts) and puts a small
/// `ByteArrivalWatcher` in front of the decoder, so it also knows when the first byte of a
/// request arrives — which is when an idle connection starts owing a request head.
///
/// - A head not complete within `header` of the connection opening or its first byte: 408
///   problem and close (a connection that sent nothing is closed quietly, as RFC 9112 §9.5
///   allows).
/// - A body that grows by fewer than `minimumBodyBytes` in a `bodyWindow`: the body read
///   fails with `RequestReadTimeout`, the handler answers 408, and the connection closes.
/// - No request within `idle` after the last answer: closed quietly.
/// - A framing error before any request is in flight (an unknown method, a garbage request
///   line, oversized headers): answered here as a problem document with a request id, since
///   no route will ever see it. During a request, the error reaches the handler's body read.
/// - A response that says `Connection: close` closes the connection once written.
/// - The client half-closing or leaving while an answer is owed tells `ClientPresence`, which
///   cancels the computation.
/// - After a 429, the connection is not read again until its `Retry-After` has passed.
final class ConnectionGuard: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPRequestPart
    typealias InboundOut = HTTPRequestPart
    typealias OutboundIn = HTTPResponsePart
    typealias OutboundOut = HTTPResponsePart

    private enum Reading {
        /// Between requests: nothing of the next one has arrived.
        case nothing
        /// Owing a head; `sawBytes` once part of it has arrived.
        case head(sawBytes: Bool)
        /// Reading a body; bytes received in the current window.
        case body(bytesInWindow: Int)
    }

    private let timeouts: ConnectionTimeouts
    private let metrics: ServiceMetrics
    /// The `Allow` value of a 501: every method some route takes.
    private let implementedMethods: String
    let presence = ClientPresence()
    /// A new connection owes a head at once.
    private var reading = Reading.head(sawBytes: false)
    /// Requests whose head arrived and whose response has not been completely written.
    private var responsesOwed = 0
    private var closesAfterResponse = false
    private var timer: Scheduled<Void>?
    /// After a 429, the connection's next request is not read before this; parts that were
    /// already on their way wait in `heldParts` (one socket read's worth at most, since no
    /// further read is asked for meanwhile).
    private var readsPausedUntil: NIODeadline?
    private var heldParts: [NIOAny] = []
    private var isReadHeld = false
    private var resumption: Scheduled<Void>?
    /// This handler's own context, for the watcher's calls: writes must start here, after the
    /// HTTP codec, never from the watcher's place in front of it.
    private var ownContext: ChannelHandlerContext?

    init(timeouts: ConnectionTimeouts, metrics: ServiceMetrics, implementedMethods: String) {
        self.timeouts = timeouts
        self.metrics = metrics
        self.implementedMethods = implementedMethods
    }

    func handlerAdded(context: ChannelHandlerContext) {
        ownContext = context
        try? context.pipeline.syncOperations.addHandler(ByteArrivalWatcher(guardian: self), position: .first)
        ClientPresence.register(presence, for: context.channel)
        if context.channel.isActive { arm(timeouts.header, context: context) }
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        ownContext = nil
        disarm()
        resumption?.cancel()
        ClientPresence.unregister(context.channel)
    }

    func channelActive(context: ChannelHandlerContext) {
        arm(timeouts.header, context: context)
        context.fireChannelActive()
    }

    func channelInactive(context: ChannelHandlerContext) {
        disarm()
        resumption?.cancel()
        presence.clientLeft()
        context.fireChannelInactive()
    }

    /// Called by the watcher in front of the decoder for every read.
    fileprivate func bytesArrived() {
        guard let context = ownContext else { return }
        switch reading {
        case .nothing:
            reading = .head(sawBytes: true)
            // While reads are paused after a 429, the head's clock starts when they resume
            // (and the idle clock has stopped: a request has begun).
            if readsPausedUntil != nil {
                disarm()
            } else if responsesOwed == 0 {
                arm(timeouts.header, context: context)
            }
        case .head(sawBytes: false):
            reading = .head(sawBytes: true)
        case .head(sawBytes: true), .body:
            break
        }
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        if isPaused(context: context) {
            heldParts.append(data)
            return
        }
        admit(data, context: context)
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        if heldParts.isEmpty { context.fireChannelReadComplete() }
    }

    private func admit(_ data: NIOAny, context: ChannelHandlerContext) {
        switch unwrapInboundIn(data) {
        case .head:
            responsesOwed += 1
            reading = .body(bytesInWindow: 0)
            // A pipelined request's body waits while the one before it is answered: its rate
            // is measured from when the handler can read it.
            if responsesOwed == 1 { arm(timeouts.bodyWindow, context: context) }
        case .body(let bytes):
            if case .body(let received) = reading { reading = .body(bytesInWindow: received + bytes.readableBytes) }
        case .end:
            reading = .nothing
            disarm()
        }
        context.fireChannelRead(data)
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        // An HTTP/1.1 client does not half-close while it waits for an answer: it has left.
        if case ChannelEvent.inputClosed = event, responsesOwed > 0 { presence.clientLeft() }
        context.fireUserInboundEventTriggered(event)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        guard responsesOwed == 0, let parserError = error as? HTTPParserError else {
            // Mid-request, the handler's body read fails with it and answers; the framing is
            // lost, so the connection ends with that answer.
            if error is HTTPParserError { closesAfterResponse = true }
            context.fireErrorCaught(error)
            return
        }
        metrics.framingErrors.increment()
        answerAndClose(Problem(parserError, implementedMethods: implementedMethods), context: context)
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        switch unwrapOutboundIn(data) {
        case .head(let response):
            if response.headerFields[.connection]?.lowercased() == "close" { closesAfterResponse = true }
            if response.status == .tooManyRequests {
                let seconds = min(Int64(response.headerFields[.retryAfter] ?? "") ?? 1, Self.longestReadPauseSeconds)
                readsPausedUntil = .now() + .seconds(max(seconds, 1))
            }
            context.write(data, promise: promise)
        case .body:
            context.write(data, promise: promise)
        case .end:
            responsesOwed = max(0, responsesOwed - 1)
            guard responsesOwed == 0 else {
                context.write(data, promise: promise)
                if case .body = reading, responsesOwed == 1 {
                    reading = .body(bytesInWindow: 0)
                    arm(timeouts.bodyWindow, context: context)
                }
                return
            }
            if closesAfterResponse {
                let written = promise ?? context.eventLoop.makePromise()
                context.writeAndFlush(data, promise: written)
                written.futureResult.assumeIsolated().whenComplete { _ in context.close(promise: nil) }
                return
            }
            context.write(data, promise: promise)
            switch reading {
            case .nothing: arm(timeouts.idle, context: context)
            case .head: arm(timeouts.header, context: context)
            case .body: break
            }
        }
    }

    /// A client told to come back after `Retry-After` seconds is not heard before then (up
    /// to this bound): a flood that ignores the header cannot turn the cores it would take
    /// from the workers into refusals, and each refusal stays cheap.
    static let longestReadPauseSeconds: Int64 = 2

    func read(context: ChannelHandlerContext) {
        if isPaused(context: context) {
            isReadHeld = true
        } else {
            context.read()
        }
    }

    /// Whether reading is paused after a 429; arms the resumption the first time it is asked.
    private func isPaused(context: ChannelHandlerContext) -> Bool {
        guard let until = readsPausedUntil else { return false }
        if resumption == nil {
            resumption = context.eventLoop.assumeIsolated().scheduleTask(deadline: until) { [self] in
                resume(context: context)
            }
        }
        return true
    }

    private func resume(context: ChannelHandlerContext) {
        readsPausedUntil = nil
        resumption = nil
        let held = heldParts
        heldParts = []
        for part in held { admit(part, context: context) }
        if !held.isEmpty { context.fireChannelReadComplete() }
        if case .head = reading, responsesOwed == 0 { arm(timeouts.header, context: context) }
        if isReadHeld {
            isReadHeld = false
            context.read()
        }
    }

    // MARK: Timers

    private func arm(_ delay: TimeAmount, context: ChannelHandlerContext) {
        timer?.cancel()
        timer = context.eventLoop.assumeIsolated().scheduleTask(in: delay) { [self] in
            timer = nil
            timeoutFired(context: context)
        }
    }

    private func disarm() {
        timer?.cancel()
        timer = nil
    }

    private func timeoutFired(context: ChannelHandlerContext) {
        switch reading {
        case .nothing:
            guard responsesOwed == 0 else { return }
            metrics.connectionTimeouts(phase: "idle").increment()
            context.close(promise: nil)
        case .head(let sawBytes):
            // An answer is still being computed for an earlier request, or reads are paused:
            // the head's clock starts again once that answer is written or reads resume.
            guard responsesOwed == 0, readsPausedUntil == nil else { return }
            if sawBytes {
                metrics.connectionTimeouts(phase: "header").increment()
                answerAndClose(
                    Problem(
                        .requestTimeout, code: "request-timeout",
                        detail: "the request head did not arrive within \(timeouts.header.seconds) s"),
                    context: context)
            } else {
                metrics.connectionTimeouts(phase: "idle").increment()
                context.close(promise: nil)
            }
        case .body(let received):
            // Held parts are not counted until reads resume, so a paused window proves nothing.
            guard received < timeouts.minimumBodyBytes, readsPausedUntil == nil else {
                reading = .body(bytesInWindow: 0)
                arm(timeouts.bodyWindow, context: context)
                return
            }
            metrics.connectionTimeouts(phase: "body").increment()
            closesAfterResponse = true
            let detail =
                "the request body arrived at fewer than \(timeouts.minimumBodyBytes) bytes in \(timeouts.bodyWindow.seconds) s"
            context.fireErrorCaught(RequestReadTimeout(detail: detail))
            // The handler answers 408 as it fails to read; if it does not, the connection ends.
            timer = context.eventLoop.assumeIsolated().scheduleTask(in: timeouts.answerGrace) { context.close(promise: nil) }
        }
    }

    /// Writes `problem` as the whole response and closes: used only when no request is in
    /// flight, so no handler is writing at the same time.
    private func answerAndClose(_ problem: Problem, context: ChannelHandlerContext) {
        disarm()
        let requestId = UUID().uuidString.lowercased()
        let body = problem.encodedBody(requestId: requestId)
        var fields = problem.headers
        fields[.contentType] = "application/problem+json"
        fields[.contentLength] = String(body.count)
        fields[.connection] = "close"
        fields[.requestId] = requestId
        context.write(wrapOutboundOut(.head(HTTPResponse(status: problem.status, headerFields: fields))), promise: nil)
        context.write(wrapOutboundOut(.body(ByteBuffer(bytes: body))), promise: nil)
        let written = context.eventLoop.makePromise(of: Void.self)
        context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: written)
        written.futureResult.assumeIsolated().whenComplete { _ in context.close(promise: nil) }
    }
}

@available(*, unavailable)
extension ConnectionGuard: Sendable {}

/// Tells the guard when bytes arrive, before the HTTP decoder buffers a partial head.
private final class ByteArrivalWatcher: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer
    private let guardian: ConnectionGuard

    init(guardian: ConnectionGuard) { self.guardian = guardian }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guardian.bytesArrived()
        context.fireChannelRead(data)
    }
}

extension TimeAmount {
    fileprivate var seconds: Double { Double(nanoseconds) / 1e9 }

    /// A duration from configuration, where seconds may have fractions (bounded there to a day).
    static func seconds(fractional seconds: Double) -> TimeAmount { .nanoseconds(Int64((seconds * 1e9).rounded())) }
}

extension Problem {
    /// The answer to a request that broke HTTP/1.1's framing before a route could see it.
    init(_ error: HTTPParserError, implementedMethods: String) {
        switch error {
        case .invalidMethod:
            // RFC 9110 §15.6.2: a method the server does not recognise is 501.
            self.init(
                .notImplemented, code: "method-not-implemented",
                detail: "the request method is not one this server implements; it accepts \(implementedMethods)")
            headers[.allow] = implementedMethods
        case .headerOverflow:
            self.init(
                .requestHeaderFieldsTooLarge, code: "headers-too-large", detail: "the request's header fields exceed the server's limits")
        case .invalidChunkSize:
            self.init(.badRequest, code: "malformed-request", detail: "a chunk size in the chunked body is not a valid hexadecimal size")
        case .invalidContentLength, .unexpectedContentLength:
            self.init(.badRequest, code: "malformed-request", detail: "the Content-Length header is invalid or conflicts with the framing")
        default:
            self.init(.badRequest, code: "malformed-request", detail: "the request is not valid HTTP/1.1 (\(error))")
        }
        headers[.connection] = "close"
    }
}
