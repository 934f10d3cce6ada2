import NIOCore

/// The byte-level guard in front of the HTTP decoder: it sees every byte a
/// client sends, so it enforces what the decoder cannot see whole.
///
///     idle ──first byte──▶ receiving ──request end──▶ answering ──response written──▶ idle
///      │ idleTimeoutMs       │ requestReadTimeoutMs             (write timeout: the HTTP handler)
///      ▼                     ▼ / head > requestHeadBytesMax
///    close                 408 / 431, close
///
/// The HTTP handler behind the decoder tells it where a request's head and
/// end are (`headReceived`, `requestReceived`) and when the answer is out
/// (`responseFinished`); both run on the channel's event loop.
final class RequestGuard: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private enum Phase {
        case idle
        case receivingHead(bytes: Int)
        case receivingBody
        case answering
        case closing
    }

    private let limits: WindowLimits
    private var phase = Phase.idle
    private var timer: Scheduled<Void>?
    private var context: ChannelHandlerContext?

    init(limits: WindowLimits) {
        self.limits = limits
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        if context.channel.isActive { armIdleTimer() }
    }

    func channelActive(context: ChannelHandlerContext) {
        armIdleTimer()
        context.fireChannelActive()
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        timer?.cancel()
        self.context = nil
    }

    func channelInactive(context: ChannelHandlerContext) {
        timer?.cancel()
        phase = .closing
        context.fireChannelInactive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let bytes = unwrapInboundIn(data).readableBytes
        switch phase {
        case .closing:
            return  // a rejected connection's remaining bytes are dropped
        case .idle:
            phase = .receivingHead(bytes: bytes)
            arm(after: limits.requestReadTimeoutMs) { $0.reject(408, "Request Timeout", code: "request_timeout",
                message: "the request did not arrive within \($0.limits.requestReadTimeoutMs) ms; send it whole and promptly") }
        case .receivingHead(let soFar):
            phase = .receivingHead(bytes: soFar + bytes)
        case .receivingBody, .answering:
            break  // the body limit is the HTTP handler's; pipelined bytes wait in NIO's pipeline handler
        }
        if case .receivingHead(let total) = phase, total > limits.requestHeadBytesMax {
            reject(431, "Request Header Fields Too Large", code: "head_too_large",
                   message: "the request head exceeds \(limits.requestHeadBytesMax) bytes")
            return
        }
        context.fireChannelRead(data)
    }

    /// The decoder produced the request head: its size is known and fine.
    func headReceived() {
        if case .receivingHead = phase { phase = .receivingBody }
    }

    /// The whole request arrived: the read clock stops.
    func requestReceived() {
        guard case .closing = phase else {
            timer?.cancel()
            phase = .answering
            return
        }
    }

    /// The answer was written: the connection is idle again.
    func responseFinished() {
        guard case .answering = phase else { return }
        phase = .idle
        armIdleTimer()
    }

    private func armIdleTimer() {
        arm(after: limits.idleTimeoutMs) { guardHandler in
            guard case .idle = guardHandler.phase else { return }
            guardHandler.phase = .closing
            guardHandler.context?.close(promise: nil)
        }
    }

    private func arm(after ms: Int, _ fire: @escaping (RequestGuard) -> Void) {
        timer?.cancel()
        guard let context else { return }
        timer = context.eventLoop.assumeIsolated().scheduleTask(in: .milliseconds(Int64(ms))) { [weak self] in
            if let self { fire(self) }
        }
    }

    /// Answers with a complete response written directly (the decoder may
    /// be mid-request) and closes the connection.
    private func reject(_ status: Int, _ reason: String, code: String, message: String) {
        guard let context else { return }
        timer?.cancel()
        phase = .closing
        let response = WindowResponse.error(status, code: code, message: message)
        var buffer = context.channel.allocator.buffer(capacity: 256)
        buffer.writeString("HTTP/1.1 \(status) \(reason)\r\nContent-Type: \(response.contentType)\r\n"
            + "Content-Length: \(response.body.count)\r\nConnection: close\r\n\r\n")
        buffer.writeBytes(response.body)
        context.writeAndFlush(wrapOutboundOut(buffer), promise: nil)
        context.close(promise: nil)
    }
}

/// Answers 503 to a connection beyond `connectionsMax` and closes it.
final class ConnectionRefusal: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer
    let connectionsMax: Int

    init(connectionsMax: Int) { self.connectionsMax = connectionsMax }

    func channelActive(context: ChannelHandlerContext) {
        let body = WindowResponse.error(503, code: "too_many_connections",
            message: "too many HTTP connections (the limit is \(connectionsMax)); try again later").body
        var buffer = context.channel.allocator.buffer(capacity: 256)
        buffer.writeString("HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json; charset=utf-8\r\n"
            + "Content-Length: \(body.count)\r\nRetry-After: 1\r\nConnection: close\r\n\r\n")
        buffer.writeBytes(body)
        context.writeAndFlush(wrapOutboundOut(buffer)).assumeIsolated().whenComplete { _ in context.close(promise: nil) }
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {}
}
