import ArgumentParser
import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

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

    /// How long to wait for the node: it answers from memory and one short query.
    static let requestTimeoutSeconds = 10.0

    func run() throws {
        guard let url = URL(string: "http://\(http)/api/status" + (json ? "" : "?format=text")) else {
            throw ValidationError("--http must be HOST:PORT, got \(http)")
        }
        var request = URLRequest(url: url, timeoutInterval: Self.requestTimeoutSeconds)
        if let token = ProcessInfo.processInfo.environment["CAREERLOG_HTTP_TOKEN"], !token.isEmpty {
            request.setValue("Bearer \(token)", forHTTPHeaderField: "Authorization")
        }
        let (body, status, failure) = Self.fetch(request)
        guard let body, let status else {
            printError("status: no node answers at \(http) (\(failure ?? "no answer")); start `careerlog serve` or pass --http HOST:PORT")
            throw ExitCode(1)
        }
        guard status == 200 else {
            printError("status: the node at \(http) answered HTTP \(status): \(String(decoding: body, as: UTF8.self))")
            throw ExitCode(1)
        }
        let text = String(decoding: body, as: UTF8.self)
        print(text, terminator: json ? "\n" : "")
        if json ? text.contains(#""ready":false"#) : text.hasPrefix("ready:        no") { throw ExitCode(2) }
    }

    private static func fetch(_ request: URLRequest) -> (Data?, Int?, String?) {
        final class Box: @unchecked Sendable { var result: (Data?, Int?, String?) = (nil, nil, nil) }
        let box = Box()
        let done = DispatchSemaphore(value: 0)
        URLSession.shared.dataTask(with: request) { data, response, error in
            box.result = (data, (response as? HTTPURLResponse)?.statusCode, error?.localizedDescription)
            done.signal()
        }.resume()
        done.wait()
        return box.result
    }
}
