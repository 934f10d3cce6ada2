import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import NIOSSL
import NIOTLS

#if canImport(Glibc)
import Glibc
#endif

/// A TLS connection to an ingest server, handed to blocking code as a plain
/// descriptor: one end of a Unix socket pair whose bytes a SwiftNIO thread
/// carries, encrypted, to and from the server.
///
///     caller (blocking send/recv) <-> fd | socketpair | NIO: pipe channel <-> glue <-> TLS channel <-> server
///
/// So `emit` and the load generator speak TLS without a second client:
/// `shutdown(fd, SHUT_WR)` becomes a TLS close_notify (the server answers
/// what it has and closes), and the server's close becomes end of stream
/// on `fd`. One event-loop thread per bridge.
public final class IngestTLSBridge: @unchecked Sendable {
    /// The caller's end; closed by `close()`.
    public let descriptor: Int32
    private let group: MultiThreadedEventLoopGroup
    private let failureBox: NIOLockedValueBox<String?>
    private var closed = false

    /// How long the TCP connect and the TLS handshake may take together.
    public static let handshakeTimeoutMs: Int64 = 10_000

    private init(descriptor: Int32, group: MultiThreadedEventLoopGroup, failure: NIOLockedValueBox<String?>) {
        self.descriptor = descriptor
        self.group = group
        self.failureBox = failure
    }

    /// The first error the TLS connection reported after the handshake, if
    /// any: under TLS 1.3 a server refuses a client certificate only after
    /// the client has finished its side of the handshake, so the refusal
    /// (`certificate expired`, `unknown CA`) arrives as the stream's end,
    /// and this says why.
    public var failure: String? { failureBox.withLockedValue { $0 } }

    deinit { close() }

    /// Connects, completes the TLS handshake (so a certificate the client
    /// refuses is reported here, as an error naming the server), and
    /// returns the bridge.
    public static func connect(
        host: String, port: Int, context: NIOSSLContext, serverHostname: String? = nil
    ) throws(IngestSocketError) -> IngestTLSBridge {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let failure = NIOLockedValueBox<String?>(nil)
        do {
            let tls = try connectTLS(
                group: group, host: host, port: port, context: context, serverHostname: serverHostname ?? host, failure: failure)
            let fd = try glue(tls: tls, group: group, failure: failure)
            return IngestTLSBridge(descriptor: fd, group: group, failure: failure)
        } catch {
            try? group.syncShutdownGracefully()
            throw error
        }
    }

    /// Closes the caller's end and stops the bridge's thread.
    public func close() {
        guard !closed else { return }
        closed = true
        Glibc.close(descriptor)
        try? group.syncShutdownGracefully()
    }

    private static func connectTLS(
        group: MultiThreadedEventLoopGroup, host: String, port: Int, context: NIOSSLContext, serverHostname: String,
        failure: NIOLockedValueBox<String?>
    ) throws(IngestSocketError) -> any Channel {
        let endpoint = IngestEndpoint.tcp(host: host, port: port)
        let handshake = group.next().makePromise(of: Void.self)
        let channel: any Channel
        do {
            // SNI and certificate checks take a host name, not an IP literal.
            let sniName = IngestTLSBridge.isIPAddress(serverHostname) ? nil : serverHostname
            channel = try ClientBootstrap(group: group)
                .connectTimeout(.milliseconds(handshakeTimeoutMs))
                .channelOption(.allowRemoteHalfClosure, value: true)
                .channelOption(.tcpOption(.tcp_nodelay), value: 1)
                .channelInitializer { channel in
                    channel.eventLoop.makeCompletedFuture {
                        try channel.pipeline.syncOperations.addHandler(NIOSSLClientHandler(context: context, serverHostname: sniName))
                        try channel.pipeline.syncOperations.addHandler(TLSWatcher(handshake: handshake, failure: failure))
                    }
                }
                .connect(host: host, port: port).wait()
        } catch {
            handshake.fail(error)
            throw IngestSocketError(message: "cannot connect to \(endpoint) (\(error))", errno: ECONNREFUSED)
        }
        let timeout = channel.eventLoop.scheduleTask(in: .milliseconds(handshakeTimeoutMs)) {
            handshake.fail(IngestSocketError(message: "no TLS handshake within \(handshakeTimeoutMs) ms", errno: ETIMEDOUT))
        }
        defer { timeout.cancel() }
        do {
            try handshake.futureResult.wait()
        } catch {
            channel.close(promise: nil)
            throw IngestSocketError(message: "TLS handshake with \(endpoint) failed: \(error); check --tls-ca, --tls-cert and --tls-key", errno: ECONNABORTED)
        }
        return channel
    }

