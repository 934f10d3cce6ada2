import Foundation
import TestSupport
import XCTest

@testable import EventLog

/// Format version 1, pinned: `Golden/` holds a segment, its index and its
/// durable mark written by the writer from `GoldenLog`'s fixed input. A
/// change to the bytes the writer produces, or to how they decode, fails
/// here and shows in review. `expected.ndjson` (checked in ReplayTests,
/// where the JSON codec lives) is the same log as a replay prints it.
///
/// To regenerate after a deliberate format change (and a new version
/// number): `CAREERLOG_WRITE_GOLDEN=1 swift test --filter GoldenSegmentTests`
/// then the ReplayTests golden test likewise, and review the diff.
final class GoldenSegmentTests: XCTestCase {
    static let files = ["00000000000000000001.seg", "00000000000000000001.idx", "DURABLE"]

    /// The committed files, from the test bundle.
    private func goldenDirectory() throws -> String {
        let url = try XCTUnwrap(Bundle.module.url(forResource: "Golden", withExtension: nil), "Golden/ is missing from the test bundle")
        return url.path
    }

    func testTodaysWriterReproducesTheGoldenBytes() throws {
        let dir = makeTemporaryDirectory()
        try GoldenLog.write(to: dir)
        if ProcessInfo.processInfo.environment["CAREERLOG_WRITE_GOLDEN"] == "1" {
            let source = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Golden").path
            try FileManager.default.createDirectory(atPath: source, withIntermediateDirectories: true)
            for name in Self.files { writeBytes(fileBytes(dir + "/" + name), source + "/" + name) }
        }
        let golden = try goldenDirectory()
        XCTAssertEqual(Set(segmentFiles(dir)), ["00000000000000000001.seg"])
        for name in Self.files {
            let written = fileBytes(dir + "/" + name)
            let pinned = fileBytes(golden + "/" + name)
            XCTAssertEqual(written.count, pinned.count, name)
            XCTAssertNil(written.indices.first { $0 < pinned.count && written[$0] != pinned[$0] }, "\(name) differs from the golden file at the byte given")
        }
    }

    func testTheGoldenSegmentDecodesToTheFixedInput() throws {
        let dir = makeTemporaryDirectory()
        let golden = try goldenDirectory()
        for name in Self.files { writeBytes(fileBytes(golden + "/" + name), dir + "/" + name) }
        let log = try EventLog.open(directory: dir, mode: .readOnly)
        let records = try readAll(log)
        let expected = GoldenLog.expectedRecords()
        XCTAssertEqual(records.count, expected.count)
        for (got, want) in zip(records, expected) { XCTAssertEqual(got, want, "seq \(want.seq)") }
        XCTAssertGreaterThanOrEqual(log.state.segments[0].entries.count, 4, "the input spans several frames")
        XCTAssertEqual(log.state.segments[0].entries.map(\.count), GoldenLog.expectedFrameCounts)
        XCTAssertEqual(try EventLog.verify(directory: dir).events, UInt64(expected.count))
        // The index and the mark decode to what the segment says.
        let idx = SegmentIndexFile.decode(fileBytes(dir + "/00000000000000000001.idx"), segmentBase: 1,
                                          segmentLength: Int64(fileBytes(dir + "/00000000000000000001.seg").count))
        XCTAssertEqual(idx, log.state.segments[0].entries)
        XCTAssertEqual(DurableMark.read(directory: dir),
                       DurableMark(segmentBase: 1, length: Int64(fileBytes(dir + "/00000000000000000001.seg").count), lastSeq: UInt64(expected.count)))
    }
}

/// The fixed input of the golden log: a fixed clock and events covering the
/// format's corners (a leap second, offsets, every kind of fraction, several
/// (source, type) pairs, data versions needing multi-byte varints, times
/// before the frame's time base and before 1970, frames cut by size and by
/// the end of an append).
enum GoldenLog {
    /// 2026-12-01T09:00:00Z, µs.
    static let clockStart: Int64 = 1_796_115_600_000_000
    /// Each append is recorded this much later than the one before (µs).
    static let clockStep: Int64 = 1_234_567

