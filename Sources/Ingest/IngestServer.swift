import CareerEvents
import EventLog
import struct EventLog.LogEvent
import Foundation
import StoredEventCodec
import Logging
import Telemetry
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// The ingest server: NDJSON events in over TCP and/or a Unix socket, one
/// answer line per line out, each acknowledgement sent only once its event
/// is durable.
///
/// Protocol (README.md, "Sending events", says the same for users):
///
///     -> one envelope per line, UTF-8 JSON, "\n" or "\r\n"
///     <- one answer per non-blank line, in the order of the lines:
///        {"ok":true,"id":"…","seq":123}                       stored, durable
///        {"ok":true,"id":"…","seq":100,"duplicate":true}      stored earlier at 100
///        {"ok":false,"id":"…"|null,"line":7,"error":"schema","message":"data.level: …"}
///
/// - `error` is parse, too_large, unknown_type or schema (the line is wrong:
///   the same line gets the same answer), or overloaded or unavailable
///   (nothing was stored: send it again later; the id makes that safe), or
///   line_timeout (the line took longer than `lineDeadlineMs`; then close).
///   "Not stored" is always true: an answer follows the log's durable end.
/// - Blank lines (empty, or only spaces and tabs) count in `line` but get no
///   answer. `line` is 1-based per connection; `line` 0 is about the
///   connection itself (overloaded: too many connections; too_many_rejected;
///   idle_timeout), and the server closes the connection after it.
/// - Clients pipeline: write lines without waiting. A connection with
///   `unacknowledgedLinesMax` unanswered lines is not read until its answers
///   are written (backpressure). After the client shuts down its sending
///   side, the server answers every line and closes.
///
/// Threads: `eventLoopThreads` SwiftNIO event loops frame, decode and
/// validate lines and write answers; one appender thread
/// (`GroupCommitAppender`) dedupes, appends and syncs. The caller owns the
/// log: it opens it before `start` and closes it after `shutdown`.
public final class IngestServer: Sendable {
    public struct Configuration: Sendable {
        /// TCP host and port; port 0 picks a free port (see `tcpPort`).
        public var tcpHost: String? = "127.0.0.1"
        public var tcpPort = 7400
        /// The Unix socket's path; nil for none.
        public var unixSocketPath: String?
        /// Permissions of the socket file: owner and group may connect.
        public var unixSocketMode: mode_t = 0o660
        public var limits = IngestLimits()
        /// Event loops; one per core by default.
        public var eventLoopThreads = System.coreCount
        /// Where the appender records stored and duplicate events, group
        /// sizes and append+fdatasync latency; nil records nothing.
        public var metrics: CareerlogMetrics?
        /// Seals PII before it is appended and crypto-shreds on erasure
        /// (nil: data stored as it came, only for tests and benchmarks).
        public var sealer: EventSealer?
        /// Raise the process's open-file soft limit to its hard limit on
        /// start (tests that lower the limit on purpose turn this off).
        public var raiseOpenFileLimit = true
        /// TLS on the TCP listener and the producers file (README.md,
        /// "Running it on a network"); `.open` has neither.
        public var door: IngestDoor = .open

        public init() {}
    }

    private struct Registry {
        var channels: [ObjectIdentifier: any Channel] = [:]
        var draining = false
        /// Refused connections still writing their `overloaded` line.
        var refusing = 0
    }

    /// Refused connections that may be writing their one line at once; past
    /// this a refused connection is closed without it. Each holds a
    /// descriptor for a moment, and they come out of `descriptorsReserved`:
    /// half of it, so the log always keeps the other half.
    static func refusalsInFlightMax(_ limits: IngestLimits) -> Int { limits.descriptorsReserved / 2 }

    public let configuration: Configuration
    /// The TCP port actually bound (differs from the configured one for 0).
    public let tcpPort: Int?
    /// The connection limit in force: `connectionsMax`, or less when the
    /// open-file limit leaves fewer descriptors after the reserve.
    public let effectiveConnectionsMax: Int
    private let budget: InputBudget
    private let group: MultiThreadedEventLoopGroup
    private let appender: GroupCommitAppender
    private let listeners: [any Channel]
    private let registry: NIOLockedValueBox<Registry>
    private let rejections: RejectedLineCount
    private let stopped = NIOLockedValueBox(false)
    private let logger: Logger

    private init(
        configuration: Configuration, tcpPort: Int?, connectionsMax: Int, budget: InputBudget, group: MultiThreadedEventLoopGroup,
        appender: GroupCommitAppender, listeners: [any Channel], registry: NIOLockedValueBox<Registry>,
        rejections: RejectedLineCount, logger: Logger
    ) {
        self.rejections = rejections
        self.configuration = configuration
        self.tcpPort = tcpPort
        self.effectiveConnectionsMax = connectionsMax
        self.budget = budget
        self.group = group
        self.appender = appender
        self.listeners = listeners
        self.registry = registry
        self.logger = logger
    }

