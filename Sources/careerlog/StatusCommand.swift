import ArgumentParser
import Foundation
import Runtime

/// `careerlog status`: the running node's one-screen summary (log, ingest,
/// projections, PostgreSQL, disk space left), read from its HTTP window.
struct StatusCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status",
        abstract: "Print a running node's summary: log, ingest, projections, PostgreSQL, disk space left.",
        discussion: """
            Asks the node's HTTP window (`careerlog serve --http`, 127.0.0.1:7401 by default) for /api/status; \
            CAREERLOG_HTTP_TOKEN is sent as the bearer token when set. Exits 1 when no node answers, 2 when \
            the node answers but is not ready.
            """)

    @Option(help: ArgumentHelp("The node's HTTP address.", valueName: "host:port"))
    var http = "127.0.0.1:7401"
    @Flag(help: "Print the JSON document instead.")
    var json = false

    func run() throws {
        switch NodeStatusClient.fetch(hostPort: http, json: json, token: EnvironmentSettings.httpReadToken()) {
        case nil:
            throw ValidationError("--http must be HOST:PORT, got \(http)")
        case .noAnswer(let failure)?:
            printError("status: no node answers at \(http) (\(failure)); start `careerlog serve` or pass --http HOST:PORT")
            throw ExitCode(1)
        case .refused(let status, let body)?:
            printError("status: the node at \(http) answered HTTP \(status): \(body)")
            throw ExitCode(1)
        case .summary(let text, let ready)?:
            print(text, terminator: json ? "\n" : "")
            if !ready { throw ExitCode(2) }
        }
    }
}
