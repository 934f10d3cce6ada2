import Foundation
import TestSupport
import XCTest

@testable import EventLog

/// Frame version 2 (the producer table) pinned as `Golden/` pins version 1:
/// `Golden/producers/` holds a log written from `GoldenProducersLog`'s fixed
/// input, mixing version 1 frames (no producer) and version 2 frames.
///
/// To regenerate after a deliberate format change:
/// `CAREERLOG_WRITE_GOLDEN=1 swift test --filter GoldenProducersTests`, and review the diff.
final class GoldenProducersTests: XCTestCase {
    private func goldenDirectory() throws -> String {
        let url = try XCTUnwrap(Bundle.module.url(forResource: "Golden", withExtension: nil), "Golden/ is missing from the test bundle")
        return url.path + "/producers"
    }

    func testTodaysWriterReproducesTheGoldenBytes() throws {
        let dir = makeTemporaryDirectory()
        try GoldenProducersLog.write(to: dir)
        if ProcessInfo.processInfo.environment["CAREERLOG_WRITE_GOLDEN"] == "1" {
            let source = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Golden/producers").path
            try FileManager.default.createDirectory(atPath: source, withIntermediateDirectories: true)
            for name in GoldenSegmentTests.files { writeBytes(fileBytes(dir + "/" + name), source + "/" + name) }
        }
        let golden = try goldenDirectory()
        for name in GoldenSegmentTests.files {
            let written = fileBytes(dir + "/" + name)
            let pinned = fileBytes(golden + "/" + name)
            XCTAssertEqual(written.count, pinned.count, name)
            XCTAssertNil(written.indices.first { $0 < pinned.count && written[$0] != pinned[$0] }, "\(name) differs from the golden file at the byte given")
        }
    }

    func testTheGoldenLogDecodesToTheFixedInput() throws {
        let dir = makeTemporaryDirectory()
        let golden = try goldenDirectory()
        for name in GoldenSegmentTests.files { writeBytes(fileBytes(golden + "/" + name), dir + "/" + name) }
        let log = try EventLog.open(directory: dir, mode: .readOnly)
        let records = try readAll(log)
        let expected = GoldenProducersLog.expectedRecords()
        XCTAssertEqual(records.count, expected.count)
        for (got, want) in zip(records, expected) { XCTAssertEqual(got, want, "seq \(want.seq)") }
        XCTAssertEqual(records.map(\.event.producer), GoldenProducersLog.expectedProducers)
        XCTAssertEqual(log.state.segments[0].entries.map(\.count), GoldenProducersLog.expectedFrameCounts)
        XCTAssertEqual(try frameVersions(dir + "/00000000000000000001.seg", log.state.segments[0].entries.map(\.offset)),
                       GoldenProducersLog.expectedFrameVersions)
        XCTAssertEqual(try EventLog.verify(directory: dir).events, UInt64(expected.count))
    }

    func testALogWrittenBeforeProducersReadsWithoutProducers() throws {
        let dir = makeTemporaryDirectory()
        let golden = try XCTUnwrap(Bundle.module.url(forResource: "Golden", withExtension: nil)).path
        for name in GoldenSegmentTests.files { writeBytes(fileBytes(golden + "/" + name), dir + "/" + name) }
        let log = try EventLog.open(directory: dir, mode: .readOnly)
        let records = try readAll(log)
        XCTAssertEqual(records.count, 8)
        XCTAssertEqual(records.map(\.event.producer), Array(repeating: nil, count: 8))
        XCTAssertEqual(try frameVersions(dir + "/00000000000000000001.seg", log.state.segments[0].entries.map(\.offset)), [1, 1, 1, 1])
        // A producer filter finds nothing in it, and says so by reading to the end.
        let reader = log.reader()
        reader.producerFilter = { $0 == "careerforge-api" }
        XCTAssertNil(try reader.next())
        XCTAssertEqual(reader.position, 9)
    }

    /// Byte 4 of each frame header.
    private func frameVersions(_ path: String, _ offsets: [Int64]) throws -> [UInt8] {
        let bytes = fileBytes(path)
        return offsets.map { bytes[Int($0) + 4] }
    }
}

/// The fixed input of the producers golden log: version 1 frames before and
/// after version 2 ones, a version 1 frame cut by the first event with a
/// producer, an event without a producer inside a version 2 frame, several
/// producers in one frame, and the longest name the log holds.
enum GoldenProducersLog {
    static let clockStart: Int64 = 1_796_115_600_000_000
    static let clockStep: Int64 = 1_234_567
    static let longestName = String(repeating: "n", count: 255)

    private static func uuid(_ n: Int) -> UUID {
        UUID(uuidString: String(format: "%08x-0000-4000-8000-%012x", n * 104_729, n))!
    }

    private static func event(_ n: Int, _ producer: String?, _ source: String, _ type: String, data: String) -> LogEvent {
        LogEvent(id: uuid(n), subject: uuid(2000 + n % 2), time: EventTime(seconds: 1_796_115_500 + Int64(n) * 7, nanoseconds: 250_000_000, fractionDigits: 2),
                 source: source, type: type, data: Array(data.utf8), producer: producer)
    }

    static let batches: [[LogEvent]] = [
        [
            event(1, nil, "careerforge-api", "user.registered", data: #"{"plan":"free"}"#),
            event(2, nil, "careerforge-api", "skill.assessed", data: #"{"skill":"swift","score":4}"#),
            // The first event with a producer cuts the version 1 frame.
            event(3, "careerforge-api", "careerforge-api", "skill.assessed", data: #"{"skill":"sql","score":2}"#),
            event(4, "mentor-service", "mentor-hub", "mentorship.session_held", data: #"{"duration_minutes":45}"#),
            event(5, nil, "careerforge-api", "user.registered", data: #"{"plan":"pro"}"#),
            event(6, "careerforge-api", "careerforge-api", "skill.assessed", data: #"{"skill":"go","score":3}"#),
        ],
        [
            event(7, longestName, "jobboard", "application.sent", data: #"{"job":"j-7"}"#),
        ],
        [
            event(8, nil, "jobboard", "application.sent", data: #"{"job":"j-8"}"#),
        ],
    ]

    static let expectedFrameCounts: [UInt32] = [2, 4, 1, 1]
    static let expectedFrameVersions: [UInt8] = [1, 2, 2, 1]
    static let expectedProducers: [String?] = [nil, nil, "careerforge-api", "mentor-service", nil, "careerforge-api", longestName, nil]

    static func write(to directory: String) throws {
        let clock = TestClock(clockStart)
        let log = try EventLog.open(directory: directory, limits: GoldenLog.limits, clock: clock.function)
        for batch in batches {
            try log.append(batch)
            try log.sync()
            clock.now += clockStep
        }
        try log.close()
        try? FileManager.default.removeItem(atPath: directory + "/LOCK")
    }

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
