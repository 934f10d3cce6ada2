import CareerEvents
import Dispatch
import EventLog
import Foundation
import Ingest
import Logging
import NIOCore
import Telemetry

/// A careerlog node: the event log, the ingest server in front of it and,
/// optionally, the projector behind it, started and drained in one order.
///
///     start():  open + recover the log -> load dedupe -> ingest listening
///               -> projector thread (resolves PostgreSQL itself)
///     drain:    stop request -> ingest stops accepting, answers and commits
///               what it received -> projector stops -> its database is
///               released (`ProjectorConfiguration.release`) -> log closed
///
/// The projector starts after ingest is listening and resolves its
/// database on its own thread, so ingest never waits for PostgreSQL; it
/// stops before the log closes, so it never reads a closed log.
public final class Node: @unchecked Sendable {
    /// Everything a node needs; the command line builds it from options.
    public struct Configuration: Sendable {
        /// The event log's directory (`<data-dir>/log`).
        public var logDirectory: String
        public var logLimits: LogLimits
        /// How many of the newest events' ids are remembered to answer
        /// duplicates, across restarts (loaded from the log on start).
        public var dedupeWindowEvents: Int
        /// Where to listen, limits, event loop threads.
        public var ingest: IngestServer.Configuration
        /// The schema check every event passes before it is appended.
        public var validate: EnvelopeValidator?
        /// The read models; nil runs ingest only.
        public var projector: ProjectorConfiguration?
        /// Recompress sealed segments in the background (LZ4 HC with a
        /// dictionary, segment format v2) while the node runs; false keeps
        /// them as written (`careerlog log compact` can do it later).
        public var recompressSealedSegments = true

        /// The node's metrics: ingest and the projector record into this
        /// one registry (kept in `ingest.metrics`, which the ingest server
        /// reads); nil records nothing.
        public var metrics: CareerlogMetrics? {
            get { ingest.metrics }
            set { ingest.metrics = newValue }
        }

        public init(
            logDirectory: String, logLimits: LogLimits = LogLimits(), dedupeWindowEvents: Int = 10_000_000,
            ingest: IngestServer.Configuration = IngestServer.Configuration(), validate: EnvelopeValidator?,
            projector: ProjectorConfiguration? = nil
        ) {
            self.logDirectory = logDirectory
            self.logLimits = logLimits
            self.dedupeWindowEvents = dedupeWindowEvents
            self.ingest = ingest
            self.validate = validate
            self.projector = projector
        }
    }

    /// What a started node tells whoever started it.
    public struct ReadyInfo: Sendable, Equatable {
        /// The TCP address actually bound (port 0 resolved), nil without TCP.
        public var tcp: IngestEndpoint?
        /// The Unix socket's path, nil without one.
        public var socketPath: String?
        /// The last durable seq when ingest started.
        public var lastSeq: UInt64

        /// `{"tcp":"HOST:PORT","socket":"PATH","last_seq":N}`, nulls for
        /// what is off: the line `serve` prints when ready.
        public var jsonLine: String {
            let tcp = tcp.map { JSONValue.string($0.description).compactString } ?? "null"
            let socket = socketPath.map { JSONValue.string($0).compactString } ?? "null"
            return #"{"tcp":\#(tcp),"socket":\#(socket),"last_seq":\#(lastSeq)}"#
        }
    }

    private enum State {
        case created
        case starting
        case running(EventLog, IngestServer)
        case draining
        case stopped
    }

    public let configuration: Configuration
    /// The node's stop request: `stop()` sets it; so may signals routed to
    /// it (`StopSignal.trap`) when the caller passed its own.
    public let stopSignal: StopSignal
    private let logger: Logger
    // Guards `state` and `closeError`; `waitUntilStopped` callers sleep on it.
    private let condition = NSCondition()
    private var state = State.created
    private var closeError: NodeError?
    /// Recompresses sealed segments in the background while the node runs.
    private var recompressor: BackgroundRecompressor?
    // The projector's own stop, requested only once ingest has drained, so
    // it keeps projecting what the drain commits; it leaves `projectorDone`
    // when its thread ends.
    let projectorStop = StopSignal()
    let projectorDone = DispatchGroup()

    /// A node that will log to `logger` and stop when `stopSignal` is
    /// requested (by `stop()` or whoever else holds it).
    public init(configuration: Configuration, logger: Logger, stopSignal: StopSignal = StopSignal()) {
        self.configuration = configuration
        self.logger = logger
        self.stopSignal = stopSignal
    }

    /// The recompressor started with the node; nil before start and when
    /// the configuration turns it off.
    var backgroundRecompressor: BackgroundRecompressor? { condition.withLock { recompressor } }

