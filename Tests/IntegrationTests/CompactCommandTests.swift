import Foundation
import TestSupport
import XCTest

/// `careerlog log compact`: killed (SIGKILL) while it recompresses, the log
/// is still whole; run again, it finishes; the events never change.
final class CompactCommandTests: XCTestCase {
    private func segmentBytes(_ dir: String) -> Int {
        ((try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? []).filter { $0.hasSuffix(".seg") }
            .reduce(0) { $0 + ((try? FileManager.default.attributesOfItem(atPath: dir + "/" + $1)[.size] as? Int) ?? 0) }
    }

    func testCompactKilledMidwayLeavesAValidLogAndTheSameEvents() throws {
        let dataDir = makeTemporaryDirectory()
        let history = try runCareerlog(["generate", "--users", "120", "--seed", "5"])
        XCTAssertEqual(history.status, 0, history.stderr)
        let imported = try runCareerlog(["log", "import", "--data-dir", dataDir, "--segment-mib", "1", "-"], input: Data(history.stdout.utf8))
        XCTAssertEqual(imported.status, 0, imported.stderr)
        let logDir = dataDir + "/log"
        let segments = try FileManager.default.contentsOfDirectory(atPath: logDir).filter { $0.hasSuffix(".seg") }
        XCTAssertGreaterThanOrEqual(segments.count, 3, "several sealed segments")
        let sizeBefore = segmentBytes(logDir)
        let before = try runCareerlog(["log", "dump", "--data-dir", dataDir])
        XCTAssertEqual(before.status, 0, before.stderr)

        // Killed while a recompressed segment is being written or checked.
        let process = Process()
        process.executableURL = URL(fileURLWithPath: try careerlogBinary())
        process.arguments = ["log", "compact", "--data-dir", dataDir]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        let leftover = { (try? FileManager.default.contentsOfDirectory(atPath: logDir))?.contains { $0.hasSuffix(".seg.recompress") } ?? false }
        XCTAssertTrue(waitUntil("compact writes a recompressed segment", timeout: .seconds(120)) { leftover() || !process.isRunning })
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
        XCTAssertEqual(process.terminationReason, .uncaughtSignal, "killed before it finished")
        XCTAssertTrue(leftover(), "killed while a recompressed segment was being written or checked")

        let verified = try runCareerlog(["log", "verify", "--data-dir", dataDir])
        XCTAssertEqual(verified.status, 0, verified.stderr)
        let afterKill = try runCareerlog(["log", "dump", "--data-dir", dataDir])
        XCTAssertTrue(afterKill.stdout == before.stdout, "the same events after the kill")

        let compacted = try runCareerlog(["log", "compact", "--data-dir", dataDir])
        XCTAssertEqual(compacted.status, 0, compacted.stderr)
        XCTAssertTrue(compacted.stdout.contains(", 0 left"), compacted.stdout)
        XCTAssertFalse(leftover(), "the leftover of the killed run is removed")
        let after = try runCareerlog(["log", "dump", "--data-dir", dataDir])
        XCTAssertTrue(after.stdout == before.stdout, "the same events, byte for byte, after recompression")
        XCTAssertEqual(try runCareerlog(["log", "verify", "--data-dir", dataDir]).status, 0)
        XCTAssertLessThan(segmentBytes(logDir), sizeBefore * 85 / 100, "sealed segments recompressed")
    }
}
