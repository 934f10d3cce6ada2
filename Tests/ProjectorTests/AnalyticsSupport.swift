import CareerEvents
import EventLog
import Foundation
import StoredEventCodec
import Postgres
import TestSupport
import XCTest

// swift-log also has a `LogEvent`; ours is the log's.
import struct EventLog.LogEvent

@testable import Projector

// Helpers of the analytics tests: the projection as Projections/analytics
// defines it, hand-written events, and a build of a log through the real
// projector into a fresh database.

/// The repository root: this file is <root>/Tests/ProjectorTests/AnalyticsSupport.swift.
let analyticsRepositoryRoot = URL(fileURLWithPath: #filePath)
    .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path

enum AnalyticsProjection {
    /// `Projections/analytics` read directly (the other projections of the
    /// folder are not needed, and may be mid-edit). `$ANALYTICS_PROJECTION_DIR`
    /// points the tests at another copy (to check that a changed definition
    /// makes them fail).
    static func definition() throws -> ProjectionDefinition {
        let folder = ProcessInfo.processInfo.environment["ANALYTICS_PROJECTION_DIR"] ?? analyticsRepositoryRoot + "/Projections/analytics"
        func read(_ name: String) throws -> String {
            try String(contentsOfFile: folder + "/" + name, encoding: .utf8)
        }
        let version = Int(try read("version").trimmingCharacters(in: .whitespacesAndNewlines))!
        let refresh = FileManager.default.fileExists(atPath: folder + "/refresh.sql") ? try read("refresh.sql") : nil
        return ProjectionDefinition(name: "analytics", version: version, schemaSQL: try read("schema.sql"),
                                    applySQL: try read("apply.sql"), refreshSQL: refresh)
    }

    static let schemaRegistry: SchemaRegistry = {
        try! SchemaRegistry(directory: analyticsRepositoryRoot + "/EventSchemas")
    }()
}

/// Events written by hand, in log order: subjects and ids by name (stable
/// UUIDs), times as RFC 3339 text. Every event is checked against
/// EventSchemas/, so a test cannot pass on an event the backend would reject.
struct EventScript {
    private(set) var events: [LogEvent] = []
    private var names: [String: UUID] = [:]

    /// 2024-01-01T00:00:00Z, day 0 of the scripts.
    static let dayZeroSeconds: Int64 = 1_704_067_200

    /// The UUID a name stands for (the same name, the same UUID).
    mutating func id(_ name: String) -> UUID {
        if let known = names[name] { return known }
        let made = UUIDText.parse(String(format: "00000000-0000-4000-8000-%012x", names.count + 1))!
        names[name] = made
        return made
    }

    /// The lower-case text of a name's UUID, as PostgreSQL prints it.
    mutating func text(_ name: String) -> String { UUIDText.string(id(name)) }

    /// `day` days (and `seconds`) after 2024-01-01T00:00:00Z, in UTC.
    static func day(_ day: Int, seconds: Int = 0) -> String {
        Timestamp(seconds: dayZeroSeconds + Int64(day) * 86_400 + Int64(seconds)).rfc3339
    }

    /// Appends an event; `data` is the JSON object's members as text, where
    /// `@name` as a value stands for the quoted UUID of `name`.
    mutating func add(_ type: String, _ subject: String, _ time: String, _ data: String = "") {
        var body = data
        // Only where a value starts (`:@x`, `[@x`, `,@x`): e-mail addresses keep their @.
        while let range = body.range(of: #"(?<=[:\[,])@[A-Za-z0-9_-]+"#, options: .regularExpression) {
            let name = String(body[range].dropFirst())
            body.replaceSubrange(range, with: "\"\(text(name))\"")
        }
        let line = #"{"id":"\#(UUIDText.string(UUID()))","source":"analytics-test","type":"\#(type)","subject":"\#(text(subject))","time":"\#(time)","data":{\#(body)}}"#
        do {
            let envelope = try Envelope.decode(line: Array(line.utf8))
            try AnalyticsProjection.schemaRegistry.validate(envelope)
            events.append(LogEvent(envelope))
        } catch {
            preconditionFailure("invalid test event \(line): \(error)")
        }
    }
}

/// The analytics projection built from a log by the real projector, in
/// batches of `batchEventsMax` events, in a database of its own.
final class AnalyticsBuild {
    let url: String
    let connection: PostgresConnection
    let log: EventLog
    let definition: ProjectionDefinition

    init(events: [LogEvent], batchEventsMax: Int, appendChunk: Int = 10_000) throws {
        url = try TestCluster.makeDatabase()
        connection = try PostgresConnection(url: url)
        log = try EventLog.open(directory: makeTemporaryDirectory("analytics") + "/log")
        definition = try AnalyticsProjection.definition()
        var start = 0
        while start < events.count {
            let end = min(start + appendChunk, events.count)
            _ = try log.append(Array(events[start..<end]))
            start = end
        }
        _ = try log.sync()
        var options = Projector.Options()
        options.batchEventsMax = batchEventsMax
        let projector = Projector(url: url, log: log, catalog: ProjectionCatalog(definitions: [definition]),
                                  logger: testLogger, options: options)
        try projector.ensureLiveTargets()
        while try projector.step() > 0 {}
        try projector.refreshDue(caughtUp: true)
    }

    /// Rows of `sql` as text (`nil` = NULL).
    func rows(_ sql: String, _ parameters: [String?] = []) throws -> [[String?]] {
        try connection.query(sql, parameters).map(\.values)
    }

    /// Rows of `relation` in `schema` keyed by the text of the first column.
    func rowsByKey(_ relation: String, schema: String = "analytics") throws -> [String: PostgresRow] {
        var out: [String: PostgresRow] = [:]
        for row in try connection.query("SELECT * FROM \(quoteIdentifier(schema)).\(quoteIdentifier(relation))") {
            out[row[0] ?? "NULL"] = row
        }
        return out
    }

    /// Every analytic view's rows in a canonical order, for comparing builds.
    func snapshot(schema: String = "analytics") throws -> [String: [[String?]]] {
        var out: [String: [[String?]]] = [:]
        let views = try connection.query(
            "SELECT table_name FROM information_schema.views WHERE table_schema = $1 ORDER BY 1", [schema]).map { $0[0]! }
        for view in views {
            out[view] = try rows("SELECT * FROM \(quoteIdentifier(schema)).\(quoteIdentifier(view)) t ORDER BY t::text")
        }
        return out
    }
}

/// Asserts that PostgreSQL's text of a number equals `expected` within a
/// relative tolerance (NULL only when `expected` is nil).
func assertNumber(_ text: String?, _ expected: Double?, tolerance: Double = 1e-9, _ message: @autoclosure () -> String = "",
                  file: StaticString = #filePath, line: UInt = #line) {
    guard let expected else {
        XCTAssertNil(text, "expected NULL: \(message())", file: file, line: line)
        return
    }
    guard let text, let value = Double(text) else {
        XCTFail("expected \(expected), found \(text ?? "NULL"): \(message())", file: file, line: line)
        return
    }
    XCTAssertEqual(value, expected, accuracy: max(abs(expected), 1) * tolerance, message(), file: file, line: line)
}

/// A jsonb object of numbers as a dictionary.
func jsonNumbers(_ text: String?) -> [String: Double]? {
    guard let text, let data = text.data(using: .utf8),
          let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else { return nil }
    var out: [String: Double] = [:]
    for (key, value) in object {
        guard let number = value as? NSNumber else { return nil }
        out[key] = number.doubleValue
    }
    return out
}