    static let limits: LogLimits = {
        var limits = LogLimits()
        limits.frameTargetBytes = 1024
        return limits
    }()

    private static func uuid(_ n: Int) -> UUID {
        UUID(uuidString: String(format: "%08x-0000-4000-8000-%012x", n * 7919, n))!
    }

    private static func event(
        _ n: Int, _ time: EventTime, _ source: String, _ type: String, version: UInt32 = 1, data: String
    ) -> LogEvent {
        LogEvent(id: uuid(n), subject: uuid(1000 + n % 3), time: time, source: source, type: type,
                 dataVersion: version, data: Array(data.utf8))
    }

    /// One array per append call.
    static let batches: [[LogEvent]] = [
        [
            event(1, EventTime(seconds: 1_796_115_540, nanoseconds: 694_000_000, offsetMinutes: 330, fractionDigits: 3),
                  "careerforge-api", "skill.assessed", data: #"{"skill":"swift","score":3e1,"level":30.0}"#),
            // 2016-12-31T23:59:60Z, a leap second: stored as :59 with bit 7.
            event(2, EventTime(seconds: 1_483_228_799, offsetMinutes: 0, fractionDigits: 0, isLeapSecond: true),
                  "careerforge-api", "user.registered", data: #"{"name":"Zoë Ünal"}"#),
            event(3, EventTime(seconds: 1_796_115_541, nanoseconds: 500_000_000, offsetMinutes: -480, fractionDigits: 1),
                  "mentor-hub", "mentorship.session_held", version: 2, data: #"{"duration_minutes":45,"mentee_rating":5}"#),
            // Before 1970, with every fraction digit.
            event(4, EventTime(seconds: -14_182_940, nanoseconds: 123_456_789, offsetMinutes: 840, fractionDigits: 9),
                  "careerforge-api", "skill.assessed", data: #"{"skill":"apollo","score":1}"#),
        ],
        [
            event(5, EventTime(seconds: 1_796_115_600, nanoseconds: 120_000, offsetMinutes: -90, fractionDigits: 6),
                  "jobboard", "application.sent", version: 300, data: #"{"job":"j-1","note":"\#(String(repeating: "rust and swift ", count: 40))"}"#),
            event(6, EventTime(seconds: 1_796_115_601, nanoseconds: 0, offsetMinutes: 0, fractionDigits: 3),
                  "jobboard", "application.sent", data: #"{"job":"j-2","note":"\#(String(repeating: "kotlin ", count: 90))"}"#),
            // A fraction the written digits cannot hold exactly (built in
            // code, never parsed): stored as nanoseconds with bit 6.
            event(7, EventTime(seconds: 1_796_115_602, nanoseconds: 123_456_789, offsetMinutes: 60, fractionDigits: 3),
                  "careerforge-api", "skill.assessed", data: #"{"skill":"sql","score":-0.5}"#),
        ],
        [
            event(8, EventTime(seconds: 1_796_115_700, nanoseconds: 999_999_999, offsetMinutes: -1439, fractionDigits: 9),
                  "mentor-hub", "mentorship.session_held", version: 2, data: #"{"duration_minutes":30.0,"mentee_rating":4}"#),
        ],
    ]

    /// Events per frame the writer cuts from `batches`.
    static let expectedFrameCounts: [UInt32] = [4, 2, 1, 1]

    /// Writes the golden log into `directory`: one append and sync per batch, then a clean close.
    static func write(to directory: String) throws {
        let clock = TestClock(clockStart)
        let log = try EventLog.open(directory: directory, limits: limits, clock: clock.function)
        for batch in batches {
            try log.append(batch)
            try log.sync()
            clock.now += clockStep
        }
        try log.close()
        try? FileManager.default.removeItem(atPath: directory + "/LOCK")
    }

    /// What reading the golden log must give.
    static func expectedRecords() -> [EventRecord] {
        var records: [EventRecord] = []
        for (i, batch) in batches.enumerated() {
            for event in batch {
                records.append(EventRecord(seq: UInt64(records.count + 1), recorded: clockStart + Int64(i) * clockStep, event: event))
            }
        }
        return records
    }
}
