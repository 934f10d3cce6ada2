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
    public var eventsPerSecond: Double?
    /// live, rebuilding, stale, failed, building, or missing (not created yet).
    public var state: String
    public var failedSeq: UInt64?
    public var failedReason: String?
}

public enum ProjectionStatusReport {
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
                lagSeconds: lagSeconds, eventsPerSecond: target.eventsPerSecond, state: state,
                failedSeq: target.failedSeq, failedReason: target.failedReason))
        }
        return rows.sorted { ($0.projection, $0.role) < ($1.projection, $1.role) }
    }

    private static func headRecordedTime(_ log: EventLog) throws -> Int64? {
        let head = log.lastSeq
        guard head > 0 else { return nil }
        return try log.reader(fromSeq: head).next()?.recorded
    }
}
