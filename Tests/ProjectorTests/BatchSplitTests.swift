import CareerEvents
import EventGenerator
import EventLog
import Foundation
import StoredEventCodec
import Postgres
import TestSupport
import XCTest

// swift-log also has a `LogEvent`; ours is the log's.
import struct EventLog.LogEvent

@testable import Projector

/// Every read model of `Projections/` is independent of where batches
/// begin and end: the real `BatchApplier` applies one history cut into
/// different batches (all in one, random sizes from 1 up, one event per
/// batch, every batch applied twice) and every table and view of every
/// projection must hold the same rows as the one-batch build.
///
/// The history is a generated one made harder: shuffled within windows (so
/// updates arrive before what they update), some events re-sent later under
/// a new id and sometimes another time (repeated keys, "first by time" that
/// is not first by seq), and erasures at random places (PII before and
/// after them).
final class BatchSplitTests: XCTestCase {
    nonisolated(unsafe) static var fixture: (records: [EventRecord], reference: [String: [String: String]])?

    override func setUpWithError() throws {
        guard Self.fixture == nil else { return }
        let records = try Self.records(Self.scrambled(seed: 5))
        let reference = try Self.build(records, sizes: [records.count])
        Self.fixture = (records, reference)
    }

    func testRandomSplitsGiveTheSameRows() throws {
        let (records, reference) = Self.fixture!
        var random = SplitMix(seed: 17)
        for _ in 0..<2 {
            var sizes: [Int] = []
            var left = records.count
            while left > 0 {
                // Many small batches, some large: boundaries land everywhere.
                let size = min(left, random.next() % 4 == 0 ? 1 + Int(random.next() % 700) : 1 + Int(random.next() % 9))
                sizes.append(size)
                left -= size
            }
            try assertSame(try Self.build(records, sizes: sizes), reference, "sizes \(sizes.prefix(20))...")
        }
    }

    func testOneEventPerBatchGivesTheSameRows() throws {
        let (records, reference) = Self.fixture!
        // The first 150 events one by one (every kind of pair of neighbours),
        // the rest in one batch.
        let singles = min(150, records.count)
        try assertSame(try Self.build(records, sizes: Array(repeating: 1, count: singles) + [records.count - singles]), reference, "singles")
    }

    func testEveryBatchAppliedTwiceGivesTheSameRows() throws {
        let (records, reference) = Self.fixture!
        let sizes = stride(from: 0, to: records.count, by: 97).map { min(97, records.count - $0) }
        try assertSame(try Self.build(records, sizes: sizes, twice: true), reference, "twice")
    }

    private func assertSame(_ build: [String: [String: String]], _ reference: [String: [String: String]], _ label: String,
                            file: StaticString = #filePath, line: UInt = #line) throws {
        XCTAssertEqual(build.keys.sorted(), reference.keys.sorted(), label, file: file, line: line)
        for (schema, relations) in reference.sorted(by: { $0.key < $1.key }) {
            for (relation, digest) in relations.sorted(by: { $0.key < $1.key }) where build[schema]?[relation] != digest {
                XCTFail("\(schema).\(relation) differs from the one-batch build (\(label))", file: file, line: line)
            }
        }
    }

    /// Builds every projection from `records` in batches of `sizes` through
    /// the real `BatchApplier`; with `twice`, each batch is applied again
    /// after moving the checkpoints back. Digests by schema and relation.
    static func build(_ records: [EventRecord], sizes: [Int], twice: Bool = false) throws -> [String: [String: String]] {
        try buildKeepingDatabase(records, sizes: sizes, twice: twice).digests
    }

    /// `build`, with a connection to the database built (for more checks).
    static func buildKeepingDatabase(
        _ records: [EventRecord], sizes: [Int], twice: Bool = false
    ) throws -> (digests: [String: [String: String]], connection: PostgresConnection) {
        let f = try ProjectorFixture("split")
        let catalog = try repositoryCatalog()
        for definition in catalog.definitions {
            try ProjectionStore.create(f.connection, schema: definition.name, definition: definition, role: .live, state: .live)
        }
        let applier = BatchApplier(connection: f.connection, pii: nil)
        var start = 0
        for size in sizes where size > 0 {
            let batch = Array(records[start..<(start + size)])
            try applier.load(batch)
            for definition in catalog.definitions {
                try applyChecked(applier, definition, upTo: batch.last!.seq)
                if twice {
                    try ProjectionStore.rewind(f.connection, schema: definition.name, to: batch.first!.seq - 1)
                    try applyChecked(applier, definition, upTo: batch.last!.seq)
                }
            }
            start += size
        }
        var out: [String: [String: String]] = [:]
        for definition in catalog.definitions {
            if let refresh = definition.refreshSQL(in: definition.name) { try f.connection.execute(refresh) }
            out[definition.name] = try relationDigest(f.connection, schema: definition.name)
        }
        return (out, f.connection)
    }

    private static func applyChecked(_ applier: BatchApplier, _ definition: ProjectionDefinition, upTo seq: UInt64) throws {
        let outcome = try applier.apply(to: definition.name, definition: definition, eventsPerSecond: nil)
        guard case .applied(seq, _) = outcome else {
            throw ProjectorError(code: .eventNotApplied, location: definition.name, reason: "expected the batch up to \(seq) applied, got \(outcome)")
        }
    }

    /// The events as the log stores them: appended to a real log and read back.
    static func records(_ envelopes: [Envelope]) throws -> [EventRecord] {
        try records(envelopes.map { LogEvent($0) })
    }

    static func records(_ events: [LogEvent]) throws -> [EventRecord] {
        let log = try EventLog.open(directory: makeTemporaryDirectory("split") + "/log")
        try log.append(events)
        try log.sync()
        let reader = log.reader(fromSeq: 1)
        var out: [EventRecord] = []
        while let record = try reader.next() { out.append(record) }
        return out
    }

    /// A generated history, shuffled within windows of 300 events, 3% re-sent
    /// later under a new id (half of them at another time, up to 5 days off),
    /// and 2% of the subjects erased at random places.
    static func scrambled(seed: UInt64) throws -> [Envelope] {
        var generator = HistoryGenerator(options: GeneratorOptions(users: 40, seed: seed, months: 12))
        var events: [Envelope] = []
        while let value = generator.next() { events.append(try Envelope(json: value)) }
        var random = SplitMix(seed: seed)
        var out: [Envelope] = []
        for start in stride(from: 0, to: events.count, by: 300) {
            var window = Array(events[start..<min(start + 300, events.count)])
            window.shuffle(using: &random)
            out.append(contentsOf: window)
        }
        for _ in 0..<(events.count * 3 / 100) {
            var copy = events[Int(random.next() % UInt64(events.count))]
            copy.id = UUID()
            if random.next() % 2 == 0 {
                copy.time.seconds += Int64(random.next() % (10 * 86_400)) - 5 * 86_400
            }
            out.insert(copy, at: Int(random.next() % UInt64(out.count + 1)))
        }
        let subjects = Array(Set(events.map(\.subject))).sorted { $0.uuidString < $1.uuidString }
        for _ in 0..<max(1, subjects.count / 50) {
            let subject = subjects[Int(random.next() % UInt64(subjects.count))]
            let line = #"{"id":"\#(UUIDText.string(UUID()))","source":"test","type":"user.erased","subject":"\#(UUIDText.string(subject))","time":"\#(events[0].time.rfc3339)","data":{"reason":"test"}}"#
            out.insert(try Envelope.decode(line: Array(line.utf8)), at: Int(random.next() % UInt64(out.count + 1)))
        }
        return out
    }
}

