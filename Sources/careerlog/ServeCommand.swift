import ArgumentParser
import CareerEvents
import EventLog
import Foundation
import Ingest
import Logging
import Projector
import Runtime
import StoredEventCodec
import Telemetry
import Window

struct ServeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Accept events over TCP and a Unix socket; acknowledge each one once it is durable.",
        discussion: """
            Protocol: one event envelope per line (NDJSON, "\\n" or "\\r\\n"). Every non-blank line gets \
            one answer line, in line order: {"ok":true,"id":"...","seq":N} once the event is on disk, \
            {"ok":true,"id":"...","seq":N,"duplicate":true} for an id already stored, or \
            {"ok":false,"id":"...","line":L,"error":"schema","message":"..."} with error one of parse, \
            too_large, unknown_type, schema (the line is wrong), overloaded, unavailable (not stored: send again later), \
            and, about the connection (line 0, then closed), idle_timeout, line_timeout, too_many_rejected. \
            Blank lines are counted but not answered. \
            When ready, prints one JSON line on stdout: {"tcp":"HOST:PORT","socket":"PATH","last_seq":N,"http":"HOST:PORT"}. \
            HTTP (--http, on by default on loopback): /metrics (Prometheus), /healthz, /readyz, the dashboard at /, \
            /api/analytics/NAME and /api/status; read-only; CAREERLOG_HTTP_TOKEN, when set, is the bearer token it requires. \
            SIGTERM or SIGINT: stop accepting, answer every line received, sync, close the log, exit 0.
            """)

    @OptionGroup var data: DataDirectoryOptions
    @OptionGroup var schemas: SchemaOptions
    @OptionGroup var logLimits: LogLimitOptions
    @OptionGroup(title: "Privacy") var masterKey: MasterKeyOptions

    @Option(help: ArgumentHelp("TCP address to listen on; port 0 picks a free port.", valueName: "host:port"))
    var listen: String = "127.0.0.1:7400"
    @Flag(help: "Do not listen on TCP.")
    var noTcp = false
    @Option(help: ArgumentHelp("Unix socket to listen on (default: <data-dir>/ingest.sock), created with mode 0660.", valueName: "path"))
    var socket: String?
    @Flag(help: "Do not listen on a Unix socket.")
    var noSocket = false
    @OptionGroup var dedupe: DedupeWindowOption
    @Option(help: ArgumentHelp("Event loop threads (decode, validate, answer); default one per core.", valueName: "count"))
    var eventLoops: Int = ProcessInfo.processInfo.activeProcessorCount
    @Option(help: ArgumentHelp("Least severe log level written to stderr: trace, debug, info, notice, warning, error, critical.", valueName: "level"))
    var logLevel: Logger.Level = .info
    @OptionGroup(title: "Network door (README.md, \"Running it on a network\")") var door: ServeDoorOptions
    @OptionGroup(title: "Limits") var limits: IngestLimitOptions
    @OptionGroup(title: "Read models") var database: DatabaseOptions
    @OptionGroup(title: "Read models") var projections: ProjectionOptions
    @Flag(help: "Do not run the projector (read models): ingest only.")
    var noProjector = false
    @Flag(help: "Keep sealed segments as written instead of recompressing them in the background (`careerlog log compact` does it on a stopped log).")
    var noRecompress = false
    @Flag(help: "On start, rebuild projections whose SQL or version changed (or that failed), beside the live ones, then swap them in.")
    var rebuildStale = false
    @Option(help: ArgumentHelp("HTTP address for /metrics, /healthz, /readyz and the dashboard; port 0 picks a free port.", valueName: "host:port"))
    var http: String = "127.0.0.1:7401"
    @Flag(help: "Do not serve HTTP.")
    var noHttp = false
    @Option(help: ArgumentHelp("Events a live projection may lag for /readyz to answer ready.", valueName: "events"))
    var readyLagEventsMax: UInt64 = ReadinessPolicy().projectionLagEventsMax

    func validate() throws {
        if noTcp && noSocket { throw ValidationError("--no-tcp and --no-socket together leave nothing to listen on") }
        if !noTcp && IngestEndpoint(hostPort: listen) == nil { throw ValidationError("--listen must be HOST:PORT, got \(listen)") }
        if !noHttp, case .tcp? = IngestEndpoint(hostPort: http) {} else if !noHttp {
            throw ValidationError("--http must be HOST:PORT, got \(http)")
        }
        guard eventLoops >= 1, eventLoops <= 256 else { throw ValidationError("--event-loops must be between 1 and 256") }
        try checkingOption { try limits.ingestLimits.validate() }
    }

    func run() throws {
        var logger = Logger(label: "careerlog.serve", factory: { StreamLogHandler.standardError(label: $0) })
        logger.logLevel = logLevel
        // Signals are routed to the node's stop request before anything
        // starts, so a SIGTERM at any moment ends in the drain.
        let stop = StopSignal()
        stop.trap([SIGTERM, SIGINT])
        let resolvedURL = ResolvedDatabaseURL()
        do {
            let node = try nodeConfiguration(logger: logger, resolvedURL: resolvedURL)
            let window = noHttp ? nil : try windowConfiguration(resolvedURL, tls: node.ingest.door.tls, logger: logger)
            // Written at once, unbuffered: whoever started the server waits for it.
            try Node.serve(node, window: window, logger: logger, stopSignal: stop) { line in
                _ = line.utf8CString.withUnsafeBufferPointer { write(1, $0.baseAddress!, $0.count - 1) }
            }
        } catch let error as DoorStartError {
            printError("serve: \(error)")
            throw ExitCode(1)
        } catch let error as NodeError where error.code == .ingestNotStarted || error.code == .windowNotStarted {
            printError("serve: \(error)")
            throw ExitCode(1)
        } catch let error as NodeError where error.code == .logNotClosed {
            throw ExitCode(1)  // logged by the node
        }
    }

    /// The HTTP window these options describe.
    /// The HTTP port speaks TLS with the door's certificate when there is
    /// one, and beyond loopback it needs both TLS and a read token.
    func windowConfiguration(
        _ resolvedURL: ResolvedDatabaseURL, tls: TLSServerContext? = nil, logger: Logger? = nil
    ) throws -> NodeWindowConfiguration {
        var configuration = NodeWindowConfiguration(dataDirectory: data.path)
        guard case .tcp(let host, let port)? = IngestEndpoint(hostPort: http) else { preconditionFailure("checked by validate()") }
        try configuration.listen(host: host, port: port, tls: tls, readToken: EnvironmentSettings.httpReadToken(),
                                 insecureListen: door.insecureListen, logger: logger)
        configuration.readiness.projectionLagEventsMax = readyLagEventsMax
        configuration.catalog = noProjector ? nil : try projections.catalog()
        configuration.databaseURL = resolvedURL
        return configuration
    }

    /// The node these options describe.
    func nodeConfiguration(logger: Logger, resolvedURL: ResolvedDatabaseURL = ResolvedDatabaseURL()) throws -> Node.Configuration {
        let registry = try schemas.registry()
        var ingest = IngestServer.Configuration()
        if noTcp {
            ingest.tcpHost = nil
        } else if case .tcp(let host, let port)? = IngestEndpoint(hostPort: listen) {
            ingest.tcpHost = host
            ingest.tcpPort = port
        }
        ingest.unixSocketPath = noSocket ? nil : (socket ?? data.layout.ingestSocket)
        ingest.limits = limits.ingestLimits
        ingest.eventLoopThreads = eventLoops
        ingest.door = try door.makeDoor(tcp: ingest.tcpHost.map { ($0, ingest.tcpPort) }, logger: logger)
        let sealer = try masterKey.openForWriting(data: data, registry: registry, command: "serve")
        ingest.sealer = sealer
        var configuration = Node.Configuration(
            logDirectory: data.logDirectory, logLimits: logLimits.logLimits,
            dedupeWindowEvents: dedupe.events, ingest: ingest,
            validate: { envelope throws(EventError) in try registry.validate(envelope) },
            projector: noProjector ? nil : try projectorConfiguration(logger: logger, resolvedURL: resolvedURL,
                                                                      pii: RecordOpener(mode: .include(sealer.store), table: sealer.table)))
        configuration.recompressSealedSegments = !noRecompress
        return configuration
    }

    /// The read models: PostgreSQL is resolved on the projector's thread
    /// (starting the private cluster when no URL is configured), so ingest
    /// never waits for it. A private cluster serve started is stopped once
    /// the projector has made its last commit; one it found running is left.
    func projectorConfiguration(
        logger: Logger, resolvedURL: ResolvedDatabaseURL = ResolvedDatabaseURL(), pii: RecordOpener? = nil
    ) throws -> ProjectorConfiguration {
        var options = Projector.Options()
        options.rebuildStaleOnStart = rebuildStale
        // The writer's own key store: the projector sees every key at once.
        options.pii = pii
        return .readModels(catalog: try projections.catalog(), options: options, configuredURL: database.configuredURL,
                           cluster: data.embeddedCluster, keep: database.keepDatabase, resolved: resolvedURL, logger: logger)
    }
}

