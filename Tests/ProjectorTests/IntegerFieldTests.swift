import CareerEvents
import EventGenerator
import EventLog
import Foundation
import StoredEventCodec
import Postgres
import XCTest

// swift-log also has a `LogEvent`; ours is the log's.
import struct EventLog.LogEvent

@testable import Projector

/// The validator accepts an integer written as `30`, `30.0` or `3e1`, and
/// the log keeps numbers as written; every projection must read the three
/// alike. The integer fields are found by walking `EventSchemas/`, so a
/// field added there is covered without touching this test.
final class IntegerFieldTests: XCTestCase {
    /// A field path inside `data`; "*" stands for every element of an array.
    typealias FieldPath = [String]

    /// Every integer field of every event type, by type.
    static func integerFields() throws -> [String: [FieldPath]] {
        let folder = analyticsRepositoryRoot + "/EventSchemas"
        func load(_ file: String) throws -> [String: Any] {
            try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: folder + "/" + file))) as! [String: Any]
        }
        let defs = try load("defs.json")["$defs"] as! [String: Any]
        var out: [String: [FieldPath]] = [:]
        for file in try FileManager.default.contentsOfDirectory(atPath: folder).sorted() where file.hasSuffix(".v1.json") {
            let schema = try load(file)
            var paths: [FieldPath] = []
            collect(schema, defs: defs, path: [], into: &paths)
            if !paths.isEmpty { out[schema["title"] as! String] = paths }
        }
        return out
    }

    private static func collect(_ node: [String: Any], defs: [String: Any], path: FieldPath, into paths: inout [FieldPath]) {
        if let ref = node["$ref"] as? String, let name = ref.split(separator: "/").last, let target = defs[String(name)] as? [String: Any] {
            collect(target, defs: defs, path: path, into: &paths)
        }
        let types = (node["type"] as? String).map { [$0] } ?? (node["type"] as? [String] ?? [])
        if types.contains("integer") { paths.append(path) }
        for (key, value) in (node["properties"] as? [String: Any] ?? [:]).sorted(by: { $0.key < $1.key }) {
            if let child = value as? [String: Any] { collect(child, defs: defs, path: path + [key], into: &paths) }
        }
        if let items = node["items"] as? [String: Any] { collect(items, defs: defs, path: path + ["*"], into: &paths) }
    }

    /// The three spellings of an integer the validator accepts.
    enum Spelling: CaseIterable {
        case plain, fraction, exponent
        func text(_ value: Int64) -> String {
            switch self {
            case .plain: return String(value)
            case .fraction: return "\(value).0"
            case .exponent: return value != 0 && value % 10 == 0 ? "\(value / 10)e1" : "\(value)e0"
            }
        }
    }

    /// `value` with every integer at `path` written as `spelling`; counts
    /// the numbers rewritten.
    static func respell(_ value: JSONValue, _ path: ArraySlice<String>, _ spelling: Spelling, count: inout Int) -> JSONValue {
        guard let key = path.first else {
            guard case .number(let n) = value, let integer = n.int64 else { return value }
            count += 1
            return .number(JSONNumber(text: spelling.text(integer)))
        }
        switch value {
        case .array(let items) where key == "*":
            return .array(items.map { respell($0, path.dropFirst(), spelling, count: &count) })
        case .object(var object):
            for i in object.members.indices where object.members[i].key == key {
                object.members[i].value = respell(object.members[i].value, path.dropFirst(), spelling, count: &count)
            }
            return .object(object)
        default:
            return value
        }
    }

    /// Hand-written events for integer fields the generator never writes.
    static func extraEvents(_ time: String) -> [String] {
        let subject = "00000000-0000-4000-8000-0000000000aa"
        return [
            #"{"id":"\#(UUIDText.string(UUID()))","source":"test","type":"cv.parsed","subject":"\#(subject)","time":"\#(time)","data":{"cv_id":"00000000-0000-4000-8000-0000000000bb","skills":["Go"],"experience":[{"title":"Dev","company":"Y","months":30}],"education":[{"degree":"BSc","institution":"U","year":2010}]}}"#,
        ]
    }

    func testEveryIntegerFieldReadsTheSameWhateverItsSpelling() throws {
        let fields = try Self.integerFields()
        // The walk finds fields through $ref and inside arrays.
        XCTAssertEqual(fields["mentorship.session_held"], [["duration_minutes"], ["mentee_rating"]])
        XCTAssertEqual(fields["cv.parsed"], [["education", "*", "year"], ["experience", "*", "months"]])
        XCTAssertGreaterThanOrEqual(fields.values.map(\.count).reduce(0, +), 11, "integer fields found: \(fields)")
        var generator = HistoryGenerator(options: GeneratorOptions(users: 40, seed: 77, months: 12))
        var envelopes: [Envelope] = []
        while let value = generator.next() { envelopes.append(try Envelope(json: value)) }
        for line in Self.extraEvents(envelopes.last!.time.rfc3339) { envelopes.append(try Envelope.decode(line: Array(line.utf8))) }
        let registry = AnalyticsProjection.schemaRegistry
        let catalog = try repositoryCatalog()
        var digests: [Spelling: [String: [String: String]]] = [:]
        for spelling in Spelling.allCases {
            var covered: [String: Int] = [:]
            var events: [LogEvent] = []
            for envelope in envelopes {
                var event = envelope
                for path in fields[event.type] ?? [] {
                    var count = 0
                    event.data = Self.respellData(event.data, path, spelling, count: &count)
                    covered["\(event.type) \(path.joined(separator: "."))", default: 0] += count
                }
                try registry.validate(event)
                events.append(LogEvent(event))
            }
            for (type, paths) in fields {
                for path in paths {
                    XCTAssertGreaterThan(covered["\(type) \(path.joined(separator: "."))"] ?? 0, 0,
                                         "no event has \(type) \(path.joined(separator: ".")): add one to extraEvents")
                }
            }
            digests[spelling] = try build(events, catalog: catalog)
        }
        for spelling in [Spelling.fraction, .exponent] {
            for definition in catalog.definitions {
                let plain = digests[.plain]![definition.name]!, other = digests[spelling]![definition.name]!
                XCTAssertEqual(plain.keys.sorted(), other.keys.sorted(), definition.name)
                for relation in plain.keys.sorted() where plain[relation] != other[relation] {
                    XCTFail("\(definition.name).\(relation) differs when integers are written as \(spelling)")
                }
            }
        }
    }

    static func respellData(_ data: JSONObject, _ path: FieldPath, _ spelling: Spelling, count: inout Int) -> JSONObject {
        guard case .object(let object) = respell(.object(data), path[...], spelling, count: &count) else { return data }
        return object
    }

    /// Every projection of `catalog` built from `events` by the real
    /// projector; digests of every relation by projection. A projection
    /// that stops on an event fails the test.
    private func build(_ events: [LogEvent], catalog: ProjectionCatalog) throws -> [String: [String: String]] {
        let f = try ProjectorFixture("integers")
        try f.log.append(events)
        try f.log.sync()
        let projector = Projector(url: f.url, log: f.log, catalog: catalog, logger: testLogger)
        try projector.ensureLiveTargets()
        while try projector.step() > 0 {}
        try projector.refreshDue(caughtUp: true)
        var out: [String: [String: String]] = [:]
        for (schema, target) in try f.targets() {
            XCTAssertEqual(target.state, .live, "\(schema) stopped at seq \(target.failedSeq ?? 0): \(target.failedReason ?? "")")
            out[schema] = try relationDigest(f.connection, schema: schema)
        }
        return out
    }
}
