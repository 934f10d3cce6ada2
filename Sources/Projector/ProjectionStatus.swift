import EventLog
import Foundation
import StoredEventCodec
import Postgres

/// One line of `careerlog projections status`.
public struct ProjectionStatusRow: Sendable {
    public var projection: String
    public var schema: String
    public var role: String
    public var version: Int
    public var checkpoint: UInt64
    public var head: UInt64
    public var lagEvents: UInt64
    /// Recorded-time distance between the log's head and the checkpoint.
    public var lagSeconds: Double?
    /// The rate of the latest batch while batches are recent; 0 once the
    /// projection has been idle for `recentRateSecondsMax`.
    public var eventsPerSecond: Double?
    /// live, rebuilding, stale, failed, building, as-of (a finished as-of
    /// build: frozen, never live), or missing (not created yet).
    public var state: String
    public var failedSeq: UInt64?
    public var failedReason: String?
}

public enum ProjectionStatusReport {
    /// A batch rate older than this, in seconds, is no longer "recent": a
    /// projector commits at least every few seconds while it has work.
    public static let recentRateSecondsMax = 10.0

    /// Every projection of the catalog and every schema the projector
    /// writes, with lag against the log's head.
    public static func rows(url: String, log: EventLog, catalog: ProjectionCatalog) throws -> [ProjectionStatusRow] {
        let c = try PostgresConnection(url: url)
        try ProjectionStore.prepare(c)
        let targets = try ProjectionStore.targets(c)
        let head = log.lastSeq
        let headRecorded = try headRecordedTime(log)
        var rows: [ProjectionStatusRow] = []
        for definition in catalog.definitions where !targets.contains(where: { $0.projection == definition.name && $0.role == .live }) {
            rows.append(ProjectionStatusRow(projection: definition.name, schema: definition.name, role: "live", version: definition.version,
                                            checkpoint: 0, head: head, lagEvents: head, lagSeconds: nil, eventsPerSecond: nil, state: "missing"))
        }
        for target in targets {
            var state = target.state.rawValue
            if target.role == .asOf, target.state == .live { state = "as-of" }
            if target.role == .live, target.state != .failed,
               let definition = catalog.definition(named: target.projection), definition.fingerprint != target.fingerprint {
                state = "stale"
            }
            let end = target.untilSeq.map { min($0, head) } ?? head
            var lagSeconds: Double?
            if let recorded = target.checkpointRecorded, let headRecorded {
                lagSeconds = max(0, Double(headRecorded - recorded) / 1e6)
            } else if target.checkpoint >= end {
                lagSeconds = 0
            }
            rows.append(ProjectionStatusRow(
                projection: target.projection, schema: target.schema, role: target.role.rawValue, version: target.version,
                checkpoint: target.checkpoint, head: end, lagEvents: end > target.checkpoint ? end - target.checkpoint : 0,
                lagSeconds: lagSeconds, eventsPerSecond: recentRate(target), state: state,
                failedSeq: target.failedSeq, failedReason: target.failedReason))
        }
        return rows.sorted { ($0.projection, $0.role) < ($1.projection, $1.role) }
    }

    /// The latest batch's rate, or 0 when the row has not changed for
    /// `recentRateSecondsMax` (idle, stopped, or an as-of build long done).
    static func recentRate(_ target: ProjectionStore.Target) -> Double? {
        guard let rate = target.eventsPerSecond else { return target.state == .live || target.role == .asOf ? 0 : nil }
        guard let age = target.updatedSecondsAgo, age <= recentRateSecondsMax else { return 0 }
        return rate
    }

    private static func headRecordedTime(_ log: EventLog) throws -> Int64? {
        let head = log.lastSeq
        guard head > 0 else { return nil }
        return try log.reader(fromSeq: head).next()?.recorded
    }
}