    /// Opens and recovers the log, loads the dedupe window, starts ingest
    /// and then the projector. Returns once ingest accepts connections.
    /// Errors opening the log or loading dedupe are rethrown as they are
    /// (`LogError`); a server that cannot start throws
    /// `NodeError(.ingestNotStarted)` after closing the log. Call once.
    public func start() throws -> ReadyInfo {
        try condition.withLock {
            guard case .created = state else { throw NodeError(.alreadyStarted, "start() was called on a node that was already started") }
            state = .starting
        }
        let log: EventLog, server: IngestServer
        do {
            (log, server) = try openLogAndListen()
        } catch {
            condition.withLock { state = .stopped; condition.broadcast() }
            throw error
        }
        let recompressor = configuration.recompressSealedSegments ? BackgroundRecompressor(log: log, onSegment: { [logger] report in
            logger.info("sealed segment recompressed", metadata: [
                "segment": "\(report.segments.joined(separator: ","))", "bytes.before": "\(report.bytesBefore)",
                "bytes.after": "\(report.bytesAfter)", "segments.left": "\(report.remaining)"])
        }, onError: { [logger] error in
            logger.warning("recompressing a sealed segment failed; it stays as it was and is tried again later", metadata: ["error": "\(error)"])
        }) : nil
        condition.withLock { state = .running(log, server); self.recompressor = recompressor; condition.broadcast() }
        recompressor?.start()
        let ready = ReadyInfo(
            tcp: configuration.ingest.tcpHost.map { .tcp(host: $0, port: server.tcpPort ?? 0) },
            socketPath: configuration.ingest.unixSocketPath, lastSeq: log.lastSeq)
        if let projector = configuration.projector {
            startProjector(projector, log: log, projectorDone: projectorDone, logger: logger)
        }
        return ready
    }

    /// The open log and the ingest server while the node runs (nil before
    /// start and from the drain on): what the HTTP window reads.
    public var running: (log: EventLog, ingest: IngestServer)? {
        condition.withLock {
            if case .running(let log, let server) = state { (log, server) } else { nil }
        }
    }

    /// Asks the node to stop; returns at once. The drain runs in
    /// `waitUntilStopped()`. Safe from any thread, any number of times.
    public func stop() { stopSignal.request() }

    /// Blocks until a stop is requested, then drains in order: ingest stops
    /// accepting and answers every line it received, the projector stops,
    /// the log is synced and closed. Every caller returns once the drain is
    /// over; throws `NodeError(.logNotClosed)` when closing the log failed.
    /// Returns at once when the node is already stopped (its `start()`
    /// failed, or an earlier drain finished).
    public func waitUntilStopped() throws {
        if condition.withLock({ if case .stopped = state { true } else { false } }) {
            if let closeError = condition.withLock({ closeError }) { throw closeError }
            return
        }
        let reason = stopSignal.wait()
        let running: (EventLog, IngestServer)? = condition.withLock {
            while case .starting = state { condition.wait() }
            guard case .running(let log, let server) = state else { return nil }
            state = .draining
            return (log, server)
        }
        if let (log, server) = running {
            drain(log: log, server: server, reason: reason)
        }
        try condition.withLock {
            while case .draining = state { condition.wait() }
            if let closeError { throw closeError }
        }
    }

    private func drain(log: EventLog, server: IngestServer, reason: StopSignal.Reason) {
        switch reason {
        case .signal: logger.info("stopping on signal", metadata: ["signal": "\(reason)"])
        case .requested: logger.info("stopping on request")
        }
        server.shutdown()
        saveDedupeSnapshot(server)
        if let projector = configuration.projector {
            projectorStop.request()
            projectorDone.wait()
            logger.info("projector stopped")
            projector.release?()
        }
        condition.withLock { recompressor }?.stop()
        var failure: NodeError?
        do {
            try log.close()
            logger.info("log closed", metadata: ["log.last_seq": "\(log.lastSeq)"])
        } catch {
            logger.error("closing the log failed", metadata: ["error": "\(error)"])
            failure = NodeError(.logNotClosed, "closing the event log failed: \(error); it recovers on the next start", underlying: error)
        }
        condition.withLock {
            closeError = failure
            state = .stopped
            condition.broadcast()
        }
    }

    private func openLogAndListen() throws -> (EventLog, IngestServer) {
        let data = DataDirectory(path: (configuration.logDirectory as NSString).deletingLastPathComponent)
        if try ExistingLogSealing.removeLeftover(data) {
            logger.warning("deleted what an interrupted privacy seal-existing left", metadata: ["path": "\(ExistingLogSealing.workDirectory(data))"])
        }
        let log = try EventLog.open(directory: configuration.logDirectory, limits: configuration.logLimits)
        logRecovery(log.recovery, logger: logger)
        do {
            try reapplyErasures(log)
            let window = try loadDedupe(log)
            return (log, try startIngest(log: log, window: window))
        } catch {
            try? log.close()
            throw error
        }
    }

    /// An erasure appended just before a crash may not have destroyed its
    /// key yet: destroy it before anything is read or acknowledged.
    private func reapplyErasures(_ log: EventLog) throws {
        guard let sealer = configuration.ingest.sealer else { return }
        let applied = try sealer.reapplyErasures(log: log)
        if applied > 0 {
            logger.notice("re-applied erasures the key store had not recorded (a crash between append and key destruction)",
                          metadata: ["keys.erasures_reapplied": "\(applied)"])
        }
    }

