import Foundation
import Postgres

/// The projector's own bookkeeping in PostgreSQL (schema `careerlog`): one
/// row per schema the projector writes, with its checkpoint. A batch's rows
/// and its checkpoint commit in the same transaction, so the checkpoint is
/// always exactly what the tables hold.
public enum ProjectionStore {
    /// What a target schema is for.
    public enum Role: String, Sendable {
        /// The schema readers use (`people`, `skills`, ...).
        case live
        /// A rebuild in progress, swapped in when caught up.
        case shadow
        /// A read model as of a past moment (kept until dropped).
        case asOf = "as_of"
    }

    public enum State: String, Sendable {
        case live, rebuilding, failed, building
    }

    static let ddl = """
        CREATE SCHEMA IF NOT EXISTS careerlog;
        CREATE TABLE IF NOT EXISTS careerlog.projection_targets (
            schema_name text PRIMARY KEY,
            projection text NOT NULL,
            role text NOT NULL CHECK (role IN ('live', 'shadow', 'as_of')),
            version int NOT NULL,
            fingerprint text NOT NULL,
            checkpoint bigint NOT NULL DEFAULT 0,
            checkpoint_recorded timestamptz,
            until_seq bigint,
            until_time timestamptz,
            state text NOT NULL,
            failed_seq bigint,
            failed_reason text,
            events_per_second double precision,
            created_at timestamptz NOT NULL DEFAULT now(),
            updated_at timestamptz NOT NULL DEFAULT now()
        );
        -- The backend (pg_backend_pid) of the build writing a shadow or as-of
        -- schema: when it is gone before the build finished, the schema is
        -- abandoned. Added after version 1 of this table; ALTER only when
        -- missing (it would lock the table on every start).
        DO $$ BEGIN
            IF NOT EXISTS (SELECT 1 FROM pg_attribute WHERE attrelid = 'careerlog.projection_targets'::regclass
                           AND attname = 'builder_pid' AND NOT attisdropped) THEN
                ALTER TABLE careerlog.projection_targets ADD COLUMN builder_pid integer;
            END IF;
        END $$;
        """ + AnalystRoles.ddl

    /// Creates the bookkeeping table when missing and removes what builds
    /// that are gone left behind (see `removeAbandoned`).
    ///
    /// The backends of a build that was killed exit at the same moment,
    /// each dropping its temporary view over the build's batch table; the
    /// removal's CASCADE can deadlock with them (SQLSTATE 40P01), so a
    /// deadlock victim is tried again.
    public static func prepare(_ connection: PostgresConnection) throws {
        try retryingDeadlocks {
            // Concurrent first starts (serve and a rebuild) must not race on DDL.
            try connection.transaction { c in
                _ = try c.query("SELECT pg_advisory_xact_lock(7400001)")
                try c.execute(ddl)
                try removeAbandoned(c)
            }
        }
    }

    public struct Target: Sendable, Equatable {
        public var schema: String
        public var projection: String
        public var role: Role
        public var version: Int
        public var fingerprint: String
        public var checkpoint: UInt64
        /// µs since the epoch.
        public var checkpointRecorded: Int64?
        public var untilSeq: UInt64?
        public var untilTime: String?
        public var state: State
        public var failedSeq: UInt64?
        public var failedReason: String?
        public var eventsPerSecond: Double?
        /// Seconds since the row last changed (a batch, a state change).
        public var updatedSecondsAgo: Double?
    }

    static let columns = "schema_name, projection, role, version, fingerprint, checkpoint, (extract(epoch from checkpoint_recorded) * 1000000)::bigint, until_seq, until_time::text, state, failed_seq, failed_reason, events_per_second, extract(epoch from now() - updated_at)::float8"

