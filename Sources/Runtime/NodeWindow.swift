import EventLog
import Foundation
import Ingest
import Logging
import Projector
import Telemetry
import Window

#if canImport(Glibc)
import Glibc
#endif

/// The read models' URL once the projector has resolved it (it may start
/// the embedded cluster first); the window reads it, never resolves it.
public final class ResolvedDatabaseURL: @unchecked Sendable {
    private let lock = NSLock()
    private var url: String?
    public init() {}
    public var value: String? {
        get { lock.withLock { url } }
        set { lock.withLock { url = newValue } }
    }
}

/// What the HTTP window of a node serves, and from where.
public struct NodeWindowConfiguration: Sendable {
    public var server = WindowServer.Configuration()
    public var readiness = ReadinessPolicy()
    /// The projections `/readyz` waits for; nil when the projector is off.
    public var catalog: ProjectionCatalog?
    public var databaseURL = ResolvedDatabaseURL()
    /// The data directory, for the disk space left.
    public var dataDirectory: String
    public var chartLibraryPath = Dashboard.chartLibraryPath

    public init(dataDirectory: String) { self.dataDirectory = dataDirectory }
}

/// Starts a node's HTTP window: `/`, `/assets/chart.js`, `/metrics`,
/// `/healthz`, `/readyz`, `/api/status`, `/api/analytics/NAME`.
public enum NodeWindow {
    public static func start(node: Node, configuration: NodeWindowConfiguration, metrics: CareerlogMetrics, logger: Logger) throws -> WindowServer {
        var routes = WindowRoutes()
        try Dashboard.addRoutes(to: &routes, chartLibraryPath: configuration.chartLibraryPath)
        let probe = NodeProbe(node: node, configuration: configuration, metrics: metrics)
        probe.updateGauges()  // the byte baseline: appended bytes count from here
        StandardRoutes.addMetrics(to: &routes, metrics: metrics) { probe.updateGauges() }
        StandardRoutes.addHealth(to: &routes, policy: configuration.readiness) { probe.health() }
        StandardRoutes.addStatus(to: &routes, policy: configuration.readiness) { try probe.status() }
        let url = configuration.databaseURL
        routes.addPrefix("/api/analytics/") { request in AnalyticsAPI.answer(request, url: url.value) }
        return try WindowServer.start(configuration: configuration.server, routes: routes, logger: logger)
    }
}

/// Reads a running node's state for the window's routes (on handler
/// threads, never on ingest's).
final class NodeProbe: @unchecked Sendable {
    private let node: Node
    private let configuration: NodeWindowConfiguration
    private let metrics: CareerlogMetrics
    private let lock = NSLock()
    // Bytes on disk at the previous scrape: the growth is what was appended
    // (segments are never shrunk while the node runs).
    private var bytesOnDiskSeen: Int64?
    private var rateSample: (time: ContinuousClock.Instant, stored: UInt64)?
    private var rate: Double?

    init(node: Node, configuration: NodeWindowConfiguration, metrics: CareerlogMetrics) {
        self.node = node
        self.configuration = configuration
        self.metrics = metrics
    }

    func health() -> HealthSnapshot {
        healthAndStatusRows().health
    }

    /// The health, and every projection status row it was read from
    /// (shadow schemas too: the gauges show a running rebuild's progress).
    private func healthAndStatusRows() -> (health: HealthSnapshot, rows: [ProjectionStatusRow]) {
        guard let (log, ingest) = node.running else {
            return (HealthSnapshot(logProblem: "the node is not running (starting or stopping)", appender: .stopped(reason: "node not running"),
                                  projections: nil, postgresReachable: nil), [])
        }
        let appender: HealthSnapshot.AppenderState = switch ingest.appenderHealth {
        case .healthy: .accepting
        case .retrying(let error): .degraded(reason: "retrying after a failed write: \(error)")
        case .failed(let error): .stopped(reason: "the log cannot be written safely: \(error)")
        }
        var snapshot = HealthSnapshot(logProblem: logProblem(log), appender: appender, projections: nil, postgresReachable: nil)
        guard let catalog = configuration.catalog else { return (snapshot, []) }
        guard let url = configuration.databaseURL.value else {
            snapshot.postgresReachable = false
            return (snapshot, [])
        }
        do {
            let rows = try ProjectionStatusReport.rows(url: url, log: log, catalog: catalog)
            snapshot.projections = rows.filter { $0.role == "live" }
                .map { .init(name: $0.projection, state: $0.state, lagEvents: $0.lagEvents, lagSeconds: $0.lagSeconds) }
            snapshot.postgresReachable = true
            return (snapshot, rows)
        } catch {
            snapshot.postgresReachable = false
            return (snapshot, [])
        }
    }

    private func logProblem(_ log: EventLog) -> String? {
        guard access(log.directory, W_OK) == 0 else { return "\(log.directory) is not writable" }
        if let disk = DiskSpace.of(log.directory), disk.freeBytes < UInt64(log.limits.segmentBytesMax) {
            return "less than one segment of disk space left at \(log.directory)"
        }
        return nil
    }

