@testable import EventLog
import XCTest

/// The lines `careerlog log import/verify/repair` print about what
/// recovery, verify and repair did, exactly as the command line shows them.
final class LogReportsTests: XCTestCase {
    func testRecoveryNamesEachCutAndEachRebuiltIndex() {
        var report = RecoveryReport()
        report.truncations = [
            .init(file: "log/1.seg", offset: 4096, bytes: 17, savedAs: "log/1.seg.torn-4096", reason: "bad CRC"),
            .init(file: "log/2.seg", offset: 64, bytes: 3, savedAs: nil, reason: "short frame"),
        ]
        report.indexesRebuilt = ["log/2.idx"]
        XCTAssertEqual(report.lines, [
            "recovery: cut a torn tail of 17 bytes at offset 4096 of log/1.seg (bad CRC); the bytes are kept in log/1.seg.torn-4096",
            "recovery: cut a torn tail of 3 bytes at offset 64 of log/2.seg (short frame); the bytes were not kept: no space left on the device",
            "recovery: rebuilt index log/2.idx",
        ])
        XCTAssertEqual(RecoveryReport().lines, [])
    }

    func testVerifyCountsInTheSingularAndThePlural() {
        var one = VerifySummary()
        (one.segments, one.frames, one.events, one.bytes, one.lastSeq) = (1, 1, 1, 1, 1)
        XCTAssertEqual(one.lines(seconds: 2),
                       ["ok: 1 event (seq 1...1) in 1 frame, 1 segment, 1 byte; verified in 2.00 s"])

        var many = VerifySummary()
        (many.segments, many.frames, many.events, many.bytes, many.lastSeq) = (2, 30, 400, 5000, 405)
        many.gaps = [SeqGap(after: 300, next: 306)]
        many.tornTails = [.init(file: "log/2.seg", offset: 99, bytes: 12, savedAs: nil, reason: "past the durable mark")]
        XCTAssertEqual(many.lines(seconds: 1.5), [
            "ok: 400 events (seq 1...405) in 30 frames, 2 segments, 5000 bytes; verified in 1.50 s",
            "gap: seqs 301...305 were given up by a recorded repair (REPAIRS)",
            "torn tail: 12 bytes at offset 99 of log/2.seg were never durable (past the durable mark); the next open cuts them and keeps them as -",
        ])
    }

    func testRepairAndFailureLines() {
        var report = RepairReport()
        (report.truncateAfter, report.nextSeq, report.bytesCut) = (300, 306, 512)
        report.savedAs = ["log/1.seg.broken-4096", "log/2.seg.broken-0"]
        XCTAssertEqual(report.lines, [
            "repaired: kept seqs up to 300, cut 512 bytes, next seq 306",
            "  kept aside: log/1.seg.broken-4096",
            "  kept aside: log/2.seg.broken-0",
        ])
        XCTAssertEqual(LogError(.corruption, "bad frame", file: "log/1.seg", offset: 4096).failureLines("verify"),
                       ["verify failed: bad frame", "  file: log/1.seg", "  offset: 4096"])
        XCTAssertEqual(LogError(.io, "no such directory").failureLines("repair"), ["repair failed: no such directory"])
    }
}
