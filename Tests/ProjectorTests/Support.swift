import EventLog
import Foundation
import Logging
// swift-log also has a `LogEvent`; ours is the log's.
import struct EventLog.LogEvent
import Postgres
import TestSupport
import XCTest

@testable import Projector

let testLogger = Logger(label: "careerlog.tests")

/// A projection that counts events per type and sums `data.n`: any event
/// applied twice or lost shows in its numbers, and it is batch-invariant.
let countingProjection = ProjectionDefinition(
    name: "counts", version: 1,
    schemaSQL: """
        CREATE TABLE {{schema}}.type_counts (type text PRIMARY KEY, events bigint NOT NULL, n_sum numeric NOT NULL, seq bigint NOT NULL);
        CREATE TABLE {{schema}}.seen (seq bigint PRIMARY KEY, id uuid NOT NULL);
        """,
    applySQL: """
        INSERT INTO {{schema}}.type_counts AS t (type, events, n_sum, seq)
        SELECT type, count(*), coalesce(sum((data->>'n')::numeric), 0), max(seq) FROM batch_events GROUP BY type
        ON CONFLICT (type) DO UPDATE SET events = t.events + EXCLUDED.events, n_sum = t.n_sum + EXCLUDED.n_sum, seq = EXCLUDED.seq;
        INSERT INTO {{schema}}.seen (seq, id) SELECT seq, id FROM batch_events;
        """)

/// Fails on any event whose data has `"poison": true` (a CHECK constraint).
let strictProjection = ProjectionDefinition(
    name: "strict", version: 1,
    schemaSQL: "CREATE TABLE {{schema}}.items (seq bigint PRIMARY KEY, ok boolean NOT NULL CHECK (ok));",
    applySQL: "INSERT INTO {{schema}}.items (seq, ok) SELECT seq, NOT coalesce((data->>'poison')::boolean, false) FROM batch_events;")

/// Appends simple events: `n` = index, chosen types.
func appendCountingEvents(_ log: EventLog, count: Int, poisonAt: Int? = nil, start: Int = 0) throws {
    var events: [LogEvent] = []
    for i in start..<(start + count) {
        let body = i == poisonAt ? "{\"n\":\(i),\"poison\":true}" : "{\"n\":\(i)}"
        events.append(LogEvent(id: UUID(), subject: UUID(), time: EventTime(seconds: 1_700_000_000 + Int64(i)),
                               source: "test", type: ["a.x", "b.y", "c.z"][i % 3], data: Array(body.utf8)))
    }
    try log.append(events)
    try log.sync()
}

/// md5 of every table of `schema`, by table name.
func digest(_ connection: PostgresConnection, schema: String) throws -> [String: String] {
    let tables = try connection.query("SELECT tablename FROM pg_tables WHERE schemaname = $1 ORDER BY 1", [schema]).map { $0[0]! }
    var out: [String: String] = [:]
    for table in tables {
        let q = "SELECT md5(coalesce(string_agg(t::text, E'\\n' ORDER BY t::text), '')) FROM \(quoteIdentifier(schema)).\(quoteIdentifier(table)) t"
        out[table] = try connection.query(q).first?[0] ?? ""
    }
    return out
}

/// md5 of every table, view and materialized view of `schema`, by name: two
/// builds agree when every relation holds the same rows.
func relationDigest(_ connection: PostgresConnection, schema: String) throws -> [String: String] {
    let relations = try connection.query("""
        SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE n.nspname = $1 AND c.relkind IN ('r', 'v', 'm') ORDER BY 1
        """, [schema]).map { $0[0]! }
    var out: [String: String] = [:]
    for relation in relations {
        let q = "SELECT md5(coalesce(string_agg(t::text, E'\\n' ORDER BY t::text), '')) FROM \(quoteIdentifier(schema)).\(quoteIdentifier(relation)) t"
        out[relation] = try connection.query(q).first?[0] ?? ""
    }
    return out
}

/// Every projection of the repository's `Projections/`.
func repositoryCatalog() throws -> ProjectionCatalog {
    try ProjectionCatalog(directory: analyticsRepositoryRoot + "/Projections")
}

/// A fresh database and log, nothing projected yet.
struct ProjectorFixture {
    let url: String
    let log: EventLog
    let connection: PostgresConnection

    init(_ name: String = #function) throws {
        url = try TestCluster.makeDatabase()
        log = try EventLog.open(directory: makeTemporaryDirectory(name) + "/log")
        connection = try PostgresConnection(url: url)
        try ProjectionStore.prepare(connection)
    }

    /// Targets by schema name.
    func targets() throws -> [String: ProjectionStore.Target] {
        Dictionary(uniqueKeysWithValues: try ProjectionStore.targets(connection).map { ($0.schema, $0) })
    }

    /// The tables in schema `careerlog` (the bookkeeping, and anything a build left there).
    func bookkeepingTables() throws -> [String] {
        try connection.query("SELECT tablename FROM pg_tables WHERE schemaname = 'careerlog' ORDER BY 1").map { $0[0]! }
    }

    /// Schemas whose name contains `fragment`.
    func schemas(containing fragment: String) throws -> [String] {
        try connection.query("SELECT nspname FROM pg_namespace WHERE strpos(nspname, $1) > 0 ORDER BY 1", [fragment]).map { $0[0]! }
    }
}

/// Log lines kept in memory, for tests that look at what was logged (or
/// wait for a line to appear).
final class CapturedLog: @unchecked Sendable {
    private let lock = NSLock()
    private var lines: [String] = []

    /// A logger whose records (message and metadata) land here.
    var logger: Logger {
        Logger(label: "careerlog.tests.captured") { _ in CapturingHandler(sink: self) }
    }

    var text: [String] { lock.withLock { lines } }
    func append(_ line: String) { lock.withLock { lines.append(line) } }
    func contains(_ fragment: String) -> Bool { text.contains { $0.contains(fragment) } }
}

private struct CapturingHandler: LogHandler {
    let sink: CapturedLog
    var metadata: Logger.Metadata = [:]
    var logLevel: Logger.Level = .trace

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: Logging.LogEvent) {
        let all = metadata.merging(event.metadata ?? [:]) { $1 }
        sink.append("\(event.level) \(event.message) \(all.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " "))")
    }
}
