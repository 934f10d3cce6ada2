import CareerEvents
import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// The client side of `careerlog emit` over a connection the caller opened
/// (plain or the caller's end of a TLS bridge): sends an NDJSON input line by
/// line with at most `window` lines unanswered, reads the answers on a second
/// thread, and counts what was stored, a duplicate or rejected.
///
/// Reports (one per rejected line, and anything unexpected about the
/// connection) go to the caller's `report` closure; a progress line, if asked
/// for, is written to `progressDescriptor` and cleared before each report.
public struct EmitSession {
    /// How a session sends.
    public struct Configuration: Sendable {
        /// Lines sent and not yet answered at most: bounds the server's and
        /// this client's buffering while keeping the connection busy.
        public var windowLinesMax: Int = 2048
        /// Longest line sent; a longer one is rejected here as `too_large`
        /// (a blank line is sent in its place, so the numbering holds).
        public var lineBytesMax: Int = 1 << 20
        /// Where the progress line goes (a terminal's stderr); nil for none.
        public var progressDescriptor: Int32?
        /// The input's name in error messages (a path, or `-`).
        public var inputName: String = "-"

        public init() {}
    }

    /// What the server answered, counted.
    public struct Result: Sendable, Equatable {
        /// Non-blank lines of the input (too-large lines included).
        public var sent = 0
        public var stored = 0
        public var duplicates = 0
        public var rejected = 0
        /// Why sending stopped before the input's end (a socket error or a
        /// failed read); nil if the whole input was sent.
        public var sendError: String?

        /// Lines sent that got no answer (the connection closed early).
        public var unanswered: Int { sent - stored - duplicates - rejected }

        public init() {}
    }

    /// Why `authenticate` failed.
    public enum AuthenticationError: Error, Sendable, Equatable {
        /// Sending the auth line or reading its answer failed.
        case connection(String)
        /// The server answered, but not with `ok`: its message, or
        /// "the connection closed".
        case refused(reason: String)
    }

    /// The answer to the auth line is read byte by byte up to this length:
    /// an answer is a short JSON object; anything longer is not one.
    static let authAnswerBytesMax = 4096

    /// Sends `{"auth":"<token>"}` and waits (up to 10 s) for its answer, so a
    /// wrong token is one clear error, not one `unauthenticated` answer per line.
    public static func authenticate(_ connection: IngestSocket, token: String) throws(AuthenticationError) {
        var line: [UInt8] = Array(#"{"auth":"#.utf8)
        JSONValue.writeString(token, into: &line)
        line.append(contentsOf: "}\n".utf8)
        var answer: [UInt8] = []
        var byte: UInt8 = 0
        do {
            try connection.send(line)
            // Byte by byte up to the newline: nothing else is in flight yet.
            while answer.count < authAnswerBytesMax {
                let n = try withUnsafeMutableBytes(of: &byte) { try connection.receive(into: $0, timeoutMs: 10_000) }
                if n == 0 || byte == UInt8(ascii: "\n") { break }
                answer.append(byte)
            }
        } catch {
            throw .connection("\(error)")
        }
        guard case .object(let object)? = try? JSONParser.parse(answer), case .bool(true)? = object["ok"],
              case .string? = object["producer"] else {
            var reason = "the connection closed"
            if case .object(let object)? = try? JSONParser.parse(answer), case .string(let message)? = object["message"] {
                reason = message
            }
            throw .refused(reason: reason)
        }
    }

    /// Sends every line of `inputDescriptor` over `connection`, then shuts
    /// the sending side and waits until the server closed the connection.
    /// `lineOffset` is the number of lines sent before the input's first (the
    /// auth line), so reports name the input's own line numbers.
    public static func run(
        connection: IngestSocket, inputDescriptor: Int32, configuration: Configuration, lineOffset: Int = 0,
        report: @escaping @Sendable (String) -> Void
    ) -> Result {
        let progress = EmitProgress(
            window: configuration.windowLinesMax, progressDescriptor: configuration.progressDescriptor,
            lineOffset: lineOffset, report: report)
        let reader = Thread { progress.readAnswers(from: connection) }
        reader.start()
        let sendError = sendLines(fd: inputDescriptor, to: connection, configuration: configuration, progress: progress)
        connection.shutdownSending()
        progress.waitUntilAnswered()
        var result = progress.summary
        progress.clearProgressLine()
        result.sendError = sendError
        return result
    }

    /// Sends every line, keeping at most `window` unanswered; blank lines
    /// are sent too, so the server's line numbers are the file's.
    private static func sendLines(
        fd: Int32, to connection: IngestSocket, configuration: Configuration, progress: EmitProgress
    ) -> String? {
        var reader = LineReader(fd: fd, lineBytesMax: configuration.lineBytesMax)
        defer { reader.close() }
        var out: [UInt8] = []
        out.reserveCapacity(128 << 10)
        func flush() throws(IngestSocketError) {
            try connection.send(out)
            out.removeAll(keepingCapacity: true)
        }
        do {
            while let line = try reader.next() {
                switch line {
                case .line(_, let bytes) where bytes.allSatisfy({ $0 == 0x20 || $0 == 0x09 }):
                    out.append(UInt8(ascii: "\n"))
                case .line(_, let bytes):
                    if !progress.takeWindowSlot() {
                        try flush()
                        guard progress.waitForWindowSlot() else { return nil }  // the connection ended; reported later
                    }
                    out.append(contentsOf: bytes)
                    out.append(UInt8(ascii: "\n"))
                    progress.sent()
                case .tooLarge(let number, let bytes):
                    // Not sent; a blank line keeps the server's numbering.
                    out.append(UInt8(ascii: "\n"))
                    progress.rejectedHere(
                        line: number, message: "too_large: line is \(bytes) bytes; the limit is \(configuration.lineBytesMax)")
                }
                // Sent in 64 KiB writes: few system calls, little memory.
                if out.count >= 64 << 10 { try flush() }
            }
            try flush()
            return nil
        } catch let error as IngestSocketError {
            return "\(error)"
        } catch {
            return "reading \(configuration.inputName): \(error)"
        }
    }
}

/// Counters shared by the sending thread and the answer-reading thread,
/// plus the in-flight window.
private final class EmitProgress: @unchecked Sendable {
    private let condition = NSCondition()
    private var counts = EmitSession.Result()
    private var inFlight = 0
    private var connectionEnded = false
    private let window: Int
    private let progressDescriptor: Int32?
    /// Lines the server counted before the file's first (the auth line), so
    /// reports name the file's line numbers.
    private let lineOffset: Int
    private let reportLine: @Sendable (String) -> Void
    private var lastProgress = ContinuousClock.now
    private var progressShown = false

