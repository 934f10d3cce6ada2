import CareerEvents
import EventLog
import Foundation
import Replay
import StoredEventCodec
import TestSupport
import XCTest

/// `replay --producer` and the `producer` member of replayed lines.
///
///     frame  seq  producer          type
///     1      1    -                 application.sent      (version 1 frame)
///            2    -                 skill.assessed
///     2      3    careerforge-api   application.sent
///            4    mentor-service    mentorship.started
///     3      5    careerforge-api   skill.assessed
///            6    -                 application.sent      (no producer inside a version 2 frame)
///     4      7    nightly-import    user.registered
final class ReplayProducerTests: XCTestCase {
    private static let rows: [[(String?, String)]] = [
        [(nil, "application.sent"), (nil, "skill.assessed")],
        [("careerforge-api", "application.sent"), ("mentor-service", "mentorship.started")],
        [("careerforge-api", "skill.assessed"), (nil, "application.sent")],
        [("nightly-import", "user.registered")],
    ]

    private static func write(_ name: String = #function) throws -> String {
        let directory = makeTemporaryDirectory(name)
        let clock = TestClock()
        clock.now.store(us("2025-06-01"), ordering: .relaxed)
        let log = try EventLog.open(directory: directory, clock: { clock.now.load(ordering: .relaxed) })
        var n: UInt64 = 0
        for frame in rows {
            try log.append(frame.map { producer, type in
                n += 1
                return LogEvent(id: Fixture.eventID(n), subject: Subject.a, time: EventTime(seconds: 1_748_736_000 + Int64(n)),
                                source: "careerforge-api", type: type, data: Array(#"{"n":\#(n)}"#.utf8), producer: producer)
            })
            try log.sync()
        }
        try log.close()
        return directory
    }

    private func seqs(producers: [String], types: [String] = []) throws -> [UInt64] {
        let directory = try Self.write(name)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        return try replaySeqs(directory, try ReplayFilter(types: types, producers: producers))
    }

    func testProducerFilterKeepsExactlyThatProducersEvents() throws {
        XCTAssertEqual(try seqs(producers: ["careerforge-api"]), [3, 5])
        XCTAssertEqual(try seqs(producers: ["mentor-service"]), [4])
        XCTAssertEqual(try seqs(producers: ["nightly-import", "mentor-service"]), [4, 7], "repeated values are alternatives")
        XCTAssertEqual(try seqs(producers: ["nobody"]), [])
        XCTAssertEqual(try seqs(producers: []), Array(1...7), "no --producer: every event, with a producer or not")
    }

    func testProducerAndTypeFiltersCombine() throws {
        XCTAssertEqual(try seqs(producers: ["careerforge-api"], types: ["application.*"]), [3])
        XCTAssertEqual(try seqs(producers: ["careerforge-api"], types: ["user.registered"]), [])
    }

    func testInvalidProducerNamesAreRefusedWithTheRule() {
        let rule = "names are 1 to 64 of a-z, 0-9, '.', '_' and '-', starting with a letter or digit, as in the producers file"
        for bad in ["", "CareerForge", "-api", "api key", "café", String(repeating: "a", count: 65)] {
            XCTAssertThrowsError(try ReplayFilter(producers: [bad]), bad) { error in
                XCTAssertEqual((error as? ReplayError)?.message, "--producer '\(bad)' is not a producer name: \(rule)")
                XCTAssertEqual((error as? ReplayError)?.code, .invalidArgument)
            }
        }
        XCTAssertEqual(try ReplayFilter(producers: [String(repeating: "a", count: 64), "0.x_y-z"]).producers,
                       [String(repeating: "a", count: 64), "0.x_y-z"])
    }

    func testReplayedLinesCarryTheProducerOnlyWhenThereIsOne() throws {
        let directory = try Self.write()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let reader = try EventLog.open(directory: directory, mode: .readOnly).reader()
        var lines: [String] = []
        while let record = try reader.next() {
            var out: [UInt8] = []
            RecordJSON.appendLine(record, to: &out)
            lines.append(String(decoding: out, as: UTF8.self))
        }
        XCTAssertEqual(lines.count, 7)
        XCTAssertEqual(lines[2], #"{"seq":3,"recorded":"2025-06-01T00:00:00.000000Z","producer":"careerforge-api","id":"00000000-0000-4000-8000-000000000003","source":"careerforge-api","type":"application.sent","dataversion":1,"subject":"aaaaaaaa-0000-4000-8000-000000000001","time":"2025-06-01T00:00:03Z","data":{"n":3}}"# + "\n")
        XCTAssertEqual(lines[5], #"{"seq":6,"recorded":"2025-06-01T00:00:00.000000Z","id":"00000000-0000-4000-8000-000000000006","source":"careerforge-api","type":"application.sent","dataversion":1,"subject":"aaaaaaaa-0000-4000-8000-000000000001","time":"2025-06-01T00:00:06Z","data":{"n":6}}"# + "\n")
        XCTAssertEqual(lines.map { $0.contains(#""producer":"#) }, [false, false, true, true, true, false, true])
        // Every line is one JSON object whose producer is the stored one.
        let producers = lines.map { line -> String? in
            guard case .object(let object) = try! JSONParser.parse(Array(line.utf8.dropLast())) else { return "not an object" }
            if case .string(let producer)? = object["producer"] { return producer }
            return nil
        }
        XCTAssertEqual(producers, Self.rows.flatMap { $0.map(\.0) })
    }

    func testAProducerNeedingEscapesIsWrittenAsJSON() throws {
        // The log holds any 1 to 255 bytes; the door gives only safe names, but the writer must not trust that.
        let id = Fixture.eventID(1)
        let record = EventRecord(seq: 1, recorded: 0, event: LogEvent(
            id: id, subject: id, time: EventTime(seconds: 0), source: "s", type: "t", data: Array("{}".utf8), producer: "a\"b\\c\u{1}"))
        var out: [UInt8] = []
        RecordJSON.appendLine(record, to: &out)
        XCTAssertTrue(String(decoding: out, as: UTF8.self).contains(#""producer":"a\"b\\c\u0001","id""#), String(decoding: out, as: UTF8.self))
    }
}
