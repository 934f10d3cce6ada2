import CareerEvents
import Foundation
import TestSupport
import XCTest

/// The mistakes a newcomer makes in the first hour: each gets one clear
/// line naming the thing and what to do, the subcommand's own usage, and
/// the right exit status (64 for a usage error, as ArgumentParser's
/// validation errors; 1 for a failure; 3 for "not running").
final class NewUserErrorTests: XCTestCase {
    private func assertUsageError(_ arguments: [String], _ words: [String], usageOf command: String,
                                  file: StaticString = #filePath, line: UInt = #line) throws {
        let result = try runCareerlog(arguments)
        XCTAssertEqual(result.status, 64, "\(arguments): \(result.stderr)", file: file, line: line)
        for word in words {
            XCTAssertTrue(result.stderr.contains(word), "\(arguments): want \(word) in: \(result.stderr)", file: file, line: line)
        }
        XCTAssertTrue(result.stderr.contains("Usage: careerlog \(command)"), "\(arguments): not the subcommand's usage: \(result.stderr)", file: file, line: line)
    }

    func testVersion() throws {
        let result = try runCareerlog(["--version"])
        XCTAssertEqual(result.status, 0)
        XCTAssertEqual(result.stdout, "0.1.0\n")
    }

    func testPortInUseNamesTheAddressAndSuggestsListen() throws {
        let first = try ServeProcess(dataDirectory: makeTemporaryDirectory())
        defer { first.stop() }
        let second = try runCareerlog(["serve", "--data-dir", makeTemporaryDirectory(), "--listen", first.tcpAddress, "--no-socket", "--no-projector"])
        XCTAssertEqual(second.status, 1, second.stderr)
        XCTAssertTrue(second.stderr.contains("serve: cannot listen on \(first.tcpAddress): the address is already in use"), second.stderr)
        XCTAssertTrue(second.stderr.contains("--listen HOST:PORT"), second.stderr)
        XCTAssertFalse(second.stderr.contains("errno"), second.stderr)
    }

    func testEmitAndImportOfADirectoryOrMissingFileNameItWithTheirUsage() throws {
        let dir = makeTemporaryDirectory()
        try assertUsageError(["emit", dir], ["\(dir) is a directory"], usageOf: "emit")
        try assertUsageError(["log", "import", "--data-dir", dir + "/data", dir], ["\(dir) is a directory"], usageOf: "log import")
        try assertUsageError(["emit", dir + "/missing.ndjson"], ["cannot read \(dir)/missing.ndjson: No such file"], usageOf: "emit")
        try assertUsageError(["log", "import", "--data-dir", dir + "/data", dir + "/missing.ndjson"],
                             ["cannot read \(dir)/missing.ndjson: No such file"], usageOf: "log import")
    }

    func testRebuildWithoutANameSaysWhatToGive() throws {
        let result = try runCareerlog(["projections", "rebuild"])
        XCTAssertEqual(result.status, 64)
        XCTAssertTrue(result.stderr.contains("name the projection to rebuild"), result.stderr)
        XCTAssertTrue(result.stderr.contains("--all"), result.stderr)
        XCTAssertFalse(result.stderr.contains("not both"), result.stderr)
        try assertUsageError(["projections", "rebuild", "people", "--all"], ["not both"], usageOf: "projections rebuild")
    }

    func testGenerateWithANegativeCountNamesTheRange() throws {
        try assertUsageError(["generate", "--users", "-5"], ["--users must be between 1 and 10000000, got -5"], usageOf: "generate")
        try assertUsageError(["generate", "--months", "-1"], ["--months must be between 1 and 240, got -1"], usageOf: "generate")
    }

    func testDataDirectoryThatIsAFileIsNamed() throws {
        let file = makeTemporaryDirectory() + "/a-file"
        XCTAssertTrue(FileManager.default.createFile(atPath: file, contents: Data("x".utf8)))
        for command in [["db", "start"], ["db", "stop"], ["db", "status"], ["log", "stats"]] {
            try assertUsageError(command + ["--data-dir", file], ["--data-dir \(file) is a file, not a directory"], usageOf: command.joined(separator: " "))
        }
    }

