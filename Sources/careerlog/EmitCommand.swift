import ArgumentParser
import CareerEvents
import Foundation
import Ingest
import Runtime

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
        if let dataDirectory { return .unix(path: DataDirectory(path: dataDirectory).ingestSocket) }
        return IngestEndpoint(hostPort: connect ?? "127.0.0.1:7400")!
    }

    func run() throws {
        let fd = try openInputFile(file)
        defer { if fd != 0 { close(fd) } }
        signal(SIGPIPE, SIG_IGN)
        let token = try door.resolvedToken()
        let (connection, bridge) = try connect(endpoint)
        defer {
            connection.close()
            bridge?.close()
        }
        if let token { try authenticate(connection, token: token) }

        var configuration = EmitSession.Configuration()
        configuration.windowLinesMax = window
        configuration.lineBytesMax = lineBytesMax
        configuration.progressDescriptor = isTerminal(2) ? 2 : nil
        configuration.inputName = file
        let summary = EmitSession.run(
            connection: connection, inputDescriptor: fd, configuration: configuration, lineOffset: token == nil ? 0 : 1,
            report: { printError($0) })
        if let sendError = summary.sendError {
            printError("emit: \(sendError)")
            throw ExitCode(1)
        }
        print(summary.summaryJSON)
        summary.unansweredMessage(tlsFailure: bridge?.failure).forEach { printError("emit: \($0)") }
        if summary.rejected > 0 || summary.unanswered > 0 { throw ExitCode(1) }
    }

    /// A plain socket, or the caller's end of a TLS bridge.
    private func connect(_ endpoint: IngestEndpoint) throws -> (IngestSocket, IngestTLSBridge?) {
        do {
            return try EmitClient.connect(endpoint, tls: door.usesTLS ? door.tlsFiles : nil)
        } catch {
            printError("emit: cannot reach careerlog serve at \(endpoint): \(error) (is it running? see --connect, --socket, --data-dir)")
            throw ExitCode(1)
        }
    }

    /// Sends the auth line and waits for its answer, so a wrong token is
    /// one clear error, not one `unauthenticated` answer per line.
    private func authenticate(_ connection: IngestSocket, token: String) throws {
        do throws(EmitSession.AuthenticationError) {
            try EmitSession.authenticate(connection, token: token)
        } catch .connection(let error) {
            printError("emit: authenticating: \(error)")
            throw ExitCode(1)
        } catch .refused(let reason) {
            printError("emit: the server refused the token: \(reason)")
            throw ExitCode(1)
        }
    }
}
