import CareerEvents
import EventLog
import struct EventLog.LogEvent
import Logging
import NIOCore
import Telemetry

/// Sent down every connection's pipeline when the server stops: read no
/// more, answer every line read, then close.
struct IngestDrainEvent: Sendable {}

/// How the appender finds a connection again: its event loop and handler.
final class ConnectionWaiter: AppendWaiter {
    let eventLoop: any EventLoop
    let handler: NIOLoopBound<IngestConnectionHandler>

    init(eventLoop: any EventLoop, handler: NIOLoopBound<IngestConnectionHandler>) {
        self.eventLoop = eventLoop
        self.handler = handler
    }
}

/// One ingest connection's I/O: frames lines (`LineFramer`, within the
/// server's input budget), validates each on the event loop, hands valid
/// events to the appender, writes answers in line order, and holds reads
/// while too much is unanswered (backpressure) or while it holds a large
/// unfinished line and the input budget is under pressure.
/// The decisions are `IngestConnectionState`'s; this class carries them out.
///
/// Pipeline: this handler alone (bytes in, answer lines out).
///
/// Validation runs here, on the event loop, not on a thread pool: it costs
/// a few microseconds per event (~6 µs for catalog events), one socket read
/// (<= 64 KiB, a few hundred events) is about a millisecond of work, and on
/// this server's small core counts a pool would add two thread hops per
/// batch without adding a core. It never runs on the appender thread.
final class IngestConnectionHandler: ChannelDuplexHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private var state: IngestConnectionState
    private var framer: LineFramer
    private let appender: GroupCommitAppender
    private let validate: EnvelopeValidator?
    private let eventBytesMax: Int
    private var logger: Logger
    private var context: ChannelHandlerContext?
    private var waiter: ConnectionWaiter?
    /// When the last byte arrived (idle means no byte at all).
    private var lastByteAt = NIODeadline.now()
    /// When the first byte of the unfinished line arrived; nil between lines.
    private var lineStartedAt: NIODeadline?
    /// One timer for both the idle timeout and the line deadline.
    private var timer: Scheduled<Void>?
    private var timerDue = NIODeadline.distantFuture
    private var slowClientTimer: Scheduled<Void>?
    /// Waiting for the input budget to fall below half.
    private var waitingForBudget = false

    /// Counts rejected lines by reason and times acknowledgements (nil: not counted).
    private let metrics: CareerlogMetrics?
    /// When the first read since the last submission arrived: the arrival
    /// of every line the next submission carries (they came in the reads
    /// since then). Nil while nothing was read since.
    private var batchReadAt: NIODeadline?
    /// The submissions the appender has not answered yet, oldest first:
    /// when their lines arrived and how many events are still unanswered.
    /// One entry per submission (a socket read's worth of lines), never
    /// per event; at most as many as the unanswered events, which the
    /// state machine bounds (`IngestLimits.unacknowledgedLinesMax`).
    private var pendingAcks = PendingAcks()
    /// The server's count of rejected lines (nil: not counted).
    private let rejections: RejectedLineCount?
    /// The producers file in force; nil when the server has none (every
    /// event may be written).
    private let authorizer: ProducerAuthorizer?
    /// Who this connection is, told by `DoorGateHandler`; nil until then.
    private var producer: String?
    /// Answers written: stored (or duplicate) and rejected, for the close log line.
    private var answeredStored = 0
    private var answeredRejected = 0

    init(
        limits: IngestLimits, appender: GroupCommitAppender, budget: InputBudget, validate: EnvelopeValidator?,
        eventBytesMax: Int, logger: Logger, metrics: CareerlogMetrics? = nil, rejections: RejectedLineCount? = nil,
        authorizer: ProducerAuthorizer? = nil
    ) {
        self.metrics = metrics
        self.rejections = rejections
        self.authorizer = authorizer
        self.state = IngestConnectionState(limits: limits)
        self.framer = LineFramer(lineBytesMax: limits.lineBytesMax, budget: budget)
        self.appender = appender
        self.validate = validate
        self.eventBytesMax = eventBytesMax
        self.logger = logger
    }

    private var limits: IngestLimits { state.limits }

    // MARK: - Channel events

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        waiter = ConnectionWaiter(eventLoop: context.eventLoop, handler: NIOLoopBound(self, eventLoop: context.eventLoop))
        logger[metadataKey: "connection.peer"] = "\(context.channel.remoteAddress.map { "\($0)" } ?? "unix")"
        scheduleTimer(context: context)
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        finish()
    }

    func channelActive(context: ChannelHandlerContext) {
        logger.debug("connection opened")
        context.fireChannelActive()
    }

    func channelInactive(context: ChannelHandlerContext) {
        // A producer's connections are the audit trail's who and how much;
        // without a producers file (no producer) this stays a debug line.
        logger.log(level: producer == nil ? .debug : .info, "connection closed", metadata: [
            "connection.lines": "\(state.lineNumber)", "connection.stored": "\(answeredStored)",
            "connection.rejected": "\(answeredRejected)",
        ])
        finish()
        context.fireChannelInactive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let now = NIODeadline.now()
        lastByteAt = now
        if batchReadAt == nil { batchReadAt = now }
        framer.feed(unwrapInboundIn(data), allocator: context.channel.allocator) { frame in received(frame) }
        if !framer.isInsideLine {
            lineStartedAt = nil
        } else if lineStartedAt == nil {
            lineStartedAt = now
            scheduleTimer(context: context)
        }
    }

    private func received(_ frame: LineFrame) {
        switch frame {
        case .line(let line): state.lineReceived(check(line))
        case .tooLarge(let bytes): state.lineReceived(.tooLarge(bytes: bytes))
        case .shed(let bytes): state.lineReceived(.shed(bytes: bytes))
        }
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        runActions(context)
    }

    /// The channel asks for more bytes; held while reading is paused.
    func read(context: ChannelHandlerContext) {
        if state.readRequested() { readWithinBudget(context) }
    }

    /// Reads unless this connection holds a large unfinished line while the
    /// input budget is under pressure; then waits for the budget to ease.
    private func readWithinBudget(_ context: ChannelHandlerContext) {
        guard framer.budget.mayRead(holding: framer.heldBytes) else {
            guard !waitingForBudget, let waiter else { return }
            waitingForBudget = true
            let handler = waiter.handler, loop = waiter.eventLoop
            framer.budget.waitForRoom(ObjectIdentifier(self)) {
                loop.execute { handler.value.budgetEased() }
            }
            return
        }
        context.read()
    }

    private func budgetEased() {
        waitingForBudget = false
        guard let context, state.mayRead else { return }
        readWithinBudget(context)
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        let writable = context.channel.isWritable
        state.writabilityChanged(writable)
        if writable {
            slowClientTimer?.cancel()
            slowClientTimer = nil
        } else if slowClientTimer == nil {
            slowClientTimer = context.eventLoop.assumeIsolated().scheduleTask(in: .milliseconds(Int64(limits.slowClientTimeoutMs))) {
                [self] in slowClientCheck()
            }
        }
        runActions(context)
        context.fireChannelWritabilityChanged()
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if let event = event as? ChannelEvent, event == .inputClosed {
            framer.finish { frame in received(frame) }
            lineStartedAt = nil
            state.inputClosed()
            runActions(context)
        } else if let event = event as? DoorAuthenticatedEvent {
            producer = event.producer
            logger[metadataKey: "producer"] = "\(event.producer)"
        } else if event is IngestDrainEvent {
            state.drain()
            runActions(context)
        } else {
            context.fireUserInboundEventTriggered(event)
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        logger.info("closing connection after an error", metadata: ["error": "\(error)"])
        state.channelClosed()
        context.close(promise: nil)
    }

    /// Outcomes from the appender, delivered on this event loop.
    func appended(_ outcomes: [AppendOutcome]) {
        guard let context, !state.isClosed else { return }
        if let metrics { pendingAcks.answered(outcomes.count, now: .now(), metrics: metrics) }
        state.appended(outcomes)
        runActions(context)
    }

    // MARK: - Carrying out the state machine's actions

    private func runActions(_ context: ChannelHandlerContext) {
        var wrote = false
        while let action = state.nextAction() {
            switch action {
            case .submit(let events):
                let result = submit(events)
                if metrics != nil, case .accepted = result { pendingAcks.submitted(events.count, arrivedAt: batchReadAt ?? .now()) }
                batchReadAt = nil
                state.submitted(result, count: events.count)
            case .writeResponses:
                var buffer = context.channel.allocator.buffer(capacity: 4096)
                let metrics = self.metrics
                var rejected = 0
                let written = state.takeResponses(into: &buffer) { code in
                    rejected += 1
                    metrics?.eventsRejected(RejectionReason(code: code.rawValue)).increment()
                }
                answeredStored += written - rejected
                answeredRejected += rejected
                if rejected > 0 { rejections?.add(rejected) }
                context.write(wrapOutboundOut(buffer), promise: nil)
                wrote = true
            case .read:
                readWithinBudget(context)
            case .close(let reason, let finalLine):
                close(context, reason: reason, finalLine: finalLine)
                return
            }
        }
        if wrote { context.flush() }
    }

    private func submit(_ events: [LogEvent]) -> IngestConnectionState.SubmitResult {
        guard let waiter else { return .refused(.unavailable, message: "the connection is closing") }
        switch appender.submit(events, waiter: waiter) {
        case .accepted:
            return .accepted
        case .overloaded:
            return .refused(.overloaded, message: "the server is busy (its append queue is full); the event was not stored, send it again later")
        case .unavailable:
            return .refused(.unavailable, message: "the event log cannot be written; the event was not stored, send it again later")
        }
    }

    /// Graceful closes write everything first; timeouts close at once.
    private func close(_ context: ChannelHandlerContext, reason: IngestConnectionState.CloseReason, finalLine: IngestRejection?) {
        switch reason {
        case .finished, .drained:
            logger.debug("closing connection", metadata: ["connection.close_reason": "\(reason)", "connection.lines": "\(state.lineNumber)"])
        case .rejectedLines, .idle, .lineTimeout, .slowClient:
            logger.info("closing connection", metadata: ["connection.close_reason": "\(reason)", "connection.lines": "\(state.lineNumber)"])
        }
        switch reason {
        case .finished, .drained, .rejectedLines, .idle, .lineTimeout:
            var buffer = context.channel.allocator.buffer(capacity: 256)
            if let finalLine { AckEncoder.writeRejection(finalLine, into: &buffer) }
            // Completes once everything before it is written too.
            let channel = context.channel
            context.writeAndFlush(wrapOutboundOut(buffer)).whenComplete { _ in channel.close(promise: nil) }
        case .slowClient:
            context.close(promise: nil)
        }
    }

    // MARK: - Lines

    private func check(_ line: ByteBuffer) -> IngestConnectionState.LineCheck {
        line.withUnsafeReadableBytes { raw -> IngestConnectionState.LineCheck in
            if raw.allSatisfy({ $0 == 0x20 || $0 == 0x09 }) { return .blank }
            do throws(EventError) {
                return authorize(try Importer.check(line: raw, depthMax: limits.jsonDepthMax, eventBytesMax: eventBytesMax, validate: validate))
            } catch {
                return .rejected(error)
            }
        }
    }

    /// With a producers file, an event its producer may not write is
    /// answered `forbidden` and never reaches the appender; one it may
    /// write carries the producer's name to the log (the audit trail: the
    /// frame encoder keeps one table of names per frame and an index per
    /// record, so the name costs no allocation here). The gate lets no line
    /// through before authentication, so `producer` is set here. Without a
    /// producers file there is no producer and none is recorded.
    private func authorize(_ event: LogEvent) -> IngestConnectionState.LineCheck {
        guard let authorizer else { return .event(event) }
        guard let producer else {
            return .forbidden(id: event.id.uuidString.lowercased(), message: "the connection is not authenticated; it may not write")
        }
        switch authorizer.authorize(producer: producer, source: event.source, type: event.type) {
        case .allowed:
            var written = event
            written.producer = producer
            return .event(written)
        case .forbidden(let message):
            return .forbidden(id: event.id.uuidString.lowercased(), message: message)
        }
    }

    // MARK: - Timers

    /// (Re)arms the timer for the earlier of the idle timeout and the line
    /// deadline, unless it is already due sooner.
    private func scheduleTimer(context: ChannelHandlerContext) {
        var due = lastByteAt + .milliseconds(Int64(limits.idleTimeoutMs))
        if let lineStartedAt { due = min(due, lineStartedAt + .milliseconds(Int64(limits.lineDeadlineMs))) }
        if timer != nil, timerDue <= due { return }
        timer?.cancel()
        timerDue = due
        timer = context.eventLoop.assumeIsolated().scheduleTask(deadline: due) { [self] in timerFired() }
    }

    private func timerFired() {
        timer = nil
        guard let context else { return }
        let now = NIODeadline.now()
        if let lineStartedAt, now >= lineStartedAt + .milliseconds(Int64(limits.lineDeadlineMs)) {
            state.lineDeadlinePassed()
            runActions(context)
            return
        }
        if now >= lastByteAt + .milliseconds(Int64(limits.idleTimeoutMs)) {
            if case .close(let reason, let finalLine) = state.idleTimeout() {
                close(context, reason: reason, finalLine: finalLine)
                return
            }
            // Busy (answers pending): look again after another idle period.
            lastByteAt = now
        }
        scheduleTimer(context: context)
    }

    private func slowClientCheck() {
        slowClientTimer = nil
        guard let context else { return }
        if case .close(let reason, let finalLine) = state.slowClientTimeout() {
            close(context, reason: reason, finalLine: finalLine)
        }
    }

    private func finish() {
        state.channelClosed()
        framer.release()
        if waitingForBudget {
            framer.budget.stopWaiting(ObjectIdentifier(self))
            waitingForBudget = false
        }
        timer?.cancel()
        timer = nil
        slowClientTimer?.cancel()
        slowClientTimer = nil
        context = nil
        waiter = nil
    }
}

