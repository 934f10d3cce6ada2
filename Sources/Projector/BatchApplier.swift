import CareerEvents
import EventLog
import Foundation
import StoredEventCodec
import Postgres
import SubjectKeys

/// Loads a batch of log events into a temporary table and applies it to
/// target schemas, each in its own transaction with its checkpoint.
///
/// Every projection's `apply.sql` reads `batch_events`: a temporary view over
/// the loaded batch restricted to what that target has not applied yet, so
/// one load serves every target whatever its checkpoint.
final class BatchApplier {
    let connection: PostgresConnection
    /// The loaded batch's seq range (nil when empty).
    private(set) var loaded: ClosedRange<UInt64>?

    /// The table holding the loaded batch: the session's temporary table,
    /// or (rebuilds over several connections) an unlogged table they share
    /// in schema `careerlog`.
    let batchTable: String
    /// Its index's name, unqualified (CREATE INDEX takes no schema).
    private let batchIndex: String

    /// Shared batch tables are `careerlog.<prefix><backend pid>`, named after
    /// the builder's PostgreSQL backend so that `ProjectionStore` can tell
    /// one left by a build that is gone (see `removeAbandoned`).
    static let sharedTablePrefix = "rebuild_batch_"

    /// Opens sealed PII (nil: sealed records load their clear part, PII `null`).
    /// Required at every construction: a helper connection built without it
    /// once filled the live read models with null PII.
    let pii: RecordOpener?

    init(connection: PostgresConnection, sharedBatchTable: String? = nil, pii: RecordOpener?) {
        self.connection = connection
        self.pii = pii
        self.batchTable = sharedBatchTable.map { "careerlog.\($0)" } ?? "batch_events_all"
        self.batchIndex = (sharedBatchTable ?? "batch_events_all") + "_type"
    }

    /// The one definition of a batch table: the session's temporary table
    /// (`CREATE TEMP TABLE IF NOT EXISTS batch_events_all`) or a shared
    /// unlogged one (`CREATE UNLOGGED TABLE careerlog.<name>`).
    /// No primary key (the log's seqs are unique already), and statistics
    /// only where plans need them (type, seq): ANALYZE of the jsonb column
    /// would cost more than the plans gain.
    static func batchTableSQL(_ create: String, _ table: String) -> String {
        """
        \(create) \(table) (
            seq bigint NOT NULL, recorded timestamptz NOT NULL, id uuid NOT NULL, type text NOT NULL,
            subject uuid NOT NULL, time timestamptz NOT NULL, dataversion int NOT NULL, data jsonb NOT NULL);
        ALTER TABLE \(table) ALTER COLUMN data SET STATISTICS 0, ALTER COLUMN id SET STATISTICS 0,
            ALTER COLUMN subject SET STATISTICS 0, ALTER COLUMN recorded SET STATISTICS 0, ALTER COLUMN time SET STATISTICS 0;
        """
    }

    /// Creates an unlogged table for a batch shared by several connections
    /// (one load, every connection applies from it) and returns its name.
    /// The caller drops it (`dropShared`) once the other connections have
    /// dropped their views over it (`detachShared`); if the caller dies
    /// first, the next `ProjectionStore.prepare` does.
    static func createSharedBatchTable(_ c: PostgresConnection) throws -> String {
        guard let pid = try c.query("SELECT pg_backend_pid()").first?[0] else {
            throw PostgresError(code: .protocolViolation, message: "pg_backend_pid() returned no row")
        }
        let name = sharedTablePrefix + pid
        try c.execute("SET synchronous_commit = off; DROP TABLE IF EXISTS careerlog.\(name) CASCADE;"
                      + batchTableSQL("CREATE UNLOGGED TABLE", "careerlog.\(name)"))
        return name
    }

    /// Drops a shared batch table, with the views other sessions made over it.
    ///
    /// Call `detachShared` on every other connection first: a backend that
    /// is closing drops its temporary objects as it exits, and its view over
    /// this table, dropped by both at once, made the drop's CASCADE deadlock
    /// (SQLSTATE 40P01). A deadlock victim is tried again, in case some
    /// other session still makes one.
    static func dropShared(_ c: PostgresConnection, name: String) throws {
        try retryingDeadlocks { try c.execute("DROP TABLE IF EXISTS careerlog.\(name) CASCADE") }
    }

    /// Drops this session's view over the shared table, while the session
    /// is still open (before its connection closes; see `dropShared`).
    func detachShared() throws {
        try connection.execute("DROP VIEW IF EXISTS pg_temp.batch_events")
        loaded = nil
    }

    /// Shared table: empties it and drops its index before the next load.
    func resetShared() throws {
        try connection.execute("TRUNCATE \(batchTable); DROP INDEX IF EXISTS careerlog.\(batchIndex)")
    }

    /// Shared table: one connection's part of the batch.
    func copyShared(_ records: ArraySlice<EventRecord>) throws {
        try connection.execute("SET synchronous_commit = off")
        try copy(records, into: batchTable)
    }

    /// Shared table: index and statistics once every part is in.
    func indexShared() throws {
        try connection.execute("CREATE INDEX \(batchIndex) ON \(batchTable) (type, seq); ANALYZE \(batchTable)")
    }

    /// Marks the batch in the shared table as this connection's loaded batch.
    func adoptShared(_ range: ClosedRange<UInt64>) {
        loaded = range
    }

