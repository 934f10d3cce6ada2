import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// The one-screen summary `careerlog status` prints and `/api/status`
/// answers (the dashboard's operations strip reads it): log, ingest,
/// projections, PostgreSQL, disk space left.
public struct NodeStatus: Sendable {
    public struct Log: Sendable {
        public var directory: String
        public var headSeq: UInt64
        public var segments: Int
        public var diskBytes: UInt64
        /// The newest event's `time` (ISO 8601), nil for an empty log.
        public var lastEventTime: String?
        public init(directory: String, headSeq: UInt64, segments: Int, diskBytes: UInt64, lastEventTime: String?) {
            self.directory = directory
            self.headSeq = headSeq
            self.segments = segments
            self.diskBytes = diskBytes
            self.lastEventTime = lastEventTime
        }
    }

    public struct Ingest: Sendable {
        /// "tcp 127.0.0.1:7400", "socket /path", or empty when not serving.
        public var listening: [String]
        public var connections: Int
        /// Events stored per second, recently (0 when idle); nil when unknown.
        public var eventsPerSecond: Double?
        public var eventsStored: UInt64
        public var eventsDuplicate: UInt64
        public var eventsRejected: UInt64
        public init(listening: [String], connections: Int, eventsPerSecond: Double?, eventsStored: UInt64, eventsDuplicate: UInt64, eventsRejected: UInt64) {
            self.listening = listening
            self.connections = connections
            self.eventsPerSecond = eventsPerSecond
            self.eventsStored = eventsStored
            self.eventsDuplicate = eventsDuplicate
            self.eventsRejected = eventsRejected
        }
    }

    public var log: Log
    /// nil when no server runs (`careerlog status` on a stopped node).
    public var ingest: Ingest?
    public var health: HealthSnapshot
    /// Where the read models are, without a password.
    public var postgres: String?
    public var disk: DiskSpace?

    public init(log: Log, ingest: Ingest?, health: HealthSnapshot, postgres: String?, disk: DiskSpace?) {
        self.log = log
        self.ingest = ingest
        self.health = health
        self.postgres = postgres
        self.disk = disk
    }

    /// The largest lag over live projections (events, seconds).
    public var projectionLagMax: (events: UInt64, seconds: Double?) {
        let projections = health.projections ?? []
        return (projections.map(\.lagEvents).max() ?? 0, projections.compactMap(\.lagSeconds).max())
    }