    static func target(_ row: PostgresRow) -> Target {
        Target(
            schema: row[0]!, projection: row[1]!, role: Role(rawValue: row[2]!) ?? .live, version: Int(row[3]!) ?? 0,
            fingerprint: row[4]!, checkpoint: UInt64(row[5]!) ?? 0, checkpointRecorded: row[6].flatMap { Int64($0) },
            untilSeq: row[7].flatMap { UInt64($0) }, untilTime: row[8],
            state: State(rawValue: row[9]!) ?? .failed, failedSeq: row[10].flatMap { UInt64($0) }, failedReason: row[11],
            eventsPerSecond: row[12].flatMap { Double($0) }, updatedSecondsAgo: row[13].flatMap { Double($0) })
    }

    public static func targets(_ connection: PostgresConnection) throws -> [Target] {
        try connection.query("SELECT \(columns) FROM careerlog.projection_targets ORDER BY projection, role, schema_name").map(target)
    }

    /// Locks a target's row for the rest of the transaction and returns it:
    /// a batch, a swap or a drop of the same schema serialize here.
    static func lock(_ connection: PostgresConnection, schema: String) throws -> Target? {
        try connection.query("SELECT \(columns) FROM careerlog.projection_targets WHERE schema_name = $1 FOR UPDATE", [schema]).first.map(target)
    }

    /// Creates `schema` from `definition` (dropping what was there) and its
    /// row, in one transaction.
    static func create(
        _ connection: PostgresConnection, schema: String, definition: ProjectionDefinition, role: Role, state: State,
        untilSeq: UInt64? = nil, untilTime: String? = nil
    ) throws {
        try connection.transaction { c in
            try c.execute("DROP SCHEMA IF EXISTS \(quoteIdentifier(schema)) CASCADE; CREATE SCHEMA \(quoteIdentifier(schema));")
            try c.execute(definition.schemaSQL(in: schema))
            // Every schema is born readable by the analyst roles, PII
            // columns excepted; a swap renames it with its grants.
            _ = try c.query("SELECT careerlog.grant_analyst_reads($1)", [schema])
            _ = try c.query("DELETE FROM careerlog.projection_targets WHERE schema_name = $1", [schema])
            _ = try c.query("""
                INSERT INTO careerlog.projection_targets
                    (schema_name, projection, role, version, fingerprint, state, until_seq, until_time, builder_pid)
                VALUES ($1, $2, $3, $4, $5, $6, $7, $8, CASE WHEN $3 = 'live' THEN NULL ELSE pg_backend_pid() END)
                """, [schema, definition.name, role.rawValue, String(definition.version), definition.fingerprint, state.rawValue,
                      untilSeq.map(String.init), untilTime])
        }
    }

    /// The row of `schema`, if the projector writes it.
    public static func target(_ connection: PostgresConnection, schema: String) throws -> Target? {
        try connection.query("SELECT \(columns) FROM careerlog.projection_targets WHERE schema_name = $1", [schema]).first.map(target)
    }

    /// The lowest checkpoint of the live targets (0 when there are none):
    /// how far every live read model has got.
    public static func liveCheckpointMin(_ connection: PostgresConnection) throws -> UInt64 {
        let row = try connection.query("SELECT coalesce(min(checkpoint), 0) FROM careerlog.projection_targets WHERE role = 'live'").first
        return row?[0].flatMap { UInt64($0) } ?? 0
    }

    /// Inside a batch's transaction: the target has applied everything up
    /// to `checkpoint` (recorded at `recorded`, RFC 3339).
    static func advance(
        _ c: PostgresConnection, schema: String, checkpoint: UInt64, recorded: String?, eventsPerSecond: Double?
    ) throws {
        _ = try c.query("""
            UPDATE careerlog.projection_targets SET checkpoint = $2, checkpoint_recorded = $3,
                events_per_second = COALESCE($4::double precision, events_per_second), updated_at = now()
            WHERE schema_name = $1
            """, [schema, String(checkpoint), recorded, eventsPerSecond.map { String($0) }])
    }