    /// Starts the appender and the listeners. `window` must have been loaded
    /// from `log` (`DedupeWindow.load`), so duplicates are found across
    /// restarts. `validate` is the same check `careerlog log import` uses.
    public static func start(
        log: EventLog, window: DedupeWindow, validate: EnvelopeValidator?, configuration: Configuration, logger: Logger
    ) throws -> IngestServer {
        try configuration.limits.validate()
        try configuration.door.limits.validate()
        guard configuration.tcpHost != nil || configuration.unixSocketPath != nil else {
            throw IngestConfigurationError(message: "nothing to listen on: enable TCP or the Unix socket")
        }
        guard configuration.eventLoopThreads >= 1 else {
            throw IngestConfigurationError(message: "at least one event loop thread is needed")
        }
        if configuration.raiseOpenFileLimit { OpenFiles.raiseSoftLimit(logger: logger) }
        MemoryReturn.useMappedLargeBuffers()
        let appender = GroupCommitAppender(
            log: log, window: window, limits: configuration.limits, logger: logger, metrics: configuration.metrics,
            sealer: configuration.sealer, deliver: deliverToEventLoops)
        appender.start()
        let group = MultiThreadedEventLoopGroup(numberOfThreads: configuration.eventLoopThreads)
        let connectionsMax: Int
        do {
            let listenerCount = (configuration.tcpHost != nil ? 1 : 0) + (configuration.unixSocketPath != nil ? 1 : 0)
            connectionsMax = try OpenFiles.connectionsMax(limits: configuration.limits, listeners: listenerCount, logger: logger)
        } catch {
            appender.stop()
            try? group.syncShutdownGracefully()
            throw error
        }
        let budget = InputBudget(bytesMax: configuration.limits.bufferedBytesMax)
        let registry = NIOLockedValueBox(Registry())
        let rejections = RejectedLineCount()
        let bootstrap = makeBootstrap(
            group: group, registry: registry, rejections: rejections, appender: appender, budget: budget, validate: validate,
            limits: configuration.limits, connectionsMax: connectionsMax, eventBytesMax: log.limits.eventBytesMax, logger: logger,
            metrics: configuration.metrics, door: configuration.door)

        var listeners: [any Channel] = []
        var tcpPort: Int?
        do {
            if let host = configuration.tcpHost {
                let channel = try bootstrap.bind(host: host, port: configuration.tcpPort).wait()
                listeners.append(channel)
                tcpPort = channel.localAddress?.port
            }
            if let path = configuration.unixSocketPath {
                try removeStaleSocket(path)
                listeners.append(try bindUnixSocket(bootstrap, path: path, mode: configuration.unixSocketMode))
            }
        } catch {
            for listener in listeners { try? listener.close().wait() }
            appender.stop()
            try? group.syncShutdownGracefully()
            throw error
        }
        let server = IngestServer(
            configuration: configuration, tcpPort: tcpPort, connectionsMax: connectionsMax, budget: budget, group: group,
            appender: appender, listeners: listeners, registry: registry, rejections: rejections, logger: logger)
        logger.info("ingest server listening", metadata: [
            "listen.tcp": "\(configuration.tcpHost.map { "\($0):\(tcpPort ?? 0)" } ?? "off")",
            "listen.socket": "\(configuration.unixSocketPath ?? "off")",
            "log.last_seq": "\(log.lastSeq)", "dedupe.window": "\(window.capacity)", "dedupe.loaded": "\(window.count)",
            "event_loops": "\(configuration.eventLoopThreads)",
            "tls": "\(configuration.door.tls != nil)", "producers": "\(configuration.door.producers?.current.producers.count ?? 0)",
        ])
        return server
    }

    /// Lines answered with an error since start (any reason), across
    /// connections: what `careerlog status` shows as rejected.
    public var linesRejected: UInt64 { rejections.value }

    /// Open connections.
    public var connectionCount: Int { registry.withLockedValue { $0.channels.count } }

    /// Bytes of unfinished lines buffered now, across connections (never
    /// more than `bufferedBytesMax`).
    public var bufferedInputBytes: Int { budget.usedBytes }

    /// The most `bufferedInputBytes` has been since start.
    public var bufferedInputBytesPeak: Int { budget.peakBytes }

    /// The appender's state, for status and health.
    public var appenderHealth: GroupCommitAppender.Health { appender.health }