    /// `/api/status`: stable keys, snake_case, null for unknown.
    public func json(policy: ReadinessPolicy) -> String {
        let reasons = HealthCheck.readinessReasons(health, policy: policy)
        var members: [String] = []
        members.append(#""ready":\#(reasons.isEmpty),"reasons":[\#(reasons.map(JSONText.string).joined(separator: ","))]"#)
        members.append(#""log":{"directory":\#(JSONText.string(log.directory)),"head_seq":\#(log.headSeq),"segments":\#(log.segments),"#
            + #""disk_bytes":\#(log.diskBytes),"last_event_time":\#(JSONText.optionalString(log.lastEventTime))}"#)
        if let ingest {
            members.append(#""ingest":{"listening":[\#(ingest.listening.map(JSONText.string).joined(separator: ","))],"#
                + #""connections":\#(ingest.connections),"events_per_second":\#(JSONText.number(ingest.eventsPerSecond)),"#
                + #""events_stored":\#(ingest.eventsStored),"events_duplicate":\#(ingest.eventsDuplicate),"events_rejected":\#(ingest.eventsRejected)}"#)
        } else {
            members.append(#""ingest":null"#)
        }
        let lag = projectionLagMax
        let projections = (health.projections ?? []).map { p in
            #"{"name":\#(JSONText.string(p.name)),"state":\#(JSONText.string(p.state)),"lag_events":\#(p.lagEvents),"lag_seconds":\#(JSONText.number(p.lagSeconds))}"#
        }
        members.append(#""projections":[\#(projections.joined(separator: ","))],"projection_lag_events_max":\#(lag.events),"#
            + #""projection_lag_seconds_max":\#(JSONText.number(lag.seconds))"#)
        let reachable = health.postgresReachable.map { $0 ? "true" : "false" } ?? "null"
        members.append(#""postgres":{"where":\#(JSONText.optionalString(postgres)),"reachable":\#(reachable)}"#)
        if let disk {
            members.append(#""disk":{"path":\#(JSONText.string(disk.path)),"free_bytes":\#(disk.freeBytes),"total_bytes":\#(disk.totalBytes)}"#)
        }
        return "{" + members.joined(separator: ",") + "}"
    }

    /// `careerlog status`: one screen, aligned, units spelled out.
    public func text(policy: ReadinessPolicy) -> String {
        var lines: [String] = []
        let reasons = HealthCheck.readinessReasons(health, policy: policy)
        lines.append("ready:        " + (reasons.isEmpty ? "yes" : "no: " + reasons.joined(separator: "; ")))
        lines.append("log:          \(log.directory): \(log.headSeq) events, \(log.segments) segment\(log.segments == 1 ? "" : "s"), "
            + "\(Self.bytes(log.diskBytes)), last event \(log.lastEventTime ?? "-")" + (health.logProblem.map { " (\($0))" } ?? ""))
        if let ingest {
            let rate = ingest.eventsPerSecond.map { String(format: "%.0f events/s", $0) } ?? "rate unknown"
            lines.append("ingest:       \(ingest.listening.isEmpty ? "not listening" : ingest.listening.joined(separator: ", ")); "
                + "\(ingest.connections) connection\(ingest.connections == 1 ? "" : "s"), \(rate); stored \(ingest.eventsStored), "
                + "duplicates \(ingest.eventsDuplicate), rejected \(ingest.eventsRejected)")
        } else {
            lines.append("ingest:       not running")
        }
        lines.append("appender:     " + Self.describe(health.appender))
        if let projections = health.projections {
            lines.append("projections:  \(projections.count)")
            let width = projections.map(\.name.count).max() ?? 0
            for p in projections {
                let seconds = p.lagSeconds.map { String(format: ", %.1f s", $0) } ?? ""
                lines.append("  " + p.name.padding(toLength: width, withPad: " ", startingAt: 0) + "  \(p.state), \(p.lagEvents) events behind\(seconds)")
            }
        } else {
            lines.append("projections:  projector not running")
        }
        let reachable = health.postgresReachable.map { $0 ? "reachable" : "NOT reachable" } ?? "not checked"
        lines.append("postgresql:   \(postgres ?? "-"): \(reachable)")
        if let disk {
            let percent = disk.totalBytes > 0 ? Double(disk.freeBytes) * 100 / Double(disk.totalBytes) : 0
            lines.append("disk:         \(Self.bytes(disk.freeBytes)) free of \(Self.bytes(disk.totalBytes)) (\(String(format: "%.0f", percent))%) at \(disk.path)")
        }
        return lines.joined(separator: "\n") + "\n"
    }

    static func describe(_ state: HealthSnapshot.AppenderState) -> String {
        switch state {
        case .accepting: "accepting"
        case .degraded(let reason): "degraded: \(reason)"
        case .stopped(let reason): "stopped: \(reason)"
        }
    }

    static func bytes(_ value: UInt64) -> String {
        let units = ["B", "KiB", "MiB", "GiB", "TiB"]
        var amount = Double(value)
        var unit = 0
        while amount >= 1024, unit < units.count - 1 {
            amount /= 1024
            unit += 1
        }
        return unit == 0 ? "\(value) B" : String(format: "%.1f", amount) + " " + units[unit]
    }
}

/// Free and total bytes of the filesystem holding a path (statvfs).
public struct DiskSpace: Sendable, Equatable {
    public var path: String
    /// Bytes an unprivileged process may still write.
    public var freeBytes: UInt64
    public var totalBytes: UInt64

    /// nil when `path` cannot be examined.
    public static func of(_ path: String) -> DiskSpace? {
        var info = statvfs()
        guard statvfs(path, &info) == 0 else { return nil }
        let block = UInt64(info.f_frsize)
        return DiskSpace(path: path, freeBytes: UInt64(info.f_bavail) * block, totalBytes: UInt64(info.f_blocks) * block)
    }
}
