import Logging
import Telemetry
import Window

extension Node {
    /// What `careerlog serve` runs, from start to drain: the node, its HTTP
    /// window (when `window` is given), SIGHUP routed to the door's reload,
    /// and one ready line handed to `ready` once everything listens:
    /// `{"tcp":"HOST:PORT","socket":"PATH","last_seq":N,"http":"HOST:PORT"}`
    /// (`Node.ReadyInfo.jsonLine` plus `http`), ending in a newline.
    ///
    /// Blocks until `stopSignal` is requested (route SIGTERM/SIGINT to it
    /// with `StopSignal.trap` before building the configuration), then
    /// drains in the node's order and shuts the window. Errors opening the
    /// log come as they are (`LogError`); a listener that cannot start is
    /// `NodeError(.ingestNotStarted)` or `NodeError(.windowNotStarted)`
    /// (the node drained first); a log that did not close is
    /// `NodeError(.logNotClosed)`.
    public static func serve(
        _ configuration: Configuration, window: NodeWindowConfiguration?, logger: Logger,
        stopSignal: StopSignal, ready: (String) -> Void
    ) throws {
        var configuration = configuration
        // One registry: the appender records into it, /metrics renders it.
        let metrics = CareerlogMetrics()
        if window != nil { configuration.ingest.metrics = metrics }
        // SIGHUP re-reads the certificate, key and producers file; a bad one keeps what is in force.
        let door = configuration.ingest.door
        let reload = ReloadSignal { _ = door.reload(logger: logger) }
        defer { withExtendedLifetime(reload) {} }
        let node = Node(configuration: configuration, logger: logger, stopSignal: stopSignal)
        let info = try node.start()
        let server: WindowServer?
        do {
            server = try window.map { try NodeWindow.start(node: node, configuration: $0, metrics: metrics, logger: logger) }
        } catch {
            node.stop()
            try? node.waitUntilStopped()
            throw NodeError(.windowNotStarted, "\(error)", underlying: error)
        }
        ready(readyLine(info, window: server))
        defer { server?.shutdown() }
        try node.waitUntilStopped()
    }

    /// The ready line: the node's, plus the HTTP window's bound address.
    static func readyLine(_ info: ReadyInfo, window: WindowServer?) -> String {
        var line = info.jsonLine
        if let window { line = String(line.dropLast()) + #","http":"\#(window.configuration.host):\#(window.port)"}"# }
        return line + "\n"
    }
}