    /// Makes the socket pair and joins its NIO end to the TLS channel.
    private static func glue(
        tls: any Channel, group: MultiThreadedEventLoopGroup, failure: NIOLockedValueBox<String?>
    ) throws(IngestSocketError) -> Int32 {
        var pair: [Int32] = [-1, -1]
        guard socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0, &pair) == 0 else {
            tls.close(promise: nil)
            throw IngestSocketError(message: "socketpair", errno: errno)
        }
        do {
            let pipe = try ClientBootstrap(group: group)
                .channelOption(.allowRemoteHalfClosure, value: true)
                .withConnectedSocket(pair[1]).wait()
            try tls.eventLoop.submit {
                let (forTLS, forPipe) = BridgeGlueHandler.matchedPair()
                try tls.pipeline.syncOperations.addHandler(forTLS)
                try pipe.pipeline.syncOperations.addHandler(forPipe)
                // The server may have refused us (TLS 1.3 checks the client's
                // certificate after the client's handshake is done) before the
                // glue was in place: its events are gone, so pass on what the
                // watcher saw, or the caller would wait for an end that never comes.
                let watcher = try tls.pipeline.syncOperations.handler(type: TLSWatcher.self)
                if !tls.isActive || watcher.inputClosed { forTLS.partnerEnded(fully: !tls.isActive) }
            }.wait()
        } catch {
            tls.close(promise: nil)
            Glibc.close(pair[0])
            // Under TLS 1.3 a refused client certificate ends the connection
            // just after the handshake: say so rather than "closed channel".
            let reason = failure.withLockedValue { $0 } ?? "\(error)"
            throw IngestSocketError(message: "the TLS connection ended at once (\(reason)); check --tls-cert and --tls-key", errno: ECONNABORTED)
        }
        return pair[0]
    }

    static func isIPAddress(_ host: String) -> Bool {
        (try? SocketAddress(ipAddress: host, port: 0)) != nil
    }
}

/// Completes `handshake` when the TLS handshake is done, fails it on an
/// error or close before that, and keeps the connection's first error in
/// `failure` (what the bridge reports when the stream ends early).
private final class TLSWatcher: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    private let handshake: EventLoopPromise<Void>
    private let failure: NIOLockedValueBox<String?>

    init(handshake: EventLoopPromise<Void>, failure: NIOLockedValueBox<String?>) {
        self.handshake = handshake
        self.failure = failure
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        failure.withLockedValue { if $0 == nil { $0 = "\(error)" } }
        handshake.fail(error)
        context.fireErrorCaught(error)
    }

    /// Whether the server has ended its side (kept for the glue, which may
    /// be added after the event went by).
    private(set) var inputClosed = false

    func channelInactive(context: ChannelHandlerContext) {
        inputClosed = true
        handshake.fail(ChannelError.eof)
        context.fireChannelInactive()
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if let event = event as? TLSUserEvent, case .handshakeCompleted = event { handshake.succeed() }
        if let event = event as? ChannelEvent, case .inputClosed = event { inputClosed = true }
        context.fireUserInboundEventTriggered(event)
    }
}

/// Passes bytes between two channels on one event loop (SwiftNIO's
/// connect-proxy example): what one reads, the other writes; reading
/// pauses while the partner cannot write (backpressure); a half-close on
/// one side closes the partner's output; a full close closes both.
private final class BridgeGlueHandler: ChannelDuplexHandler {
    typealias InboundIn = NIOAny
    typealias OutboundIn = NIOAny
    typealias OutboundOut = NIOAny

    private var partner: BridgeGlueHandler?
    private var context: ChannelHandlerContext?
    private var pendingRead = false
    /// The pipe side never closes fully on its own: closing a Unix socket
    /// with unread bytes makes the caller's next read fail (ECONNRESET)
    /// instead of returning what it was sent and then end of stream. It
    /// closes its output; the caller's close (or the bridge's) does the rest.
    private let isPipeSide: Bool

    private init(isPipeSide: Bool) {
        self.isPipeSide = isPipeSide
    }

    /// The first handler goes on the TLS channel, the second on the pipe.
    static func matchedPair() -> (BridgeGlueHandler, BridgeGlueHandler) {
        let first = BridgeGlueHandler(isPipeSide: false), second = BridgeGlueHandler(isPipeSide: true)
        first.partner = second
        second.partner = first
        return (first, second)
    }

    func handlerAdded(context: ChannelHandlerContext) { self.context = context }

    func handlerRemoved(context: ChannelHandlerContext) {
        self.context = nil
        partner = nil
    }

    private func partnerWrite(_ data: NIOAny) { context?.write(data, promise: nil) }
    private func partnerFlush() { context?.flush() }
    /// Closes after everything written so far has left: the last write's
    /// promise completes only once all earlier writes have.
    private func partnerCloseOutput() { closeAfterWrites(mode: .output) }
    private func partnerCloseFull() { closeAfterWrites(mode: isPipeSide ? .output : .all) }

    private func closeAfterWrites(mode: CloseMode) {
        guard let context else { return }
        let channel = context.channel
        context.writeAndFlush(NIOAny(ByteBuffer())).whenComplete { _ in channel.close(mode: mode, promise: nil) }
    }
    private var partnerWritable: Bool { context?.channel.isWritable ?? false }

    private func partnerBecameWritable() {
        if pendingRead {
            pendingRead = false
            context?.read()
        }
    }

    /// This side's channel ended before the glue was added: end the partner
    /// as its own events would have.
    func partnerEnded(fully: Bool) {
        if fully { partner?.partnerCloseFull() } else { partner?.partnerCloseOutput() }
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) { partner?.partnerWrite(data) }
    func channelReadComplete(context: ChannelHandlerContext) { partner?.partnerFlush() }
    func channelInactive(context: ChannelHandlerContext) { partner?.partnerCloseFull() }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if let event = event as? ChannelEvent, case .inputClosed = event {
            partner?.partnerCloseOutput()
        }
        context.fireUserInboundEventTriggered(event)
    }

    /// Not passed on (`TLSWatcher` has kept it): a fatal error closes the
    /// channel (NIO and NIOSSL do that), which reaches the partner as
    /// `channelInactive`; a ragged TLS end is followed by `inputClosed`.
    func errorCaught(context: ChannelHandlerContext, error: Error) {}

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        if context.channel.isWritable { partner?.partnerBecameWritable() }
    }

    func read(context: ChannelHandlerContext) {
        if let partner, partner.partnerWritable {
            context.read()
        } else {
            pendingRead = true
        }
    }
}