    func updateGauges() {
        guard let (log, ingest) = node.running else { return }
        if let stats = try? log.statistics() {
            metrics.logHeadSeq.set(Int64(log.lastSeq))
            metrics.logSegments.set(stats.segments)
            metrics.logDiskBytes.set(stats.bytesOnDisk)
            lock.withLock {
                if let seen = bytesOnDiskSeen, stats.bytesOnDisk > seen { metrics.bytesAppended.increment(by: stats.bytesOnDisk - seen) }
                bytesOnDiskSeen = stats.bytesOnDisk
            }
        }
        metrics.connectionsOpen.set(ingest.connectionCount)
        let (snapshot, rows) = healthAndStatusRows()
        metrics.postgresUp.set(snapshot.postgresReachable == true ? 1 : 0)
        for projection in snapshot.projections ?? [] {
            let handles = metrics.projection(projection.name)
            handles.lagEvents.set(Int64(projection.lagEvents))
            handles.lagSeconds.set(projection.lagSeconds ?? 0)
            handles.setState(ProjectionState(rawValue: projection.state) ?? .missing)
            handles.checkpointSeq.set(Int64(log.lastSeq >= projection.lagEvents ? log.lastSeq - projection.lagEvents : 0))
            updateRebuildProgress(handles, shadow: rows.first { $0.projection == projection.name && $0.role == ProjectionStore.Role.shadow.rawValue })
        }
    }

    /// A rebuild runs in a shadow schema, often from another process
    /// (`careerlog projections rebuild` beside `serve`), so its progress is
    /// read where it commits: the shadow's checkpoint (events done) against
    /// the log's head (events to do). 0 and 0 when no rebuild runs.
    private func updateRebuildProgress(_ handles: ProjectionMetrics, shadow: ProjectionStatusRow?) {
        handles.rebuildEventsDone.set(Int64(shadow?.checkpoint ?? 0))
        handles.rebuildEventsTotal.set(Int64(shadow?.head ?? 0))
    }

    func status() throws -> NodeStatus {
        guard let (log, ingest) = node.running else {
            throw WindowConfigurationError(message: "the node is not running (starting or stopping)")
        }
        let stats = try log.statistics()
        let lastEvent = stats.maxEventTime.map { ISO8601DateFormatter().string(from: Date(timeIntervalSince1970: Double($0) / 1e6)) }
        let appender = ingest.appenderStatistics
        var listening: [String] = []
        if let host = ingest.configuration.tcpHost, let port = ingest.tcpPort { listening.append("tcp \(host):\(port)") }
        if let path = ingest.configuration.unixSocketPath { listening.append("socket \(path)") }
        return NodeStatus(
            log: .init(directory: log.directory, headSeq: log.lastSeq, segments: stats.segments, diskBytes: UInt64(max(0, stats.bytesOnDisk)), lastEventTime: lastEvent),
            ingest: .init(listening: listening, connections: ingest.connectionCount, eventsPerSecond: eventsPerSecond(appender.eventsStored),
                          eventsStored: appender.eventsStored, eventsDuplicate: appender.duplicates, eventsRejected: ingest.linesRejected),
            health: health(), postgres: configuration.databaseURL.value.map(Self.withoutPassword),
            disk: DiskSpace.of(configuration.dataDirectory))
    }

    /// Events stored per second between this call and the previous one at
    /// least a second earlier (0 when idle).
    private func eventsPerSecond(_ stored: UInt64) -> Double? {
        lock.withLock {
            let now = ContinuousClock.now
            guard let sample = rateSample else {
                rateSample = (now, stored)
                return nil
            }
            let elapsed = now - sample.time
            if elapsed >= .seconds(1) {
                let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
                rate = Double(stored - sample.stored) / seconds
                rateSample = (now, stored)
            }
            return rate
        }
    }

    /// postgresql://user:secret@host/db -> postgresql://user@host/db
    static func withoutPassword(_ url: String) -> String {
        guard let scheme = url.range(of: "://"), let at = url.range(of: "@", range: scheme.upperBound..<url.endIndex),
              let colon = url.range(of: ":", range: scheme.upperBound..<at.lowerBound) else { return url }
        return String(url[..<colon.lowerBound]) + String(url[at.lowerBound...])
    }
}

extension NodeWindowConfiguration {
    /// Serves on `host`:`port`, with TLS when the door has a context (the
    /// same certificate, mutual TLS included) and `readToken` as the bearer
    /// token. Beyond loopback both are required (`ListenPolicy.checkHTTP`),
    /// unless `insecureListen`, which starts with a warning logged.
    public mutating func listen(
        host: String, port: Int, tls: TLSServerContext?, readToken: String?, insecureListen: Bool, logger: Logger?
    ) throws(DoorStartError) {
        server.host = host
        server.port = port
        server.readToken = readToken
        if let tls { server.tlsHandler = { tls.makeServerHandler() } }
        switch ListenPolicy.checkHTTP(host: host, port: port, tls: tls != nil, token: readToken != nil, insecureListen: insecureListen) {
        case .allowed: break
        case .allowedInsecurely(let warning): logger?.warning("\(warning)")
        case .refused(let message): throw DoorStartError(message: message)
        }
    }
}