    func testAnalyticsFiltersAreValidatedAlikeAndOnlyListedWhereTheyWork() throws {
        try assertUsageError(["analytics", "funnel", "--month", "2025-13"], ["--month must be a month YYYY-MM (01 to 12), got 2025-13"], usageOf: "analytics funnel")
        try assertUsageError(["analytics", "velocity", "--month", "2025-1"], ["--month must be a month YYYY-MM"], usageOf: "analytics velocity")
        try assertUsageError(["analytics", "uplift", "--cohort", "2025-13"], ["--cohort must be a month YYYY-MM"], usageOf: "analytics uplift")
        for (figure, option) in [("mentorship", "--cohort"), ("funnel", "--cohort"), ("funnel", "--program")] {
            let help = try runCareerlog(["analytics", figure, "--help"]).stdout
            XCTAssertFalse(help.contains(option), "\(figure) lists \(option): \(help)")
            try assertUsageError(["analytics", figure, option, "2024-01"], ["Unknown option '\(option)'"], usageOf: "analytics \(figure)")
        }
        // The per-cohort figures are also per programme (analytics version 3).
        for figure in ["placement", "time-to-placement", "uplift"] {
            let help = try runCareerlog(["analytics", figure, "--help"]).stdout
            XCTAssertTrue(help.contains("--program"), "\(figure) does not list --program: \(help)")
        }
    }

    func testDbCommandsOnADirectoryWithoutAClusterSaySo() throws {
        let dir = makeTemporaryDirectory()
        for command in ["url", "stop", "status"] {
            let result = try runCareerlog(["db", command, "--data-dir", dir])
            XCTAssertEqual(result.status, command == "status" ? 3 : 1, "\(command): \(result.stderr)")
            XCTAssertTrue(result.stderr.contains("no PostgreSQL cluster in \(dir)/postgres"), "\(command): \(result.stderr)")
            XCTAssertFalse(result.stdout.contains("stopped"), "\(command): \(result.stdout)")
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir + "/postgres"), "asking must not create a cluster")
    }

    func testDbURLAndStatusHonourTheConfiguredDatabase() throws {
        let url = "postgresql://nobody@/nothing?host=/nonexistent-socket-dir"
        let printed = try runCareerlog(["db", "url", "--database-url", url])
        XCTAssertEqual(printed.status, 0)
        XCTAssertEqual(printed.stdout, url + "\n")
        XCTAssertEqual(try runCareerlog(["db", "url"], environment: ["DATABASE_URL": url]).stdout, url + "\n")
        let status = try runCareerlog(["db", "status"], environment: ["DATABASE_URL": url])
        XCTAssertEqual(status.status, 3, status.stdout + status.stderr)
        XCTAssertTrue(status.stdout.hasPrefix("unreachable (--database-url or DATABASE_URL)"), status.stdout)
    }

    func testLogVerifyAndStatsReadNaturally() throws {
        let dir = makeTemporaryDirectory()
        XCTAssertEqual(try runCareerlog(["log", "import", "--data-dir", dir], input: Data()).status, 0)
        let empty = try runCareerlog(["log", "stats", "--data-dir", dir])
        XCTAssertTrue(empty.stdout.contains("compression_ratio  -\n"), empty.stdout)
        XCTAssertTrue(try runCareerlog(["log", "stats", "--data-dir", dir, "--json"]).stdout.contains(#""compression_ratio":null"#))
        let generated = try runCareerlog(["generate", "--users", "1", "--seed", "3"])
        XCTAssertEqual(try runCareerlog(["log", "import", "--data-dir", dir], input: Data(generated.stdout.utf8)).status, 0)
        let verify = try runCareerlog(["log", "verify", "--data-dir", dir])
        XCTAssertEqual(verify.status, 0, verify.stderr)
        XCTAssertTrue(verify.stdout.contains(" in 1 frame, 1 segment, "), verify.stdout)
        XCTAssertTrue(try runCareerlog(["log", "stats", "--data-dir", dir]).stdout.contains("compression_ratio  "))
    }

    func testProjectionsListIsAnAlignedTable() throws {
        let lines = try runCareerlog(["projections", "list"]).stdout.split(separator: "\n").map(String.init)
        XCTAssertGreaterThan(lines.count, 3)
        XCTAssertTrue(lines[0].hasPrefix("projection"), lines[0])
        let fingerprintColumn = lines[0].range(of: "fingerprint")!.lowerBound.utf16Offset(in: lines[0])
        for line in lines.dropFirst() {
            let fingerprint = String(line.dropFirst(fingerprintColumn))
            XCTAssertEqual(fingerprint.count, 8, line)
            XCTAssertTrue(fingerprint.allSatisfy(\.isHexDigit), line)
        }
    }
}
