import Foundation
import TestSupport
import XCTest

@testable import EventLog

/// Segment format version 2, pinned: `Golden/recompressed/` holds a log of
/// 300 fixed events (`makeEvents` with a fixed seed and clock; the golden
/// log of `Golden/` is too small for a dictionary to pay) with its segment
/// sealed (an empty next segment after it) and recompressed (LZ4 HC 12 and
/// a dictionary). Today's recompressor must
/// reproduce it byte for byte and today's reader decode it to the same events.
///
/// To regenerate after a deliberate change: `CAREERLOG_WRITE_GOLDEN=1 swift test
/// --filter GoldenRecompressedTests`, and review the diff.
final class GoldenRecompressedTests: XCTestCase {
    static let files = ["00000000000000000001.seg", "00000000000000000001.idx"]

    static let limits: LogLimits = {
        var limits = LogLimits()
        limits.frameTargetBytes = 4 << 10
        return limits
    }()
    static let events = makeEvents(300, seed: 11, dataBytes: 60...300)

    /// What reading it must give: batches of 50, each recorded a second later.
    static func expectedRecords() -> [EventRecord] {
        events.enumerated().map { i, event in
            EventRecord(seq: UInt64(i + 1), recorded: GoldenLog.clockStart + Int64(i / 50) * 1_000_000, event: event)
        }
    }

    /// The fixed log, sealed by a next segment, recompressed.
    private func writeRecompressed(to dir: String) throws {
        let clock = TestClock(GoldenLog.clockStart)
        let writer = try EventLog.open(directory: dir, limits: Self.limits, clock: clock.function)
        for start in stride(from: 0, to: Self.events.count, by: 50) {
            try writer.append(Array(Self.events[start..<start + 50]))
            try writer.sync()
            clock.now += 1_000_000
        }
        try writer.close()
        let created = try SegmentWriter.createSegment(directory: dir, baseSeq: UInt64(Self.events.count + 1))
        close(created.fd)
        let log = try EventLog.open(directory: dir, limits: Self.limits)
        let report = try log.recompressSealedSegments()
        XCTAssertEqual(report.segments.count, 1)
        try log.close()
        try? FileManager.default.removeItem(atPath: dir + "/LOCK")
    }

    private func goldenDirectory() throws -> String {
        let url = try XCTUnwrap(Bundle.module.url(forResource: "Golden", withExtension: nil), "Golden/ is missing from the test bundle")
        return url.path + "/recompressed"
    }

    func testTodaysRecompressorReproducesTheGoldenBytes() throws {
        let dir = makeTemporaryDirectory()
        try writeRecompressed(to: dir)
        if ProcessInfo.processInfo.environment["CAREERLOG_WRITE_GOLDEN"] == "1" {
            let source = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Golden/recompressed").path
            try FileManager.default.createDirectory(atPath: source, withIntermediateDirectories: true)
            for name in Self.files { writeBytes(fileBytes(dir + "/" + name), source + "/" + name) }
        }
        let golden = try goldenDirectory()
        for name in Self.files {
            let written = fileBytes(dir + "/" + name)
            let pinned = fileBytes(golden + "/" + name)
            XCTAssertEqual(written.count, pinned.count, name)
            XCTAssertNil(written.indices.first { $0 < pinned.count && written[$0] != pinned[$0] }, "\(name) differs from the golden file at the byte given")
        }
    }

    func testTheGoldenRecompressedSegmentDecodesToTheFixedInput() throws {
        let dir = makeTemporaryDirectory()
        let golden = try goldenDirectory()
        for name in Self.files { writeBytes(fileBytes(golden + "/" + name), dir + "/" + name) }
        let segment = fileBytes(dir + "/00000000000000000001.seg")
        XCTAssertEqual(segment.withUnsafeBytes { $0.loadLE(UInt32.self, at: 8) }, SegmentHeader.versionWithDictionary)
        let log = try EventLog.open(directory: dir, limits: Self.limits, mode: .readOnly)
        let records = try readAll(log)
        let expected = Self.expectedRecords()
        XCTAssertEqual(records.count, expected.count)
        for (got, want) in zip(records, expected) { XCTAssertEqual(got, want, "seq \(want.seq)") }
        XCTAssertGreaterThan(log.state.segments[0].entries.count, 10, "many frames")
        XCTAssertEqual(try EventLog.verify(directory: dir, limits: Self.limits).events, UInt64(expected.count))
        // The same frames as the fast form, in fewer bytes.
        let fast = makeTemporaryDirectory("fast")
        let clock = TestClock(GoldenLog.clockStart)
        let writer = try EventLog.open(directory: fast, limits: Self.limits, clock: clock.function)
        for start in stride(from: 0, to: Self.events.count, by: 50) {
            try writer.append(Array(Self.events[start..<start + 50]))
            try writer.sync()
            clock.now += 1_000_000
        }
        XCTAssertEqual(writer.state.segments[0].entries.map(\.baseSeq), log.state.segments[0].entries.map(\.baseSeq))
        try writer.close()
        XCTAssertLessThan(segment.count, fileBytes(fast + "/00000000000000000001.seg").count)
    }
}
