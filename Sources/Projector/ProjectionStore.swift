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
        """

    public static func prepare(_ connection: PostgresConnection) throws {
        // Concurrent first starts (serve and a rebuild) must not race on DDL.
        try connection.transaction { c in
            _ = try c.query("SELECT pg_advisory_xact_lock(7400001)")
            try c.execute(ddl)
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
    }

    static let columns = "schema_name, projection, role, version, fingerprint, checkpoint, (extract(epoch from checkpoint_recorded) * 1000000)::bigint, until_seq, until_time::text, state, failed_seq, failed_reason, events_per_second"

    static func target(_ row: PostgresRow) -> Target {
        Target(
            schema: row[0]!, projection: row[1]!, role: Role(rawValue: row[2]!) ?? .live, version: Int(row[3]!) ?? 0,
            fingerprint: row[4]!, checkpoint: UInt64(row[5]!) ?? 0, checkpointRecorded: row[6].flatMap { Int64($0) },
            untilSeq: row[7].flatMap { UInt64($0) }, untilTime: row[8],
            state: State(rawValue: row[9]!) ?? .failed, failedSeq: row[10].flatMap { UInt64($0) }, failedReason: row[11],
            eventsPerSecond: row[12].flatMap { Double($0) })
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
            _ = try c.query("DELETE FROM careerlog.projection_targets WHERE schema_name = $1", [schema])
            _ = try c.query("""
                INSERT INTO careerlog.projection_targets (schema_name, projection, role, version, fingerprint, state, until_seq, until_time)
                VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
                """, [schema, definition.name, role.rawValue, String(definition.version), definition.fingerprint, state.rawValue,
                      untilSeq.map(String.init), untilTime])
        }
    }
}
