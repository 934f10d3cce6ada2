import ArgumentParser
import CareerEvents
import Dispatch
import EventLog
import Foundation
import Ingest
import Logging
import Projector

struct ServeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Accept events over TCP and a Unix socket; acknowledge each one once it is durable.",
        discussion: """
            Protocol: one event envelope per line (NDJSON, "\\n" or "\\r\\n"). Every non-blank line gets \
            one answer line, in line order: {"ok":true,"id":"...","seq":N} once the event is on disk, \
            {"ok":true,"id":"...","seq":N,"duplicate":true} for an id already stored, or \
            {"ok":false,"id":"...","line":L,"error":"schema","message":"..."} with error one of parse, \
            too_large, unknown_type, schema, overloaded, unavailable. Blank lines are counted but not answered. \
            When ready, prints one JSON line on stdout: {"tcp":"HOST:PORT","socket":"PATH","last_seq":N}. \
            SIGTERM or SIGINT: stop accepting, answer every line received, sync, close the log, exit 0.
            """)

    @OptionGroup var data: DataDirectoryOptions
    @OptionGroup var schemas: SchemaOptions
    @OptionGroup var logLimits: LogLimitOptions

    @Option(help: ArgumentHelp("TCP address to listen on; port 0 picks a free port.", valueName: "host:port"))
    var listen: String = "127.0.0.1:7400"
    @Flag(help: "Do not listen on TCP.")
    var noTcp = false
    @Option(help: ArgumentHelp("Unix socket to listen on (default: <data-dir>/ingest.sock), created with mode 0660.", valueName: "path"))
    var socket: String?
    @Flag(help: "Do not listen on a Unix socket.")
    var noSocket = false
    @Option(help: ArgumentHelp("How many of the newest events' ids are remembered to detect duplicates.", valueName: "events"))
    var dedupeWindow: Int = 10_000_000
    @Option(help: ArgumentHelp("Event loop threads (decode, validate, answer); default one per core.", valueName: "count"))
    var eventLoops: Int = ProcessInfo.processInfo.activeProcessorCount
    @Option(help: ArgumentHelp("Least severe log level written to stderr: trace, debug, info, notice, warning, error, critical.", valueName: "level"))
    var logLevel: Logger.Level = .info
    @OptionGroup(title: "Limits") var limits: IngestLimitOptions
    @OptionGroup(title: "Read models") var database: DatabaseOptions
    @OptionGroup(title: "Read models") var projections: ProjectionOptions
    @Flag(help: "Do not run the projector (read models): ingest only.")
    var noProjector = false
    @Flag(help: "On start, rebuild projections whose SQL or version changed (or that failed), beside the live ones, then swap them in.")
    var rebuildStale = false

    func validate() throws {
        if noTcp && noSocket { throw ValidationError("--no-tcp and --no-socket together leave nothing to listen on") }
        if !noTcp && IngestEndpoint(hostPort: listen) == nil { throw ValidationError("--listen must be HOST:PORT, got \(listen)") }
        guard dedupeWindow >= 1 else { throw ValidationError("--dedupe-window must be at least 1") }
        guard eventLoops >= 1, eventLoops <= 256 else { throw ValidationError("--event-loops must be between 1 and 256") }
        do { try limits.ingestLimits.validate() } catch { throw ValidationError(error.message) }
    }

    func run() throws {
        var logger = Logger(label: "careerlog.serve", factory: { StreamLogHandler.standardError(label: $0) })
        logger.logLevel = logLevel

        let registry = try schemas.registry()
        let log = try EventLog.open(directory: data.logDirectory, limits: LogLimits(segmentBytesMax: logLimits.segmentMiB << 20))
        logRecovery(log.recovery, logger: logger)
        let loadStart = ContinuousClock.now
        let window = try DedupeWindow.load(from: log, capacity: dedupeWindow)
        logger.info("dedupe window loaded", metadata: [
            "dedupe.events": "\(window.count)", "dedupe.seconds": "\(String(format: "%.2f", (ContinuousClock.now - loadStart).seconds))",
            "log.last_seq": "\(log.lastSeq)",
        ])

        var configuration = IngestServer.Configuration()
        if noTcp {
            configuration.tcpHost = nil
        } else if case .tcp(let host, let port)? = IngestEndpoint(hostPort: listen) {
            configuration.tcpHost = host
            configuration.tcpPort = port
        }
        configuration.unixSocketPath = noSocket ? nil : (socket ?? data.path + "/ingest.sock")
        configuration.limits = limits.ingestLimits
        configuration.eventLoopThreads = eventLoops

        // Signals are taken by a dispatch source, not a handler, so the
        // shutdown runs as ordinary code.
        let stop = DispatchSemaphore(value: 0)
        let received = SignalBox()
        var sources: [any DispatchSourceSignal] = []
        for signalNumber in [SIGTERM, SIGINT] {
            signal(signalNumber, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: signalNumber, queue: .global())
            source.setEventHandler {
                received.set(signalNumber)
                stop.signal()
            }
            source.resume()
            sources.append(source)
        }

        let server: IngestServer
        do {
            server = try IngestServer.start(
                log: log, window: window, validate: { envelope throws(EventError) in try registry.validate(envelope) },
                configuration: configuration, logger: logger)
        } catch {
            try? log.close()
            logger.critical("cannot start the server", metadata: ["error": "\(error)"])
            printError("serve: cannot start the server: \(error)")
            throw ExitCode(1)
        }
        let tcp = configuration.tcpHost.map { "\"\(IngestEndpoint.tcp(host: $0, port: server.tcpPort ?? 0))\"" } ?? "null"
        let socketPath = configuration.unixSocketPath.map { JSONValue.string($0).compactString } ?? "null"
        // Written at once, unbuffered: whoever started the server waits for it.
        let ready = #"{"tcp":\#(tcp),"socket":\#(socketPath),"last_seq":\#(log.lastSeq)}"# + "\n"
        _ = ready.utf8CString.withUnsafeBufferPointer { write(1, $0.baseAddress!, $0.count - 1) }

        let projectorStop = StopFlag()
        let projectorThread = noProjector ? nil : try startProjector(log: log, logger: logger, stop: projectorStop)

        stop.wait()
        logger.info("stopping on signal", metadata: ["signal": "\(received.value == SIGTERM ? "SIGTERM" : "SIGINT")"])
        server.shutdown()
        if let projectorThread {
            projectorStop.set()
            while !projectorThread.isFinished { usleep(10_000) }
            logger.info("projector stopped")
        }
        do {
            try log.close()
        } catch {
            logger.error("closing the log failed", metadata: ["error": "\(error)"])
            throw ExitCode(1)
        }
        logger.info("log closed", metadata: ["log.last_seq": "\(log.lastSeq)"])
        _ = sources
    }
}

