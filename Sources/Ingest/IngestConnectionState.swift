import CareerEvents
import EventLog
import Foundation
import NIOCore

/// The protocol logic of one ingest connection, without I/O: which lines wait
/// for which answer, when answers may be written, when to read, when to close.
///
/// The handler feeds it what happened (`lineReceived`, `appended`,
/// `inputClosed`, ...) and then asks `nextAction()` until it returns nil,
/// doing what each action says. Tests drive it the same way, without sockets.
///
/// Every non-blank line gets one slot, in line order. A rejected line's slot
/// is answered at once; an event's slot waits for the appender. Answers leave
/// only from the head, so they go out in line order whatever order they were
/// decided in:
///
///     slots:  [answered][answered][awaiting][answered][awaiting] ...
///              \___ written now ___/  ^ the appender fills awaiting slots in order
struct IngestConnectionState {
    /// What the handler made of one line.
    enum LineCheck {
        /// Empty or only spaces and tabs: counted, not answered.
        case blank
        case event(LogEvent)
        case rejected(EventError)
        /// A valid event its producer may not write.
        case forbidden(id: String, message: String)
        case tooLarge(bytes: Int)
        /// Dropped because the server's input budget was spent.
        case shed(bytes: Int)
    }

    enum CloseReason: Equatable, Sendable {
        /// The client ended its input and every line was answered.
        case finished
        /// The server is shutting down and every line read was answered.
        case drained
        /// Too many rejected lines in a row.
        case rejectedLines
        /// Nothing received and nothing pending for the idle timeout.
        case idle
        /// A line did not end within the line deadline.
        case lineTimeout
        /// Answers could not be written for the slow-client timeout.
        case slowClient
    }

    enum Action: Equatable {
        /// Hand these events (in line order) to the appender, then report
        /// with `submitted(_:count:)`.
        case submit([LogEvent])
        /// Answers are ready at the head: `takeResponses(into:)` and write.
        case writeResponses
        /// Ask the socket for more bytes (a read the channel asked for and
        /// that was held back).
        case read
        /// Write `finalLine` (if any) after everything written so far, then
        /// close the connection.
        case close(CloseReason, finalLine: IngestRejection?)
    }

    enum SubmitResult: Equatable {
        case accepted
        case refused(IngestErrorCode, message: String)
    }

    private enum Slot {
        case awaiting(id: UUID, line: Int)
        case answered(IngestResponse)
    }

    private enum Phase: Equatable {
        case open
        /// No more reading; close once every slot is written.
        case closing(CloseReason)
        case closed
    }

    let limits: IngestLimits
    /// Lines received so far, blank ones included (line numbers are 1-based).
    private(set) var lineNumber = 0
    private var slots = CircularBuffer<Slot>(initialCapacity: 64)
    /// Offset from the head before which no slot is awaiting.
    private var awaitingFrom = 0
    private(set) var awaitingCount = 0
    private var batch: [LogEvent] = []
    private var rejectedInARow = 0
    /// The channel asked to read while reading was paused.
    private var readHeld = false
    private var writable = true
    private var phase = Phase.open
    /// Written after the last answer when closing for a reason that has one.
    private var finalLine: IngestRejection?

    init(limits: IngestLimits) {
        self.limits = limits
    }

    /// Lines read and not yet written back (answered or not).
    var unansweredLines: Int { slots.count }

    /// True when nothing is waiting in any direction.
    var isQuiet: Bool { slots.isEmpty && batch.isEmpty }

    var isClosed: Bool { phase == .closed }

    /// Reading goes on while the connection is open, its answers can be
    /// written, and fewer than `unacknowledgedLinesMax` lines are unanswered.
    var mayRead: Bool {
        phase == .open && writable && slots.count < limits.unacknowledgedLinesMax
    }

    // MARK: - Events

    mutating func lineReceived(_ check: LineCheck) {
        switch phase {
        case .closed, .closing(.rejectedLines), .closing(.lineTimeout): return  // the rest is not read
        case .open, .closing: break
        }
        lineNumber += 1
        switch check {
        case .blank:
            return
        case .event(let event):
            batch.append(event)
            slots.append(.awaiting(id: event.id, line: lineNumber))
            awaitingCount += 1
            rejectedInARow = 0
        case .rejected(let error):
            reject(IngestRejection(id: error.id, line: lineNumber, code: IngestErrorCode(error.code), message: error.description))
        case .forbidden(let id, let message):
            reject(IngestRejection(id: id, line: lineNumber, code: .forbidden, message: message))
        case .tooLarge(let bytes):
            reject(IngestRejection(id: nil, line: lineNumber, code: .tooLarge,
                                   message: "line is \(bytes) bytes; the limit is \(limits.lineBytesMax)"))
        case .shed(let bytes):
            // Not the client's fault: does not count toward closing the connection.
            slots.append(.answered(.rejected(IngestRejection(id: nil, line: lineNumber, code: .overloaded, message:
                "the server's buffers for unfinished lines are full; this line (\(bytes) bytes) was not read whole "
                + "and not stored, send it again later"))))
        }
    }

