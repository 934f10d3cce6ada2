import ArgumentParser
import CareerEvents
import Foundation
import Ingest

#if canImport(Glibc)
import Glibc
#endif

struct EmitCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "emit",
        abstract: "Send NDJSON events to a running `careerlog serve` and report what was stored.",
        discussion: """
            Lines are pipelined: up to --window lines are in flight, answers are read as they come. \
            Prints one JSON summary on stdout: {"sent":N,"stored":S,"duplicates":D,"rejected":R} \
            (sent counts non-blank lines). Each rejected line is reported on stderr with its line number \
            and reason. Exit status 1 if any line was rejected or left unanswered. \
            With --token or --token-file, the first line sent is {"auth":"<token>"} and its answer is \
            awaited before any event is sent; with --tls (or --tls-ca, --tls-cert), the TCP connection is TLS.
            """)

    @Option(help: ArgumentHelp("The server's TCP address (default 127.0.0.1:7400).", valueName: "host:port"))
    var connect: String?
    @Option(help: ArgumentHelp("The server's Unix socket instead of TCP.", valueName: "path"))
    var socket: String?
    @Option(name: .customLong("data-dir"), help: ArgumentHelp(
        "Send to the server of this data directory, through its Unix socket <dir>/ingest.sock (instead of TCP).", valueName: "dir"))
    var dataDirectory: String?
    @Option(help: ArgumentHelp("Lines sent and not yet answered at most.", valueName: "lines"))
    var window: Int = 2048
    @Option(help: ArgumentHelp("Longest line sent; longer lines are rejected here as too_large.", valueName: "bytes"))
    var lineBytesMax: Int = 1 << 20
    @Argument(help: ArgumentHelp("The NDJSON file to send, or - for stdin.", valueName: "file"))
    var file: String = "-"
    @OptionGroup(title: "Authentication and TLS") var door: EmitDoorOptions

    func validate() throws {
        if [connect, socket, dataDirectory].compactMap({ $0 }).count > 1 {
            throw ValidationError("give one of --connect, --socket and --data-dir (the server's address)")
        }
        if let connect, IngestEndpoint(hostPort: connect) == nil { throw ValidationError("--connect must be HOST:PORT, got \(connect)") }
        guard window >= 1, window <= 1 << 20 else { throw ValidationError("--window must be between 1 and 1048576") }
        guard lineBytesMax >= 1 else { throw ValidationError("--line-bytes-max must be at least 1") }
        if door.usesTLS && (socket != nil || dataDirectory != nil) {
            throw ValidationError("TLS is for TCP; the Unix socket is plain (its file mode guards it): drop --tls, or use --connect")
        }
        try validateInputFile(file)
    }

    /// --socket, else the data directory's socket, else --connect or the default TCP address.
    var endpoint: IngestEndpoint {
        if let socket { return .unix(path: socket) }
        if let dataDirectory { return .unix(path: dataDirectory + "/ingest.sock") }
        return IngestEndpoint(hostPort: connect ?? "127.0.0.1:7400")!
    }

    func run() throws {
        let fd: Int32 = file == "-" ? 0 : open(file, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw ValidationError("cannot open \(file): \(String(cString: strerror(errno)))") }
        defer { if fd != 0 { close(fd) } }
        signal(SIGPIPE, SIG_IGN)
        let token = try door.resolvedToken()
        let (connection, bridge) = try connect(endpoint)
        defer {
            connection.close()
            bridge?.close()
        }
        if let token { try authenticate(connection, token: token) }

        let progress = EmitProgress(window: window, showProgress: isTerminal(2), lineOffset: token == nil ? 0 : 1)
        let reader = Thread { progress.readAnswers(from: connection) }
        reader.start()
        let sendError = sendLines(fd: fd, to: connection, progress: progress)
        connection.shutdownSending()
        progress.waitUntilAnswered()

        let summary = progress.summary
        progress.clearProgressLine()
        if let sendError { printError("emit: \(sendError)") }
        if sendError != nil { throw ExitCode(1) }
        print(#"{"sent":\#(summary.sent),"stored":\#(summary.stored),"duplicates":\#(summary.duplicates),"rejected":\#(summary.rejected)}"#)
        let unanswered = summary.sent - summary.stored - summary.duplicates - summary.rejected
        if unanswered > 0 {
            printError("emit: \(unanswered) of \(summary.sent) lines got no answer (the connection closed early); they may or may not be stored, send them again")
            if let failure = bridge?.failure { printError("emit: the TLS connection ended with: \(failure)") }
        }
        if summary.rejected > 0 || unanswered > 0 { throw ExitCode(1) }
    }

    /// A plain socket, or the caller's end of a TLS bridge.
    private func connect(_ endpoint: IngestEndpoint) throws -> (IngestSocket, IngestTLSBridge?) {
        do {
            guard door.usesTLS, case .tcp(let host, let port) = endpoint else { return (try IngestSocket(endpoint: endpoint), nil) }
            let context = try TLSClientContext.make(door.tlsFiles)
            let bridge = try IngestTLSBridge.connect(host: host, port: port, context: context)
            return (IngestSocket(connectedDescriptor: dup(bridge.descriptor)), bridge)
        } catch {
            printError("emit: cannot reach careerlog serve at \(endpoint): \(error) (is it running? see --connect, --socket, --data-dir)")
            throw ExitCode(1)
        }
    }

    /// Sends the auth line and waits for its answer, so a wrong token is
    /// one clear error, not one `unauthenticated` answer per line.
    private func authenticate(_ connection: IngestSocket, token: String) throws {
        var line: [UInt8] = Array(#"{"auth":"#.utf8)
        JSONValue.writeString(token, into: &line)
        line.append(contentsOf: "}\n".utf8)
        var answer: [UInt8] = []
        var byte: UInt8 = 0
        do {
            try connection.send(line)
            // Byte by byte up to the newline: nothing else is in flight yet.
            while answer.count < 4096 {
                let n = try withUnsafeMutableBytes(of: &byte) { try connection.receive(into: $0, timeoutMs: 10_000) }
                if n == 0 || byte == UInt8(ascii: "\n") { break }
                answer.append(byte)
            }
        } catch {
            printError("emit: authenticating: \(error)")
            throw ExitCode(1)
        }
        guard case .object(let object)? = try? JSONParser.parse(answer), case .bool(true)? = object["ok"],
              case .string? = object["producer"] else {
            var reason = "the connection closed"
            if case .object(let object)? = try? JSONParser.parse(answer), case .string(let message)? = object["message"] {
                reason = message
            }
            printError("emit: the server refused the token: \(reason)")
            throw ExitCode(1)
        }
    }

    /// Sends every line, keeping at most `window` unanswered; blank lines
    /// are sent too, so the server's line numbers are the file's.
    private func sendLines(fd: Int32, to connection: IngestSocket, progress: EmitProgress) -> String? {
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
            return "reading \(file): \(error)"
        }
    }
}

