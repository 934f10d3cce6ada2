import CareerEvents
import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// Why an emit could not start: the server is unreachable, or refused the
/// token. Printed after `emit: `.
public struct EmitError: Error, Sendable, CustomStringConvertible {
    public var message: String
    public var description: String { message }
}

/// The client side of `careerlog emit`: sends NDJSON lines from a file
/// descriptor over one connection, pipelined (at most `window` lines
/// unanswered), while a second thread reads and counts the answers, until
/// the server has answered everything and closed.
///
/// Blank lines are sent too, so the server's line numbers are the file's;
/// a line longer than `lineBytesMax` is not sent (a blank line keeps the
/// numbering) and counts as rejected `too_large` here. Every rejection is
/// reported through `output` with its line number.
public final class EmitSession: @unchecked Sendable {
    /// What was sent and what the answers said.
    public struct Summary: Sendable, Equatable {
        /// Non-blank lines sent (or rejected here as too large).
        public var sent = 0
        public var stored = 0
        public var duplicates = 0
        public var rejected = 0

        public init(sent: Int = 0, stored: Int = 0, duplicates: Int = 0, rejected: Int = 0) {
            self.sent = sent
            self.stored = stored
            self.duplicates = duplicates
            self.rejected = rejected
        }

        /// Lines that got no answer: the connection closed early.
        public var unanswered: Int { sent - stored - duplicates - rejected }

        /// `{"sent":N,"stored":S,"duplicates":D,"rejected":R}`: emit's summary line.
        public var json: String {
            #"{"sent":\#(sent),"stored":\#(stored),"duplicates":\#(duplicates),"rejected":\#(rejected)}"#
        }
    }

    private let connection: IngestSocket
    private let lineBytesMax: Int
    private let progress: EmitProgress

    /// `lineOffset`: lines the server counted before the file's first (the
    /// auth line), so reports name the file's line numbers.
    public init(connection: IngestSocket, window: Int, lineBytesMax: Int, lineOffset: Int, output: EmitOutput) {
        self.connection = connection
        self.lineBytesMax = lineBytesMax
        progress = EmitProgress(window: window, lineOffset: lineOffset, output: output)
    }

    /// Sends every line of `fd` (`inputName` names it in errors), then waits
    /// until the server answered and closed. Returns the counts and, when
    /// sending or reading the input failed, why.
    public func run(input fd: Int32, inputName: String) -> (summary: Summary, sendError: String?) {
        let reader = Thread { [progress, connection] in progress.readAnswers(from: connection) }
        reader.start()
        let sendError = sendLines(fd: fd, inputName: inputName)
        connection.shutdownSending()
        progress.waitUntilAnswered()
        let summary = progress.summary
        progress.output.clearProgressLine()
        return (summary, sendError)
    }

    /// Sends every line, keeping at most `window` unanswered.
    private func sendLines(fd: Int32, inputName: String) -> String? {
        var reader = LineReader(fd: fd, lineBytesMax: lineBytesMax)
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
                    progress.rejectedHere(line: number, message: "too_large: line is \(bytes) bytes; the limit is \(lineBytesMax)")
                }
                if out.count >= 64 << 10 { try flush() }
            }
            try flush()
            return nil
        } catch let error as IngestSocketError {
            return "\(error)"
        } catch {
            return "reading \(inputName): \(error)"
        }
    }

    /// A plain socket to `endpoint`, or with `tls` the caller's end of a
    /// TLS bridge (close both when done).
    public static func connect(_ endpoint: IngestEndpoint, tls: TLSClientFiles?) throws(EmitError) -> (IngestSocket, IngestTLSBridge?) {
        do {
            guard let tls, case .tcp(let host, let port) = endpoint else { return (try IngestSocket(endpoint: endpoint), nil) }
            let bridge = try IngestTLSBridge.connect(host: host, port: port, context: try TLSClientContext.make(tls))
            return (IngestSocket(connectedDescriptor: dup(bridge.descriptor)), bridge)
        } catch {
            throw EmitError(message: "cannot reach careerlog serve at \(endpoint): \(error) (is it running? see --connect, --socket, --data-dir)")
        }
    }

    /// Longest answer to the auth line read, in bytes: the server's answer
    /// is one short JSON object; anything longer is not one.
    static let authAnswerBytesMax = 4096

    /// Sends the auth line and waits for its answer, so a wrong token is
    /// one clear error, not one `unauthenticated` answer per line.
    public static func authenticate(_ connection: IngestSocket, token: String, timeoutMs: Int32 = 10_000) throws(EmitError) {
        var line: [UInt8] = Array(#"{"auth":"#.utf8)
        JSONValue.writeString(token, into: &line)
        line.append(contentsOf: "}\n".utf8)
        var answer: [UInt8] = []
        var byte: UInt8 = 0
        do {
            try connection.send(line)
            // Byte by byte up to the newline: nothing else is in flight yet.
            while answer.count < authAnswerBytesMax {
                let n = try withUnsafeMutableBytes(of: &byte) { try connection.receive(into: $0, timeoutMs: timeoutMs) }
                if n == 0 || byte == UInt8(ascii: "\n") { break }
                answer.append(byte)
            }
        } catch {
            throw EmitError(message: "authenticating: \(error)")
        }
        let object: JSONObject? = if case .object(let object)? = try? JSONParser.parse(answer) { object } else { nil }
        guard case .bool(true)? = object?["ok"], case .string? = object?["producer"] else {
            var reason = "the connection closed"
            if case .string(let message)? = object?["message"] { reason = message }
            throw EmitError(message: "the server refused the token: \(reason)")
        }
    }
}

