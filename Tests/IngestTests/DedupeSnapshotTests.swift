import EventLog
import Foundation
import Ingest
import TestSupport
import XCTest

/// The window saved at a clean stop is used at the next start only when it
/// agrees with the log, and then answers exactly as a window read from the
/// log would.
final class DedupeSnapshotTests: XCTestCase {
    private var random = SplitMix(seed: 21)

    private func events(_ count: Int) -> [LogEvent] {
        (0..<count).map { _ in
            let id = random.uuid()
            return LogEvent(id: id, subject: id, time: EventTime(seconds: 1_700_000_000), source: "test", type: "user.erased",
                            data: Array(#"{"reason":"user_request"}"#.utf8))
        }
    }

    private func append(_ log: EventLog, _ batch: [LogEvent]) throws {
        try log.append(batch)
        try log.sync()
    }

    /// Every id of the log and some never stored get the same answer.
    private func assertSameAnswers(_ a: DedupeWindow, _ b: DedupeWindow, ids: [UUID], file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(a.count, b.count, "count", file: file, line: line)
        XCTAssertEqual(a.newestSeq, b.newestSeq, "newest seq", file: file, line: line)
        for id in ids + (0..<500).map({ _ in random.uuid() }) where a.seq(of: id) != b.seq(of: id) {
            return XCTFail("\(id): \(String(describing: a.seq(of: id))) vs \(String(describing: b.seq(of: id)))", file: file, line: line)
        }
    }

    func testASnapshotPlusTheLogsTailAnswersLikeTheLog() throws {
        let directory = makeTemporaryDirectory()
        let log = try EventLog.open(directory: directory + "/log")
        var all: [LogEvent] = []
        for _ in 0..<5 { let batch = events(700); all += batch; try append(log, batch) }
        let path = directory + "/dedupe.snapshot"
        try DedupeSnapshot.write(try DedupeWindow.load(from: log, capacity: 2_000), to: path)

        // Unchanged log: the snapshot alone.
        assertSameAnswers(try DedupeSnapshot.load(from: path, log: log, capacity: 2_000),
                          try DedupeWindow.load(from: log, capacity: 2_000), ids: all.map(\.id))
        // More events since (a crash after the snapshot): the tail is read from the log.
        for _ in 0..<2 { let batch = events(450); all += batch; try append(log, batch) }
        let caughtUp = try DedupeSnapshot.load(from: path, log: log, capacity: 2_000)
        assertSameAnswers(caughtUp, try DedupeWindow.load(from: log, capacity: 2_000), ids: all.map(\.id))
        XCTAssertEqual(caughtUp.newestSeq, 4_400)
        try log.close()
    }

    func testADamagedOrForeignSnapshotIsRejectedWithItsReason() throws {
        let directory = makeTemporaryDirectory()
        let log = try EventLog.open(directory: directory + "/log")
        try append(log, events(300))
        let path = directory + "/dedupe.snapshot"
        try DedupeSnapshot.write(try DedupeWindow.load(from: log, capacity: 1_000), to: path)

        XCTAssertThrowsError(try DedupeSnapshot.load(from: path, log: log, capacity: 999)) {
            XCTAssertTrue("\($0)".contains("capacity changed"), "\($0)")
        }
        var bytes = try XCTUnwrap(FileManager.default.contents(atPath: path))
        bytes[100] ^= 0x40
        try bytes.write(to: URL(fileURLWithPath: path))
        XCTAssertThrowsError(try DedupeSnapshot.load(from: path, log: log, capacity: 1_000)) {
            XCTAssertTrue("\($0)".contains("checksum mismatch"), "\($0)")
        }
        XCTAssertThrowsError(try DedupeSnapshot.load(from: directory + "/none", log: log, capacity: 1_000))
        try log.close()
    }

    /// A log repaired below the snapshot's newest seq (or restored from an
    /// older backup) no longer holds some of its ids: using it would answer
    /// "duplicate" for events the log does not have.
    func testASnapshotNewerThanTheLogIsNotUsed() throws {
        let directory = makeTemporaryDirectory()
        var log = try EventLog.open(directory: directory + "/log")
        try append(log, events(200))
        let dropped = events(50)
        try append(log, dropped)
        let path = directory + "/dedupe.snapshot"
        try DedupeSnapshot.write(try DedupeWindow.load(from: log, capacity: 1_000), to: path)
        try log.close()
        _ = try EventLog.repair(directory: directory + "/log", truncateAfter: 200, now: 1_700_000_000_000_000)
        log = try EventLog.open(directory: directory + "/log")
        XCTAssertThrowsError(try DedupeSnapshot.load(from: path, log: log, capacity: 1_000)) {
            // The repair keeps lastSeq at the highest seq ever durable (250): the event check refuses it.
            XCTAssertTrue("\($0)".contains("seq 250 of the log is not the event the snapshot saw"), "\($0)")
        }
        // New events continue after the gap: seq 250 is still not the event the snapshot saw.
        try append(log, events(60))
        XCTAssertThrowsError(try DedupeSnapshot.load(from: path, log: log, capacity: 1_000)) {
            XCTAssertTrue("\($0)".contains("is not the event the snapshot saw"), "\($0)")
        }
        let rebuilt = try DedupeWindow.load(from: log, capacity: 1_000)
        XCTAssertNil(rebuilt.seq(of: dropped[0].id), "a given-up event is not a duplicate")
        try log.close()
    }
}