    /// Moves a checkpoint back by hand (tests: applying events again must
    /// change nothing).
    static func rewind(_ c: PostgresConnection, schema: String, to checkpoint: UInt64) throws {
        _ = try c.query("UPDATE careerlog.projection_targets SET checkpoint = $2 WHERE schema_name = $1", [schema, String(checkpoint)])
    }

    /// The target stopped at event `seq`; it stays failed until rebuilt.
    /// `reason` is stored and shown: no event data in it.
    static func markFailed(_ c: PostgresConnection, schema: String, seq: UInt64, reason: String) throws {
        _ = try c.query("""
            UPDATE careerlog.projection_targets SET state = 'failed', failed_seq = $2, failed_reason = $3, updated_at = now()
            WHERE schema_name = $1
            """, [schema, String(seq), reason])
    }

    /// An as-of build finished: its schemas still `building` become `live`
    /// (failed ones stay failed).
    static func markBuilt(_ c: PostgresConnection, schemas: [String]) throws {
        for schema in schemas {
            _ = try c.query("""
                UPDATE careerlog.projection_targets SET state = 'live', builder_pid = NULL, updated_at = now()
                WHERE schema_name = $1 AND state = 'building'
                """, [schema])
        }
    }

    /// Inside the swap's transaction, after the schema renames: the shadow's
    /// row becomes the live one.
    static func swapIn(_ c: PostgresConnection, shadow: String, live: String) throws {
        _ = try c.query("DELETE FROM careerlog.projection_targets WHERE schema_name = $1", [live])
        _ = try c.query("""
            UPDATE careerlog.projection_targets SET schema_name = $1, role = 'live', state = 'live', builder_pid = NULL, updated_at = now()
            WHERE schema_name = $2
            """, [live, shadow])
    }

    /// Drops a schema and its row (in the caller's transaction, if any).
    static func remove(_ c: PostgresConnection, schema: String) throws {
        try c.execute("DROP SCHEMA IF EXISTS \(quoteIdentifier(schema)) CASCADE")
        _ = try c.query("DELETE FROM careerlog.projection_targets WHERE schema_name = $1", [schema])
    }

    /// Removes what a build that is gone (killed, or its connection lost)
    /// left behind: the shared batch tables of rebuilds (a copy of event
    /// data, PII included) and the shadow and as-of schemas it had not
    /// finished. A build is gone when the PostgreSQL backend that created
    /// them no longer runs: builds name their batch table after it, and
    /// their rows keep it in `builder_pid`.
    static func removeAbandoned(_ c: PostgresConnection) throws {
        let tables = try c.query("""
            SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
            WHERE n.nspname = 'careerlog' AND c.relkind = 'r' AND c.relname ~ '^\(BatchApplier.sharedTablePrefix)[0-9]+$'
              AND substring(c.relname FROM '[0-9]+$')::bigint NOT IN (SELECT pid FROM pg_stat_activity)
            """)
        for row in tables { try c.execute("DROP TABLE IF EXISTS careerlog.\(quoteIdentifier(row[0]!)) CASCADE") }
        let schemas = try c.query("""
            SELECT schema_name FROM careerlog.projection_targets
            WHERE state IN ('rebuilding', 'building') AND role <> 'live'
              AND (builder_pid IS NULL OR builder_pid NOT IN (SELECT pid FROM pg_stat_activity))
            """)
        for row in schemas { try remove(c, schema: row[0]!) }
    }
}

/// Runs `body` (a statement or a whole transaction, rolled back when it
/// fails) again when PostgreSQL chose it as a deadlock victim (SQLSTATE
/// 40P01), at most three times in all; any other error, or the third
/// deadlock, is thrown. Deadlocks are only found after `deadlock_timeout`
/// (1 s by default), so attempts are spaced out already.
func retryingDeadlocks<T>(_ body: () throws -> T) throws -> T {
    let attempts = 3
    for _ in 1..<attempts {
        do {
            return try body()
        } catch let error as PostgresError where error.isDeadlockVictim {
            continue
        }
    }
    return try body()
}