/// Installed instead of the ingest handlers on a connection past the
/// connection limit: one `overloaded` line, then close.
final class ConnectionRefusalHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private let rejection: IngestRejection

    init(rejection: IngestRejection) {
        self.rejection = rejection
    }

    func channelActive(context: ChannelHandlerContext) {
        var buffer = context.channel.allocator.buffer(capacity: 160)
        AckEncoder.writeRejection(rejection, into: &buffer)
        let channel = context.channel
        context.writeAndFlush(wrapOutboundOut(buffer)).whenComplete { _ in channel.close(promise: nil) }
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {}
}

/// The ack-latency bookkeeping of one connection: the arrival time of each
/// submission still waiting for the appender, matched to outcomes as they
/// come back (the appender answers a connection's submissions whole and in
/// order). Records one observation per answered event, all of a submission
/// with the same latency: a histogram record per event (a short lock, no
/// allocation); the entries themselves are per submission.
struct PendingAcks {
    private var entries: [(arrivedAt: NIODeadline, events: Int)] = []
    private var head = 0

    mutating func submitted(_ events: Int, arrivedAt: NIODeadline) {
        // A producer that always keeps lines in flight never lets every
        // entry be answered: drop the answered ones once they are at least
        // half, so the array stays within twice the unanswered submissions
        // (and the shifting costs O(1) per entry, amortized).
        if head > 0, head * 2 >= entries.count {
            entries.removeFirst(head)
            head = 0
        }
        entries.append((arrivedAt, events))
    }

    /// Entries held, answered ones not yet dropped included (tests).
    var entriesHeld: Int { entries.count }

    /// `count` outcomes arrived at `now`: records their latency.
    mutating func answered(_ count: Int, now: NIODeadline, metrics: CareerlogMetrics) {
        let timer = metrics.ackLatencySeconds
        var left = count
        while left > 0, head < entries.count {
            let taken = min(left, entries[head].events)
            let nanoseconds = max(0, (now - entries[head].arrivedAt).nanoseconds)
            for _ in 0..<taken { timer.recordNanoseconds(nanoseconds) }
            entries[head].events -= taken
            left -= taken
            if entries[head].events == 0 { head += 1 }
        }
    }
}