    /// The session's temporary table; created again after a reconnect. The
    /// index is built after the COPY: a bulk build is cheaper than 50,000
    /// inserts into it.
    private func prepareSession() throws {
        // temp_buffers: a 50,000-event batch fits in memory instead of
        // spilling to temp files (only effective before the session's first
        // temp table use, harmless after). synchronous_commit off: a batch
        // lost in a PostgreSQL crash is lost with its checkpoint (same
        // transaction) and re-applied from the log, so exactly-once holds
        // and no commit waits for a WAL flush.
        try connection.execute("SET temp_buffers = '256MB'; SET synchronous_commit = off;"
                               + Self.batchTableSQL("CREATE TEMP TABLE IF NOT EXISTS", "batch_events_all")
                               + "DROP INDEX IF EXISTS batch_events_all_type; TRUNCATE batch_events_all;")
    }

    /// Replaces the loaded batch with `records` (COPY, index, then ANALYZE
    /// so the planner knows its size).
    func load(_ records: [EventRecord]) throws {
        try prepareSession()
        loaded = nil
        guard let first = records.first, let last = records.last else { return }
        try copy(records[...], into: "batch_events_all")
        try connection.execute("CREATE INDEX batch_events_all_type ON batch_events_all (type, seq); ANALYZE batch_events_all")
        loaded = first.seq...last.seq
    }

    private func copy(_ records: ArraySlice<EventRecord>, into table: String) throws {
        try connection.copyIn("COPY \(table) (seq, recorded, id, type, subject, time, dataversion, data) FROM STDIN") { writer in
            for record in records {
                let event = record.event
                writer.append(record.seq)
                writer.append(Timestamp(recordedMicroseconds: record.recorded).rfc3339)
                writer.append(UUIDText.string(event.id))
                writer.append(event.type)
                writer.append(UUIDText.string(event.subject))
                writer.append(Timestamp(event.time).rfc3339)
                writer.append(event.dataVersion)
                writer.append(String(decoding: try data(of: record), as: UTF8.self))
                try writer.endRow()
            }
        }
    }

    /// The `data` the read models get: PII unsealed where the subject's key
    /// exists, `null` where it was destroyed (or without a key store).
    private func data(of record: EventRecord) throws -> [UInt8] {
        if let pii { return try pii.open(record).record.event.data }
        if record.event.flags & PIISealer.sealedFlag != 0 { return try PIISealer.redact(record.event.data) }
        return record.event.data
    }

    enum Outcome: Equatable {
        /// Applied events up to this seq.
        case applied(UInt64, events: Int)
        /// Nothing to do (already applied, or the target is not active).
        case skipped
        /// The target failed at this seq; it stays there until rebuilt.
        case failed(UInt64, reason: String)
    }

    /// Applies the loaded batch to `schema` in one transaction, with the
    /// checkpoint. A failure that is not a lost connection finds the exact
    /// event (applying one event at a time) and marks the target failed.
    func apply(to schema: String, definition: ProjectionDefinition, eventsPerSecond: Double?) throws -> Outcome {
        guard let loaded else { return .skipped }
        do {
            return try connection.transaction { c in
                try applyLocked(c, schema: schema, definition: definition, upTo: loaded.upperBound, only: nil, eventsPerSecond: eventsPerSecond)
            }
        } catch let error as PostgresError where !error.isConnectionFailure {
            return try findFailure(schema: schema, definition: definition, range: loaded)
        }
    }

    /// Inside a transaction: locks the target row, applies what it lacks up
    /// to `upTo` (or only the event `only`), moves the checkpoint.
    func applyLocked(
        _ c: PostgresConnection, schema: String, definition: ProjectionDefinition, upTo: UInt64, only: UInt64?, eventsPerSecond: Double?
    ) throws -> Outcome {
        guard let target = try ProjectionStore.lock(c, schema: schema),
              target.state != .failed, target.fingerprint == definition.fingerprint else { return .skipped }
        var last = upTo
        if let until = target.untilSeq { last = min(last, until) }
        let from = target.checkpoint
        guard last > from else { return .skipped }
        var condition = "seq > \(from) AND seq <= \(last)"
        if let only { condition = "seq = \(only)" }
        if let untilTime = target.untilTime {
            condition += " AND time <= '\(untilTime.replacingOccurrences(of: "'", with: "''"))'::timestamptz"
        }
        try c.execute("CREATE OR REPLACE TEMP VIEW batch_events AS SELECT * FROM \(batchTable) WHERE \(condition)")
        // The moment an as-of build by time asked for, for this transaction
        // only (analytics reads it as "as of"); empty for every other build.
        _ = try c.query("SELECT set_config('careerlog.as_of_time', $1, true)", [target.untilTime ?? ""])
        try c.execute(definition.applySQL(in: schema))
        let recorded = try c.query("SELECT recorded FROM \(batchTable) WHERE seq = $1", [String(last)]).first?[0]
        try ProjectionStore.advance(c, schema: schema, checkpoint: last, recorded: recorded, eventsPerSecond: eventsPerSecond)
        return .applied(last, events: Int(last - from))
    }

    /// Applies the batch one event at a time until one fails; records it.
    private func findFailure(schema: String, definition: ProjectionDefinition, range: ClosedRange<UInt64>) throws -> Outcome {
        for seq in range {
            do {
                _ = try connection.transaction { c in
                    try applyLocked(c, schema: schema, definition: definition, upTo: seq, only: seq, eventsPerSecond: nil)
                }
            } catch let error as PostgresError where !error.isConnectionFailure {
                let reason = error.description
                try ProjectionStore.markFailed(connection, schema: schema, seq: seq, reason: reason)
                return .failed(seq, reason: reason)
            }
        }
        // Applied one by one without error: the batch-wide failure was
        // transient (a serialization or lock problem); nothing is lost.
        return .applied(range.upperBound, events: range.count)
    }
}