/// Where an emit reports: rejected lines and connection messages, one line
/// each, and on a terminal one `\r`-rewritten progress line at most four
/// times a second. Serializes the writes of the sending and reading threads.
public final class EmitOutput: @unchecked Sendable {
    private let fd: Int32
    private let showsProgress: Bool
    private let lock = NSLock()
    private var progressShown = false
    private var lastProgress = ContinuousClock.now

    /// Redraws at most this often: a person reads no faster.
    static let progressIntervalMs = 250

    public init(fd: Int32 = 2, showsProgress: Bool) {
        self.fd = fd
        self.showsProgress = showsProgress
    }

    /// One line, after erasing the progress line if one is shown.
    public func report(_ text: String) {
        lock.withLock {
            clearProgressLineLocked()
            write(text + "\n")
        }
    }

    func showProgressIfDue(_ counts: EmitSession.Summary) {
        guard showsProgress, ContinuousClock.now - lastProgress > .milliseconds(Self.progressIntervalMs) else { return }
        lastProgress = .now
        let answered = counts.stored + counts.duplicates + counts.rejected
        let text = "\r\u{1B}[Ksent \(counts.sent), answered \(answered) (stored \(counts.stored), duplicates \(counts.duplicates), rejected \(counts.rejected))"
        lock.withLock {
            write(text)
            progressShown = true
        }
    }

    /// Erases the progress line, if one is shown.
    public func clearProgressLine() {
        lock.withLock { clearProgressLineLocked() }
    }

    private func clearProgressLineLocked() {
        guard progressShown else { return }
        progressShown = false
        write("\r\u{1B}[K")
    }

    private func write(_ text: String) {
        _ = text.utf8CString.withUnsafeBufferPointer { Glibc.write(fd, $0.baseAddress!, $0.count - 1) }
    }
}

/// Counters shared by the sending thread and the answer-reading thread,
/// plus the in-flight window.
final class EmitProgress: @unchecked Sendable {
    private let condition = NSCondition()
    private var counts = EmitSession.Summary()
    private var inFlight = 0
    private var connectionEnded = false
    private let window: Int
    private let lineOffset: Int
    let output: EmitOutput

    init(window: Int, lineOffset: Int, output: EmitOutput) {
        self.window = window
        self.lineOffset = lineOffset
        self.output = output
    }

    var summary: EmitSession.Summary { condition.withLock { counts } }

    /// A slot without waiting, if one is free.
    func takeWindowSlot() -> Bool {
        condition.withLock {
            guard inFlight < window, !connectionEnded else { return false }
            inFlight += 1
            return true
        }
    }

    /// Waits for a slot; false if the connection ended meanwhile.
    func waitForWindowSlot() -> Bool {
        condition.withLock {
            while inFlight >= window && !connectionEnded { condition.wait() }
            guard !connectionEnded else { return false }
            inFlight += 1
            return true
        }
    }

    func sent() {
        condition.withLock { counts.sent += 1 }
    }

    func rejectedHere(line: Int, message: String) {
        condition.withLock {
            counts.sent += 1
            counts.rejected += 1
        }
        output.report("line \(line): \(message)")
    }

    /// Waits until the answer reader has seen the end of the connection.
    func waitUntilAnswered() {
        condition.withLock {
            while !connectionEnded { condition.wait() }
        }
    }

    /// The reading thread: counts answers until the server closes.
    func readAnswers(from connection: IngestSocket) {
        let chunk = UnsafeMutableRawBufferPointer.allocate(byteCount: 64 << 10, alignment: 16)
        defer { chunk.deallocate() }
        var lines = ResponseLineBuffer()
        while true {
            let n: Int
            do { n = try connection.receive(into: chunk) } catch {
                output.report("emit: \(error)")
                break
            }
            if n == 0 { break }
            lines.append(UnsafeRawBufferPointer(rebasing: chunk[0..<n]))
            lines.forEachLine { line in answer(line) }
            output.showProgressIfDue(summary)
        }
        condition.withLock {
            connectionEnded = true
            condition.broadcast()
        }
    }

    private func answer(_ line: ArraySlice<UInt8>) {
        guard let ack = IngestAck(line: line) else {
            output.report("emit: unexpected answer from the server: \(String(decoding: line.prefix(200), as: UTF8.self))")
            return
        }
        if case .rejected(_, 0, let error, let message) = ack {
            output.report("server: \(error): \(message)")  // about the connection, not a line
            return
        }
        condition.withLock {
            inFlight -= 1
            switch ack {
            case .stored: counts.stored += 1
            case .duplicate: counts.duplicates += 1
            case .rejected: counts.rejected += 1
            }
            condition.signal()
        }
        if case .rejected(_, let line, let error, let message) = ack {
            output.report("line \(line - lineOffset): \(error): \(message)")
        }
    }
}
