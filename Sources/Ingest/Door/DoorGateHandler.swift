import CareerEvents
import Logging
import NIOCore
import NIOSSL
import NIOTLS

/// Told to the handlers after the gate when the connection authenticates:
/// every event from now on is written by `producer`.
struct DoorAuthenticatedEvent: Sendable {
    var producer: String
}

/// Stands between the line framer and the ingest handler on a server with
/// a producers file, and lets lines through only once the connection is a
/// producer.
///
/// Pipeline: `[NIOSSLServerHandler] -> DoorGateHandler -> IngestConnectionHandler`,
/// bytes in and bytes out: before authentication it frames lines itself
/// (short ones, `unauthenticatedLineBytesMax`); from authentication on,
/// bytes pass untouched to the ingest handler, which frames them within
/// the server's input budget.
///
/// Before authentication it answers every line itself (nothing is pending
/// behind it then, so answers stay in line order): the auth line with
/// `{"ok":true,"producer":…}`, anything else `unauthenticated`. Each line it
/// keeps is passed on as an empty line, so the ingest handler's line
/// numbers stay those the client counts. A client certificate or Unix peer
/// uid the producers file names authenticates at once, without a line.
/// After authentication every line passes; a later auth line is not an
/// event and is answered as such.
///
/// It also holds the door's bounds: one of `unauthenticatedConnectionsMax`
/// slots until authenticated, `authenticationDeadlineMs` to get there,
/// lines of `unauthenticatedLineBytesMax`, and the per-address limit on
/// failed authentications (a blocked address is closed at once).
final class DoorGateHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private let door: IngestDoor
    private var authentication: ConnectionAuthentication
    private var logger: Logger
    /// Lines seen, blank ones included (the client's numbering).
    private var lineNumber = 0
    private var holdsSlot = false
    private var closing = false
    /// TLS connections can take an answer only after the handshake.
    private var usesTLS = false
    private var handshakeDone = false
    private var deadline: Scheduled<Void>?
    /// Bytes read before authentication and not yet screened: at most one
    /// unfinished line of `unauthenticatedLineBytesMax` plus one read.
    private var pending = ByteBuffer()

    /// `producers` must be non-nil: without a producers file no gate is installed.
    init(door: IngestDoor, logger: Logger) {
        precondition(door.producers != nil, "a gate without producers")
        self.door = door
        // Replaced in channelActive, once the peer's address is known.
        self.authentication = Self.authentication(door, peer: nil)
        self.logger = logger
    }

    private static func authentication(_ door: IngestDoor, peer: SocketAddress?) -> ConnectionAuthentication {
        ConnectionAuthentication(authorizer: door.producers, limiter: door.limiter, limits: door.limits, peer: IngestDoor.peerKey(peer))
    }

    private static var now: UInt64 { NIODeadline.now().uptimeNanoseconds }

    // MARK: - Opening

    func handlerAdded(context: ChannelHandlerContext) {
        logger[metadataKey: "connection.peer"] = "\(context.channel.remoteAddress.map { "\($0)" } ?? "unix")"
        usesTLS = (try? context.pipeline.syncOperations.handler(type: NIOSSLServerHandler.self)) != nil
    }

    func channelActive(context: ChannelHandlerContext) {
        context.fireChannelActive()
        authentication = Self.authentication(door, peer: context.channel.remoteAddress)
        logger[metadataKey: "connection.peer"] = "\(context.channel.remoteAddress.map { "\($0)" } ?? "unix")"
        guard authentication.admits(now: Self.now) else {
            logger.notice("connection closed at once: too many failed authentications from this address")
            return refuse(context, message: "too many failed authentications from this address; try again in a minute")
        }
        guard door.admitUnauthenticated() else {
            logger.warning("connection refused: too many unauthenticated connections", metadata: [
                "connections.unauthenticated_max": "\(door.limits.unauthenticatedConnectionsMax)",
            ])
            return refuse(context, message: "too many connections waiting to authenticate; try again later")
        }
        holdsSlot = true
        let timeout = TimeAmount.milliseconds(Int64(door.limits.authenticationDeadlineMs))
        deadline = context.eventLoop.assumeIsolated().scheduleTask(in: timeout) { [self] in deadlinePassed(context) }
        authenticateByPeerUID(context)
    }

    func handlerRemoved(context: ChannelHandlerContext) { releaseSlot() }

    func channelInactive(context: ChannelHandlerContext) {
        releaseSlot()
        context.fireChannelInactive()
    }

    /// Unix socket peers named by `unix_uid` are in at once.
    private func authenticateByPeerUID(_ context: ChannelHandlerContext) {
        guard case .unixDomainSocket? = context.channel.localAddress, let producers = door.producers else { return }
        let loopBound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
        PeerCredentials.uid(of: context.channel).whenSuccess { uid in
            guard let uid, case .producer(let producer) = producers.authenticate(peerUID: uid) else { return }
            let (gate, context) = loopBound.value
            gate.authenticated(context, as: producer, how: "unix uid \(uid)")
        }
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if let event = event as? ChannelEvent, event == .inputClosed, !authentication.isAuthenticated, !closing {
            screenPending(context, atEnd: true)
        }
        if let event = event as? TLSUserEvent, case .handshakeCompleted = event { handshakeDone = true }
        if let event = event as? TLSUserEvent, case .handshakeCompleted = event, !authentication.isAuthenticated, !closing,
           let certificate = try? context.pipeline.syncOperations.nioSSL_peerCertificate(), let producers = door.producers {
            switch producers.authenticate(certificate: certificate) {
            case .producer(let producer):
                authenticated(context, as: producer, how: "client certificate")
            case .refused(let reason):
                // A valid certificate that names no producer may still use a token.
                logger.info("client certificate names no producer", metadata: ["auth.reason": "\(reason)"])
            }
        }
        context.fireUserInboundEventTriggered(event)
    }

    // MARK: - Lines

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        if authentication.isAuthenticated || closing { return context.fireChannelRead(data) }
        var bytes = unwrapInboundIn(data)
        if pending.readableBytes > 0 {
            pending.writeBuffer(&bytes)
        } else {
            pending = bytes
        }
        screenPending(context, atEnd: false)
    }

    /// Takes whole lines off `pending` until the connection authenticates
    /// (the rest passes on untouched) or closes. `atEnd`: the input ended,
    /// so a last line without its newline counts too.
    private func screenPending(_ context: ChannelHandlerContext, atEnd: Bool) {
        while !authentication.isAuthenticated, !closing {
            let newline = pending.readableBytesView.firstIndex(of: 0x0A)
            guard let newline else {
                if pending.readableBytes > door.limits.unauthenticatedLineBytesMax {
                    lineNumber += 1
                    return act(context, authentication.lineTooLong(bytes: pending.readableBytes))
                }
                guard atEnd, pending.readableBytes > 0 else { return }
                let line = pending.readSlice(length: pending.readableBytes)!
                return screenLine(context, line, ending: "")
            }
            var line = pending.readSlice(length: newline - pending.readerIndex)!
            pending.moveReaderIndex(forwardBy: 1)
            if line.readableBytesView.last == 0x0D { line.moveWriterIndex(to: line.writerIndex - 1) }
            screenLine(context, line, ending: "\n")
        }
    }

    /// Once authenticated, what was read after the auth line goes on.
    private func passPending(_ context: ChannelHandlerContext) {
        guard !closing, pending.readableBytes > 0 else { return }
        let rest = pending
        pending = ByteBuffer()
        context.fireChannelRead(wrapInboundOut(rest))
    }

    /// One whole line before authentication. Blank lines pass as they are;
    /// the others are answered here and pass on as an empty line, so the
    /// ingest handler's line numbers stay those the client counts.
    private func screenLine(_ context: ChannelHandlerContext, _ line: ByteBuffer, ending: String) {
        lineNumber += 1
        if line.readableBytes > door.limits.unauthenticatedLineBytesMax {
            return act(context, authentication.lineTooLong(bytes: line.readableBytes))
        }
        if line.readableBytesView.allSatisfy({ $0 == 0x20 || $0 == 0x09 }) {
            var blank = line
            blank.writeString(ending)
            return context.fireChannelRead(wrapInboundOut(blank))
        }
        act(context, line.withUnsafeReadableBytes { authentication.screen($0, now: Self.now) })
    }

    private func act(_ context: ChannelHandlerContext, _ screening: ConnectionAuthentication.Screening) {
        // The ingest handler counts the line (as blank) so its numbers match.
        context.fireChannelRead(wrapInboundOut(context.channel.allocator.buffer(string: "\n")))
        switch screening {
        case .event:
            preconditionFailure("an unauthenticated connection's line screened as an event")
        case .authenticated(let producer):
            var buffer = context.channel.allocator.buffer(capacity: 64)
            AuthLine.writeAuthenticated(producer: producer, into: &buffer)
            context.writeAndFlush(wrapOutboundOut(buffer), promise: nil)
            if let found = door.producers?.current.producer(named: producer) { authenticated(context, as: found, how: "token") }
        case .unauthenticated(let message, let close):
            if close { logger.notice("closing unauthenticated connection", metadata: ["auth.reason": "\(message)"]) }
            answerUnauthenticated(context, line: lineNumber, message: message, close: close)
        }
    }

    private func authenticated(_ context: ChannelHandlerContext, as producer: Producer, how: String) {
        if !authentication.isAuthenticated { authentication.authenticated(implicitly: producer) }
        deadline?.cancel()
        deadline = nil
        releaseSlot()
        logger[metadataKey: "producer"] = "\(producer.name)"
        logger.debug("authenticated", metadata: ["auth.by": "\(how)"])
        context.fireUserInboundEventTriggered(DoorAuthenticatedEvent(producer: producer.name))
        passPending(context)
    }

    // MARK: - Answers and closing

    /// `{"ok":false,"id":null,"line":N,"error":"unauthenticated","message":…}`
    static func writeUnauthenticated(line: Int, message: String, into buffer: inout ByteBuffer) {
        var bytes = Array(#"{"ok":false,"id":null,"line":"#.utf8)
        bytes.append(contentsOf: String(line).utf8)
        bytes.append(contentsOf: #","error":"unauthenticated","message":"#.utf8)
        JSONValue.writeString(message, into: &bytes)
        bytes.append(contentsOf: "}\n".utf8)
        buffer.writeBytes(bytes)
    }

    private func answerUnauthenticated(_ context: ChannelHandlerContext, line: Int, message: String, close: Bool) {
        if close { closing = true }
        // A TLS peer that has not finished its handshake cannot take a line
        // (and may never finish): it is closed without one.
        if close, usesTLS, !handshakeDone { return context.close(promise: nil) }
        var buffer = context.channel.allocator.buffer(capacity: 160)
        Self.writeUnauthenticated(line: line, message: message, into: &buffer)
        guard close else { return context.writeAndFlush(wrapOutboundOut(buffer), promise: nil) }
        let channel = context.channel
        context.writeAndFlush(wrapOutboundOut(buffer)).whenComplete { _ in channel.close(promise: nil) }
    }

    /// One line 0 answer, then close: the connection never gets further.
    private func refuse(_ context: ChannelHandlerContext, message: String) {
        answerUnauthenticated(context, line: 0, message: message, close: true)
    }

    private func deadlinePassed(_ context: ChannelHandlerContext) {
        deadline = nil
        guard !authentication.isAuthenticated, !closing else { return }
        logger.notice("closing connection: not authenticated in time", metadata: ["auth.deadline_ms": "\(door.limits.authenticationDeadlineMs)"])
        answerUnauthenticated(context, line: 0, message: "not authenticated within \(door.limits.authenticationDeadlineMs) ms; closing", close: true)
    }

    private func releaseSlot() {
        guard holdsSlot else { return }
        holdsSlot = false
        door.releaseUnauthenticated()
    }
}
