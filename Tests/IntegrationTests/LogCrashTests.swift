import EventLog
import Foundation
import TestSupport
import XCTest

/// Kills a real appender process at random moments and checks that every
/// seq it reported as synced survived, and that the log verifies.
/// CAREERLOG_CRASH_ITERATIONS sets the number of kills (CI: a few; the
/// 1,000-kill run in BENCHMARKS.md uses the same test).
final class LogCrashTests: XCTestCase {
    func testSIGKILLDuringAppendsLosesNoSyncedEvent() throws {
        let iterations = sizeParameter("CAREERLOG_CRASH_ITERATIONS", default: 6)
        let dir = makeTemporaryDirectory()
        let binary = try careerlogBenchBinary()
        var random = SystemRandomNumberGenerator()
        var highestSynced: UInt64 = 0
        var checkedThrough: UInt64 = 0
        let limits = LogLimits(segmentBytesMax: 256 << 10)
        let fullVerifyEvery = 25
        for iteration in 0..<iterations {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: binary)
            process.arguments = ["debug", "append-loop", "--directory", dir, "--seed", String(iteration + 1),
                                 "--segment-bytes", String(256 << 10)]
            let pipe = Pipe()
            process.standardOutput = pipe
            try process.run()
            // Let it run between 20 ms and 400 ms, then SIGKILL.
            usleep(UInt32.random(in: 20_000...400_000, using: &random))
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
            let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            // Only complete lines count: a line cut by the kill was not yet "said".
            let lines = output.split(separator: "\n", omittingEmptySubsequences: false).dropLast()
            for line in lines where line.hasPrefix("synced ") {
                highestSynced = max(highestSynced, UInt64(line.dropFirst(7))!)
            }

            let log = try EventLog.open(directory: dir, limits: limits)
            XCTAssertGreaterThanOrEqual(log.lastSeq, highestSynced, "iteration \(iteration): a synced event was lost")
            // Read what this round added (earlier rounds were read already), so a
            // 1,000-round run stays linear in the log's size.
            let reader = log.reader(fromSeq: checkedThrough + 1)
            var expected = checkedThrough + 1
            while let record = try reader.next() {
                XCTAssertEqual(record.seq, expected, "iteration \(iteration): seqs are not contiguous")
                expected += 1
            }
            XCTAssertEqual(expected - 1, log.lastSeq)
            highestSynced = log.lastSeq
            checkedThrough = log.lastSeq
            try log.close()
            // The whole log, checksums and index included, every few rounds and after the last.
            if iteration % fullVerifyEvery == fullVerifyEvery - 1 || iteration == iterations - 1 {
                let summary = try EventLog.verify(directory: dir, limits: limits)
                XCTAssertEqual(summary.lastSeq, highestSynced)
                FileHandle.standardError.write(Data("log crash test: \(iteration + 1)/\(iterations) kills, \(highestSynced) events, verified\n".utf8))
            }
        }
        XCTAssertGreaterThan(highestSynced, 0, "the child never synced anything")
    }
}