/// The limits `serve` (and the benchmark) let a user set.
struct IngestLimitOptions: ParsableArguments {
    @Option(help: ArgumentHelp("Longest line accepted, in bytes; longer lines are answered too_large.", valueName: "bytes"))
    var lineBytesMax: Int = IngestLimits().lineBytesMax
    @Option(help: ArgumentHelp("Deepest JSON nesting accepted.", valueName: "levels"))
    var jsonDepthMax: Int = IngestLimits().jsonDepthMax
    @Option(help: ArgumentHelp("Open connections at most; more are answered overloaded and closed.", valueName: "count"))
    var connectionsMax: Int = IngestLimits().connectionsMax
    @Option(help: ArgumentHelp("Unanswered lines per connection at which reading it pauses.", valueName: "lines"))
    var unacknowledgedMax: Int = IngestLimits().unacknowledgedLinesMax
    @Option(help: ArgumentHelp("Rejected lines in a row after which a connection is closed.", valueName: "lines"))
    var rejectedLinesMax: Int = IngestLimits().rejectedLinesInARowMax
    @Option(help: ArgumentHelp("Close a connection that sends no byte at all, with nothing pending, this long (answered idle_timeout).", valueName: "ms"))
    var idleTimeoutMs: Int = IngestLimits().idleTimeoutMs
    @Option(help: ArgumentHelp("Longest time one line may take from its first byte to its newline; a slower line is answered line_timeout and the connection closed.", valueName: "ms"))
    var lineDeadlineMs: Int = IngestLimits().lineDeadlineMs
    @Option(help: ArgumentHelp("Bytes of unfinished lines buffered across all connections at most; past half of it connections holding a large unfinished line are not read, and a line that does not fit is answered overloaded.", valueName: "bytes"))
    var bufferedBytesMax: Int = IngestLimits().bufferedBytesMax
    @Option(help: ArgumentHelp("Close a connection that does not read its answers for this long.", valueName: "ms"))
    var slowClientTimeoutMs: Int = IngestLimits().slowClientTimeoutMs
    @Option(help: ArgumentHelp("Events waiting for the appender at most; beyond, lines are answered overloaded.", valueName: "events"))
    var queueEventsMax: Int = IngestLimits().appenderQueueEventsMax
    @Option(help: ArgumentHelp("On shutdown, how long connections get to take their last answers.", valueName: "ms"))
    var drainTimeoutMs: Int = IngestLimits().drainTimeoutMs

    var ingestLimits: IngestLimits {
        var limits = IngestLimits()
        limits.lineBytesMax = lineBytesMax
        limits.jsonDepthMax = jsonDepthMax
        limits.connectionsMax = connectionsMax
        limits.unacknowledgedLinesMax = unacknowledgedMax
        limits.rejectedLinesInARowMax = rejectedLinesMax
        limits.idleTimeoutMs = idleTimeoutMs
        limits.lineDeadlineMs = lineDeadlineMs
        limits.bufferedBytesMax = bufferedBytesMax
        limits.slowClientTimeoutMs = slowClientTimeoutMs
        limits.appenderQueueEventsMax = queueEventsMax
        limits.drainTimeoutMs = drainTimeoutMs
        return limits
    }
}

extension Logger.Level: @retroactive ExpressibleByArgument {}