extension ServeCommand {
    /// Runs the projector on a thread of its own, reading the log in this
    /// process (it sees events once they are durable). PostgreSQL is resolved
    /// there too (starting the private cluster when no URL is configured),
    /// so ingest never waits for it.
    func startProjector(log: EventLog, logger: Logger, stop: StopFlag) throws -> Thread {
        let catalog = try projections.catalog()
        let database = self.database
        let data = self.data
        let rebuildStale = self.rebuildStale
        var projectorLogger = logger
        projectorLogger[metadataKey: "component"] = "projector"
        let thread = Thread { [projectorLogger] in
            var url: String?
            var failures = 0
            while url == nil, !stop.isSet {
                do {
                    url = try database.connectionURL(data: data)
                } catch {
                    failures += 1
                    projectorLogger.error("PostgreSQL for the read models is not available; retrying", metadata: ["error": "\(error)", "postgres.failures": "\(failures)"])
                    for _ in 0..<min(50, 5 * failures) where !stop.isSet { usleep(100_000) }
                }
            }
            guard let url else { return }
            projectorLogger.info("projector started", metadata: ["projections": "\(catalog.definitions.map(\.name).joined(separator: ","))"])
            var options = Projector.Options()
            options.rebuildStaleOnStart = rebuildStale
            Projector(url: url, log: log, catalog: catalog, logger: projectorLogger, options: options).run(shouldStop: { stop.isSet })
        }
        thread.name = "careerlog-projector"
        thread.start()
        return thread
    }
}

/// A flag one thread sets and another polls.
final class StopFlag: @unchecked Sendable {
    private let lock = NSLock()
    private var value = false
    var isSet: Bool { lock.withLock { value } }
    func set() { lock.withLock { value = true } }
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

/// What recovery did, as log records (`log.*` metadata).
func logRecovery(_ report: RecoveryReport, logger: Logger) {
    logger.info("event log opened", metadata: ["log.segments": "\(report.segments)"])
    for cut in report.truncations {
        logger.warning("recovery cut a torn tail", metadata: [
            "segment.path": "\(cut.file)", "segment.offset": "\(cut.offset)", "recovery.bytes": "\(cut.bytes)",
            "recovery.saved_as": "\(cut.savedAs)", "recovery.reason": "\(cut.reason)",
        ])
    }
    for index in report.indexesRebuilt {
        logger.notice("recovery rebuilt an index", metadata: ["index.path": "\(index)"])
    }
}

/// The signal that ended the server (written by the dispatch source).
private final class SignalBox: @unchecked Sendable {
    private let lock = NSLock()
    private var number: Int32 = 0
    func set(_ value: Int32) { lock.lock(); number = value; lock.unlock() }
    var value: Int32 { lock.lock(); defer { lock.unlock() }; return number }
}

extension Logger.Level: @retroactive ExpressibleByArgument {}