    private mutating func reject(_ rejection: IngestRejection) {
        slots.append(.answered(.rejected(rejection)))
        rejectedInARow += 1
        if rejectedInARow > limits.rejectedLinesInARowMax, phase == .open || phase == .closing(.drained) {
            phase = .closing(.rejectedLines)
            finalLine = IngestRejection(id: nil, line: 0, code: .tooManyRejected, message:
                "closing the connection: \(rejectedInARow) rejected lines in a row (the limit is \(limits.rejectedLinesInARowMax))")
        }
    }

    /// Whether a read the channel asks for may go ahead now; if not, it is
    /// held and comes back as `.read` when reading may resume.
    mutating func readRequested() -> Bool {
        if mayRead { return true }
        readHeld = true
        return false
    }

    /// The appender's answer to the last `.submit`.
    mutating func submitted(_ result: SubmitResult, count: Int) {
        guard case .refused(let code, let message) = result else { return }
        // The refused events are the newest `count` awaiting slots.
        var left = count
        var i = slots.index(before: slots.endIndex)
        while left > 0 {
            if case .awaiting(let id, let line) = slots[i] {
                slots[i] = .answered(.rejected(IngestRejection(id: UUIDText.string(id), line: line, code: code, message: message)))
                left -= 1
            }
            if left > 0 { i = slots.index(before: i) }
        }
        awaitingCount -= count
    }

    /// Outcomes from the appender, in the order the events were submitted.
    mutating func appended(_ outcomes: some Collection<AppendOutcome>) {
        guard phase != .closed else { return }
        precondition(outcomes.count <= awaitingCount, "more outcomes than events awaiting")
        var i = slots.index(slots.startIndex, offsetBy: awaitingFrom)
        for outcome in outcomes {
            while case .answered = slots[i] { i = slots.index(after: i) }
            guard case .awaiting(let id, let line) = slots[i] else { preconditionFailure() }
            switch outcome {
            case .stored(let seq): slots[i] = .answered(.stored(id: id, seq: seq))
            case .storedRedacted(let seq): slots[i] = .answered(.storedRedacted(id: id, seq: seq))
            case .duplicate(let seq): slots[i] = .answered(.duplicate(id: id, seq: seq))
            case .unavailable:
                slots[i] = .answered(.rejected(IngestRejection(
                    id: UUIDText.string(id), line: line, code: .unavailable,
                    message: "the event log cannot be written; the event was not stored, send it again later")))
            }
            i = slots.index(after: i)
        }
        awaitingFrom = slots.distance(from: slots.startIndex, to: i)
        awaitingCount -= outcomes.count
    }

    /// The client closed its sending side: answer what was read, then close.
    mutating func inputClosed() {
        if phase == .open { phase = .closing(.finished) }
    }

    /// The server is stopping: read no more, answer what was read, close.
    mutating func drain() {
        if phase == .open || phase == .closing(.finished) { phase = .closing(.drained) }
    }

    mutating func writabilityChanged(_ isWritable: Bool) {
        writable = isWritable
    }

    /// The idle timer fired: close if the connection has nothing going on.
    mutating func idleTimeout() -> Action? {
        guard phase == .open, isQuiet else { return nil }
        phase = .closed
        return .close(.idle, finalLine: IngestRejection(id: nil, line: 0, code: .idleTimeout,
                                                        message: "closing the connection: nothing received for \(limits.idleTimeoutMs) ms"))
    }

    /// The line being received did not end within the line deadline: read
    /// no more, answer what was read, then that line, then close.
    mutating func lineDeadlinePassed() {
        guard phase == .open || phase == .closing(.drained) else { return }
        phase = .closing(.lineTimeout)
        finalLine = IngestRejection(id: nil, line: lineNumber + 1, code: .lineTimeout, message:
            "closing the connection: line \(lineNumber + 1) did not end within \(limits.lineDeadlineMs) ms of its first byte")
    }

    /// The client has not taken its answers for the slow-client timeout.
    mutating func slowClientTimeout() -> Action? {
        guard phase != .closed, !writable else { return nil }
        phase = .closed
        return .close(.slowClient, finalLine: nil)
    }

    /// The channel is gone (closed by either side, or an error).
    mutating func channelClosed() {
        phase = .closed
        batch = []
    }

    // MARK: - Actions

    mutating func nextAction() -> Action? {
        if phase == .closed { return nil }
        if !batch.isEmpty {
            let events = batch
            batch = []
            batch.reserveCapacity(events.count)
            return .submit(events)
        }
        if case .answered = slots.first {
            return .writeResponses
        }
        if case .closing(let reason) = phase, slots.isEmpty {
            phase = .closed
            return .close(reason, finalLine: finalLine)
        }
        if readHeld, mayRead {
            readHeld = false
            return .read
        }
        return nil
    }

    /// Encodes the answered slots at the head into `buffer`; returns how many.
    mutating func takeResponses(into buffer: inout ByteBuffer, onRejected: (IngestErrorCode) -> Void = { _ in }) -> Int {
        var written = 0
        while case .answered(let response) = slots.first {
            if case .rejected(let rejection) = response { onRejected(rejection.code) }
            AckEncoder.write(response, into: &buffer)
            slots.removeFirst()
            written += 1
        }
        awaitingFrom = max(0, awaitingFrom - written)
        return written
    }
}
