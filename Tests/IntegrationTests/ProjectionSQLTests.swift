import Foundation
import XCTest

/// The read models' SQL against a real PostgreSQL through
/// Tools/projection-sql-check.py: hand-written events with their expected
/// rows, out-of-order and repeated keys, erasure then PII; and on a
/// generated history, the same tables whatever the batch boundaries (one
/// batch, random splits, one event per batch, every batch applied twice).
final class ProjectionSQLTests: XCTestCase {
    private func runCheck(_ arguments: [String]) throws -> CommandResult {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", packageRoot + "/Tools/projection-sql-check.py"] + arguments
        let out = Pipe()
        process.standardOutput = out
        process.standardError = out
        try process.run()
        let text = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        return CommandResult(status: process.terminationStatus, stdout: text, stderr: "")
    }

    func testHandWrittenEventsGiveTheExpectedRowsWhateverTheBatches() throws {
        let dir = makeTemporaryDirectory()
        XCTAssertEqual(try runCareerlog(["db", "start", "--data-dir", dir]).status, 0)
        defer { _ = try? runCareerlog(["db", "stop", "--data-dir", dir]) }
        let url = try runCareerlog(["db", "url", "--data-dir", dir]).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        let check = try runCheck(["--db", url, "--adversarial", "--runs", "4"])
        XCTAssertEqual(check.status, 0, check.stdout)
        XCTAssertTrue(check.stdout.contains("PASS"), check.stdout)
        XCTAssertFalse(check.stdout.contains("FAIL"), check.stdout)
    }

    func testGeneratedHistoryGivesTheSameTablesWhateverTheBatches() throws {
        let dir = makeTemporaryDirectory()
        let generated = try runCareerlog(["generate", "--users", "40", "--seed", "9"])
        XCTAssertEqual(try runCareerlog(["log", "import", "--data-dir", dir], input: Data(generated.stdout.utf8)).status, 0)
        let dump = dir + "/dump.ndjson"
        FileManager.default.createFile(atPath: dump, contents: Data(try runCareerlog(["log", "dump", "--data-dir", dir]).stdout.utf8))
        XCTAssertEqual(try runCareerlog(["db", "start", "--data-dir", dir]).status, 0)
        defer { _ = try? runCareerlog(["db", "stop", "--data-dir", dir]) }
        let url = try runCareerlog(["db", "url", "--data-dir", dir]).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        let check = try runCheck(["--db", url, dump, "--runs", "2", "--singles", "400"])
        XCTAssertEqual(check.status, 0, check.stdout)
        XCTAssertTrue(check.stdout.contains("PASS"), check.stdout)
    }
}