    init(window: Int, progressDescriptor: Int32?, lineOffset: Int, report: @escaping @Sendable (String) -> Void) {
        self.window = window
        self.progressDescriptor = progressDescriptor
        self.lineOffset = lineOffset
        self.reportLine = report
    }

    var summary: EmitSession.Result {
        condition.lock()
        defer { condition.unlock() }
        return counts
    }

    /// A slot without waiting, if one is free.
    func takeWindowSlot() -> Bool {
        condition.lock()
        defer { condition.unlock() }
        guard inFlight < window, !connectionEnded else { return false }
        inFlight += 1
        return true
    }

    /// Waits for a slot; false if the connection ended meanwhile.
    func waitForWindowSlot() -> Bool {
        condition.lock()
        defer { condition.unlock() }
        while inFlight >= window && !connectionEnded { condition.wait() }
        guard !connectionEnded else { return false }
        inFlight += 1
        return true
    }

    func sent() {
        condition.lock()
        counts.sent += 1
        condition.unlock()
    }

    func rejectedHere(line: Int, message: String) {
        condition.lock()
        counts.sent += 1
        counts.rejected += 1
        condition.unlock()
        report("line \(line): \(message)")
    }

    /// Waits until the answer reader has seen the end of the connection.
    func waitUntilAnswered() {
        condition.lock()
        while !connectionEnded { condition.wait() }
        condition.unlock()
    }

    /// The reading thread: counts answers until the server closes.
    func readAnswers(from connection: IngestSocket) {
        let chunk = UnsafeMutableRawBufferPointer.allocate(byteCount: 64 << 10, alignment: 16)
        defer { chunk.deallocate() }
        var lines = ResponseLineBuffer()
        while true {
            let n: Int
            do { n = try connection.receive(into: chunk) } catch {
                report("emit: \(error)")
                break
            }
            if n == 0 { break }
            lines.append(UnsafeRawBufferPointer(rebasing: chunk[0..<n]))
            lines.forEachLine { line in answer(line) }
            showProgressIfDue()
        }
        condition.lock()
        connectionEnded = true
        condition.broadcast()
        condition.unlock()
    }

    private func answer(_ line: ArraySlice<UInt8>) {
        guard let ack = IngestAck(line: line) else {
            report("emit: unexpected answer from the server: \(String(decoding: line.prefix(200), as: UTF8.self))")
            return
        }
        if case .rejected(_, 0, let error, let message) = ack {
            report("server: \(error): \(message)")  // about the connection, not a line
            return
        }
        condition.lock()
        inFlight -= 1
        switch ack {
        case .stored, .storedRedacted: counts.stored += 1
        case .duplicate: counts.duplicates += 1
        case .rejected: counts.rejected += 1
        }
        condition.signal()
        condition.unlock()
        if case .rejected(_, let line, let error, let message) = ack {
            report("line \(line - lineOffset): \(error): \(message)")
        }
    }

    /// Serializes the reports and the progress line between the two threads.
    private let outputLock = NSLock()

    private func report(_ text: String) {
        outputLock.lock()
        defer { outputLock.unlock() }
        clearProgressLineLocked()
        reportLine(text)
    }

    /// Rewrites one progress line at most four times a second.
    private func showProgressIfDue() {
        guard let progressDescriptor, ContinuousClock.now - lastProgress > .milliseconds(250) else { return }
        lastProgress = .now
        let counts = summary
        let answered = counts.stored + counts.duplicates + counts.rejected
        var text = "\r\u{1B}[Ksent \(counts.sent), answered \(answered) (stored \(counts.stored), duplicates \(counts.duplicates), rejected \(counts.rejected))"
        outputLock.lock()
        defer { outputLock.unlock() }
        _ = text.withUTF8 { write(progressDescriptor, $0.baseAddress, $0.count) }
        progressShown = true
    }

    func clearProgressLine() {
        outputLock.lock()
        defer { outputLock.unlock() }
        clearProgressLineLocked()
    }

    private func clearProgressLineLocked() {
        guard progressShown, let progressDescriptor else { return }
        progressShown = false
        _ = write(progressDescriptor, "\r\u{1B}[K", 4)
    }
}