    /// `<data-dir>/dedupe.snapshot`: the window saved at the last clean stop.
    private var dedupeSnapshotPath: String {
        (configuration.logDirectory as NSString).deletingLastPathComponent + "/dedupe.snapshot"
    }

    /// The window from the last clean stop's snapshot when it checks out
    /// against the log, else rebuilt from the log (the truth either way).
    private func loadDedupe(_ log: EventLog) throws -> DedupeWindow {
        let loadStart = ContinuousClock.now
        var source = "snapshot"
        let window: DedupeWindow
        do {
            window = try DedupeSnapshot.load(from: dedupeSnapshotPath, log: log, capacity: configuration.dedupeWindowEvents)
        } catch {
            source = "log"
            if FileManager.default.fileExists(atPath: dedupeSnapshotPath) {
                logger.warning("dedupe snapshot not used; reading the window from the log", metadata: ["reason": "\(error)"])
            }
            window = try DedupeWindow.load(from: log, capacity: configuration.dedupeWindowEvents)
        }
        logger.info("dedupe window loaded from the \(source)", metadata: [
            "dedupe.events": "\(window.count)",
            "dedupe.seconds": "\(String(format: "%.2f", (ContinuousClock.now - loadStart).secondsValue))",
            "log.last_seq": "\(log.lastSeq)",
        ])
        return window
    }

    /// Saves the window for a fast next start; a failure costs only that.
    private func saveDedupeSnapshot(_ server: IngestServer) {
        guard let window = server.dedupeWindowAfterShutdown else { return }
        let start = ContinuousClock.now
        do {
            try DedupeSnapshot.write(window, to: dedupeSnapshotPath)
            logger.info("dedupe snapshot saved", metadata: [
                "dedupe.events": "\(window.count)",
                "dedupe.seconds": "\(String(format: "%.2f", (ContinuousClock.now - start).secondsValue))"])
        } catch {
            logger.warning("dedupe snapshot not saved; the next start reads the window from the log", metadata: ["reason": "\(error)"])
        }
    }

    private func startIngest(log: EventLog, window: DedupeWindow) throws -> IngestServer {
        do {
            return try IngestServer.start(
                log: log, window: window, validate: configuration.validate, configuration: configuration.ingest, logger: logger)
        } catch {
            let message = Self.listenFailure(error, configuration: configuration.ingest)
            logger.critical("cannot start the server", metadata: ["error": "\(message)"])
            throw NodeError(.ingestNotStarted, message, underlying: error)
        }
    }

    /// One line for a server that could not start: an address in use names
    /// the address and the way out instead of NIO's raw bind error.
    static func listenFailure(_ error: any Error, configuration: IngestServer.Configuration) -> String {
        guard let io = error as? IOError, io.errnoCode == EADDRINUSE else { return "cannot start the server: \(error)" }
        if let host = configuration.tcpHost {
            let address = IngestEndpoint.tcp(host: host, port: configuration.tcpPort)
            return "cannot listen on \(address): the address is already in use (is another careerlog serve running?); stop that server, or listen elsewhere with --listen HOST:PORT (port 0 picks a free port)"
        }
        let path = configuration.unixSocketPath ?? "the Unix socket"
        return "cannot listen on \(path): the address is already in use; stop the server using it, or give another --socket PATH"
    }
}

/// What went wrong starting or stopping a node.
public struct NodeError: Error, Sendable, CustomStringConvertible {
    /// Extensible: new codes are new static members, not a breaking change.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        public let description: String
        private init(_ description: String) { self.description = description }
        /// The ingest server could not listen (address in use, bad socket path, limits).
        public static let ingestNotStarted = Code("ingest_not_started")
        /// Closing the event log failed while draining.
        public static let logNotClosed = Code("log_not_closed")
        /// `start()` was called twice.
        public static let alreadyStarted = Code("already_started")
        /// The HTTP window could not listen (address in use, bad address, a
        /// missing dashboard asset); the node was drained again.
        public static let windowNotStarted = Code("window_not_started")
    }

    public var code: Code
    /// What happened and what to do, without event data.
    public var message: String
    /// The error of the library below, when there is one.
    public var underlying: (any Error)?

    public init(_ code: Code, _ message: String, underlying: (any Error)? = nil) {
        self.code = code
        self.message = message
        self.underlying = underlying
    }

    public var description: String { message }
}

/// What recovery did, as log records (`log.*` metadata).
func logRecovery(_ report: RecoveryReport, logger: Logger) {
    logger.info("event log opened", metadata: ["log.segments": "\(report.segments)"])
    for cut in report.truncations {
        logger.warning("recovery cut a torn tail", metadata: [
            "segment.path": "\(cut.file)", "segment.offset": "\(cut.offset)", "recovery.bytes": "\(cut.bytes)",
            "recovery.saved_as": "\(cut.savedAs ?? "not kept: no space left")", "recovery.reason": "\(cut.reason)",
        ])
    }
    for index in report.indexesRebuilt {
        logger.notice("recovery rebuilt an index", metadata: ["index.path": "\(index)"])
    }
}