    /// Syncs, groups and events so far (the benchmark reads fsyncs/s here).
    public var appenderStatistics: GroupCommitAppender.Statistics { appender.statistics }

    /// The appender, for tests that need to hold groups back.
    var appenderForTesting: GroupCommitAppender { appender }

    /// Stops accepting, lets every connection receive the answers to the
    /// lines it sent (up to `drainTimeoutMs`), commits what is queued, and
    /// stops the threads. The log stays open: the caller closes it.
    /// Idempotent; blocks until done, so it must not run on an event loop.
    /// The dedupe window as the appender left it, once `shutdown()`
    /// returned: what a clean stop saves (`DedupeSnapshot`) for the next start.
    public var dedupeWindowAfterShutdown: DedupeWindow? { appender.windowAfterStop }

    public func shutdown() {
        precondition(MultiThreadedEventLoopGroup.currentEventLoop == nil, "IngestServer.shutdown() blocks; call it off the event loops")
        let alreadyStopped = stopped.withLockedValue { stopped in
            defer { stopped = true }
            return stopped
        }
        guard !alreadyStopped else { return }
        logger.info("ingest server stopping", metadata: ["connections": "\(connectionCount)"])
        for listener in listeners { try? listener.close().wait() }
        if let path = configuration.unixSocketPath { unlink(path) }

        let channels = registry.withLockedValue { registry in
            registry.draining = true
            return Array(registry.channels.values)
        }
        for channel in channels { channel.pipeline.fireUserInboundEventTriggered(IngestDrainEvent()) }
        let deadline = NIODeadline.now() + .milliseconds(Int64(configuration.limits.drainTimeoutMs))
        for channel in channels {
            let closed = channel.closeFuture
            let remaining = deadline - .now()
            if remaining > .zero {
                let timeout = channel.eventLoop.scheduleTask(in: remaining) { channel.close(promise: nil) }
                try? closed.wait()
                timeout.cancel()
            } else {
                channel.close(promise: nil)
                try? closed.wait()
            }
        }
        appender.stop()
        try? group.syncShutdownGracefully()
        let stats = appender.statistics
        logger.info("ingest server stopped", metadata: [
            "events.stored": "\(stats.eventsStored)", "events.duplicates": "\(stats.duplicates)", "appender.syncs": "\(stats.syncs)",
        ])
    }

    // MARK: - Wiring