/// Counters shared by the sending thread and the answer-reading thread,
/// plus the in-flight window.
private final class EmitProgress: @unchecked Sendable {
    struct Summary {
        var sent = 0
        var stored = 0
        var duplicates = 0
        var rejected = 0
    }

    private let condition = NSCondition()
    private var counts = Summary()
    private var inFlight = 0
    private var connectionEnded = false
    private let window: Int
    private let showProgress: Bool
    /// Lines the server counted before the file's first (the auth line), so
    /// reports name the file's line numbers.
    private let lineOffset: Int
    private var lastProgress = ContinuousClock.now
    private var progressShown = false

    init(window: Int, showProgress: Bool, lineOffset: Int) {
        self.window = window
        self.showProgress = showProgress
        self.lineOffset = lineOffset
    }

    var summary: Summary {
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

    /// Serializes stderr between the two threads (reports, progress line).
    private let outputLock = NSLock()

    private func report(_ text: String) {
        outputLock.lock()
        defer { outputLock.unlock() }
        clearProgressLineLocked()
        printError(text)
    }

    /// On a terminal, rewrites one progress line at most four times a second.
    private func showProgressIfDue() {
        guard showProgress, ContinuousClock.now - lastProgress > .milliseconds(250) else { return }
        lastProgress = .now
        let counts = summary
        let answered = counts.stored + counts.duplicates + counts.rejected
        var text = "\r\u{1B}[Ksent \(counts.sent), answered \(answered) (stored \(counts.stored), duplicates \(counts.duplicates), rejected \(counts.rejected))"
        outputLock.lock()
        defer { outputLock.unlock() }
        _ = text.withUTF8 { write(2, $0.baseAddress, $0.count) }
        progressShown = true
    }

    func clearProgressLine() {
        outputLock.lock()
        defer { outputLock.unlock() }
        clearProgressLineLocked()
    }

    private func clearProgressLineLocked() {
        guard progressShown else { return }
        progressShown = false
        _ = write(2, "\r\u{1B}[K", 4)
    }
}