    private static func makeBootstrap(
        group: MultiThreadedEventLoopGroup, registry: NIOLockedValueBox<Registry>, rejections: RejectedLineCount, appender: GroupCommitAppender,
        budget: InputBudget, validate: EnvelopeValidator?, limits: IngestLimits, connectionsMax: Int, eventBytesMax: Int,
        logger: Logger, metrics: CareerlogMetrics?, door: IngestDoor
    ) -> ServerBootstrap {
        ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: 256)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.allowRemoteHalfClosure, value: true)
            // Acks are small writes; never hold one back for Nagle (ignored on Unix sockets).
            .childChannelOption(.tcpOption(.tcp_nodelay), value: 1)
            .childChannelOption(.writeBufferWaterMark, value: .init(low: limits.writeBufferLowBytes, high: limits.writeBufferHighBytes))
            .childChannelInitializer { channel in
                let id = ObjectIdentifier(channel)
                enum Admission { case admitted, refused, dropped }
                let admission = registry.withLockedValue { registry -> Admission in
                    if !registry.draining, registry.channels.count < connectionsMax {
                        registry.channels[id] = channel
                        return .admitted
                    }
                    guard registry.refusing < refusalsInFlightMax(limits) else { return .dropped }
                    registry.refusing += 1
                    return .refused
                }
                return channel.eventLoop.makeCompletedFuture {
                    let pipeline = channel.pipeline.syncOperations
                    switch admission {
                    case .admitted:
                        break
                    case .refused:
                        logger.warning("connection refused: too many connections", metadata: ["connections.max": "\(connectionsMax)"])
                        channel.closeFuture.whenComplete { _ in registry.withLockedValue { $0.refusing -= 1 } }
                        try pipeline.addHandler(ConnectionRefusalHandler(rejection: IngestRejection(
                            id: nil, line: 0, code: .overloaded,
                            message: "too many connections (the limit is \(connectionsMax)); try again later")))
                        return
                    case .dropped:
                        // A flood: even the refusal line would take descriptors from the reserve.
                        channel.close(promise: nil)
                        return
                    }
                    channel.closeFuture.whenComplete { _ in
                        registry.withLockedValue { _ = $0.channels.removeValue(forKey: id) }
                    }
                    try addDoor(door, to: channel, logger: logger)
                    try pipeline.addHandler(IngestConnectionHandler(
                        limits: limits, appender: appender, budget: budget, validate: validate, eventBytesMax: eventBytesMax,
                        logger: logger, metrics: metrics, rejections: rejections, authorizer: door.producers))
                }
            }
    }

    /// TLS first on a TCP connection when the door has it (the Unix socket
    /// stays plain: its file mode guards it), then the gate when there is a
    /// producers file.
    private static func addDoor(_ door: IngestDoor, to channel: any Channel, logger: Logger) throws {
        let pipeline = channel.pipeline.syncOperations
        var isUnixSocket = false
        if case .unixDomainSocket? = channel.localAddress { isUnixSocket = true }
        if !isUnixSocket, let tls = door.tls { try pipeline.addHandler(tls.makeServerHandler()) }
        if door.producers != nil { try pipeline.addHandler(DoorGateHandler(door: door, logger: logger)) }
    }

    /// Hands each group's outcomes to the connections' event loops: one task
    /// per event loop per group, not one per connection.
    private static func deliverToEventLoops(_ completions: [AppendCompletion]) {
        var perLoop: [(loop: any EventLoop, items: [(NIOLoopBound<IngestConnectionHandler>, [AppendOutcome])])] = []
        for completion in completions {
            let waiter = completion.waiter as! ConnectionWaiter
            let item = (waiter.handler, completion.outcomes)
            if let i = perLoop.firstIndex(where: { $0.loop === waiter.eventLoop }) {
                perLoop[i].items.append(item)
            } else {
                perLoop.append((waiter.eventLoop, [item]))
            }
        }
        for (loop, items) in perLoop {
            loop.execute {
                for (handler, outcomes) in items { handler.value.appended(outcomes) }
            }
        }
    }

    /// Binds the Unix socket inside a fresh directory only this user may
    /// enter, gives it `mode`, then renames it to `path`: the socket never
    /// exists at `path` with the umask's permissions, and nobody else can
    /// connect through the staging directory meanwhile (a umask change
    /// would do the same but is process-wide: other threads' files and
    /// directories would get it too).
    private static func bindUnixSocket(_ bootstrap: ServerBootstrap, path: String, mode: mode_t) throws -> any Channel {
        let parent = (path as NSString).deletingLastPathComponent
        var template = Array(((parent.isEmpty ? "." : parent) + "/.sXXXXXX").utf8CString)
        // sun_path holds 107 bytes and a NUL; the staging name adds 11 to the directory.
        let stagingPathBytesMax = 107
        guard template.count - 1 + 2 <= stagingPathBytesMax else {
            throw IngestConfigurationError(message:
                "the socket path \(path) is too long: its directory must be at most \(stagingPathBytesMax - 11) bytes; choose a shorter --socket path")
        }
        guard mkdtemp(&template) != nil else {
            throw IngestConfigurationError(message: "cannot create a directory beside \(path): \(String(cString: strerror(errno)))")
        }
        let staging = String(decoding: template.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        defer { rmdir(staging) }
        let stagingPath = staging + "/s"
        let channel = try bootstrap.bind(unixDomainSocketPath: stagingPath).wait()
        func fail(_ what: String) -> IngestConfigurationError {
            let reason = String(cString: strerror(errno))
            channel.close(promise: nil)
            unlink(stagingPath)
            return IngestConfigurationError(message: "cannot \(what) \(path): \(reason)")
        }
        guard chmod(stagingPath, mode) == 0 else { throw fail("set the mode of") }
        guard rename(stagingPath, path) == 0 else { throw fail("move the new socket to") }
        return channel
    }

    /// A socket file left by a server that died is removed; a live one (a
    /// server answers) or a file that is not a socket stops start-up.
    private static func removeStaleSocket(_ path: String) throws {
        var info = stat()
        guard lstat(path, &info) == 0 else { return }
        guard info.st_mode & S_IFMT == S_IFSOCK else {
            throw IngestConfigurationError(message: "\(path) exists and is not a socket; remove it or choose another --socket path")
        }
        if let probe = try? IngestSocket(endpoint: .unix(path: path)) {
            probe.close()
            throw IngestConfigurationError(message: "another server is listening on \(path)")
        }
        guard unlink(path) == 0 || errno == ENOENT else {
            throw IngestConfigurationError(message: "cannot remove the stale socket \(path): \(String(cString: strerror(errno)))")
        }
    }
}

/// Lines rejected across connections: one atomic add per answer write
/// (a batch of answers), not per line.
final class RejectedLineCount: Sendable {
    private let count = Atomic<UInt64>(0)

    func add(_ lines: Int) {
        count.add(UInt64(lines), ordering: .relaxed)
    }

    var value: UInt64 { count.load(ordering: .relaxed) }
}
