import Foundation
import Postgres
import TestSupport
import XCTest

/// Kills a real `careerlog project` process at random moments, lets it
/// finish, and compares a digest of every read model table with a clean
/// rebuild: no event's effect lost or doubled.
/// CAREERLOG_PROJECTOR_CRASH_ITERATIONS sets the number of kills.
final class ProjectorCrashTests: XCTestCase {
    private func statusLag(_ dir: String) throws -> [String: Int] {
        let status = try runCareerlog(["projections", "status", "--json", "--data-dir", dir])
        var lags: [String: Int] = [:]
        for line in status.stdout.split(separator: "\n") {
            let object = try JSONSerialization.jsonObject(with: Data(line.utf8)) as! [String: Any]
            if object["role"] as? String == "live" { lags[object["projection"] as! String] = object["lag_events"] as? Int }
        }
        return lags
    }

    /// Starts `careerlog` with these arguments, its stderr discarded.
    private func startCareerlog(_ arguments: [String]) throws -> Process {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: try careerlogBinary())
        process.arguments = arguments
        var env = ProcessInfo.processInfo.environment
        env["CAREERLOG_PROJECTIONS_DIR"] = packageRoot + "/Projections"
        process.environment = env
        process.standardError = FileHandle.nullDevice
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        return process
    }

    /// Polls `condition` every 50 ms for up to 120 s (a loaded machine runs
    /// several PostgreSQL clusters and builds at once).
    private func waitFor(_ what: String, _ condition: () throws -> Bool) throws {
        guard try waitUntil(what, timeout: .seconds(120), condition) else { throw CancellationError() }
    }

    func testKilledRebuildLeavesNothingAfterTheNextStart() throws {
        let dir = makeTemporaryDirectory()
        let generated = try runCareerlog(["generate", "--users", "300", "--seed", "12"])
        XCTAssertEqual(try runCareerlog(["log", "import", "--data-dir", dir], input: Data(generated.stdout.utf8)).status, 0)
        XCTAssertEqual(try runCareerlog(["db", "start", "--data-dir", dir]).status, 0)
        defer { _ = try? runCareerlog(["db", "stop", "--data-dir", dir]) }
        let url = try runCareerlog(["db", "url", "--data-dir", dir]).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        let c = try PostgresConnection(url: url)
        func careerlogTables() throws -> [String] {
            try c.query("SELECT tablename FROM pg_tables WHERE schemaname = 'careerlog' ORDER BY 1").map { $0[0]! }
        }
        func shadowSchemas() throws -> [String] {
            try c.query("SELECT nspname FROM pg_namespace WHERE nspname LIKE '%\\_\\_rebuild' ORDER BY 1").map { $0[0]! }
        }
        let rebuild = try startCareerlog(["projections", "rebuild", "--all", "--data-dir", dir])
        // Killed while it has its batch table (a copy of the events) and shadow schemas.
        try waitFor("the rebuild's batch table") { try careerlogTables().contains { $0.hasPrefix("rebuild_batch_") } }
        kill(rebuild.processIdentifier, SIGKILL)
        rebuild.waitUntilExit()
        XCTAssertFalse(try shadowSchemas().isEmpty)
        // PostgreSQL ends the killed process's backends when it notices.
        try waitFor("the killed rebuild's backends to end") {
            try c.query("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND backend_type = 'client backend' AND pid <> pg_backend_pid()").first?[0] == "0"
        }
        let status = try runCareerlog(["projections", "status", "--data-dir", dir])
        XCTAssertEqual(status.status, 0, status.stderr)
        XCTAssertEqual(try careerlogTables(), ["analyst_roles", "projection_targets"])
        XCTAssertEqual(try shadowSchemas(), [])
        XCTAssertFalse(status.stdout.contains("__rebuild"), status.stdout)
    }

    func testKilledProjectorEqualsACleanRebuild() throws {
        let iterations = sizeParameter("CAREERLOG_PROJECTOR_CRASH_ITERATIONS", default: 4)
        let dir = makeTemporaryDirectory()
        let generated = try runCareerlog(["generate", "--users", "120", "--seed", "11"])
        XCTAssertEqual(try runCareerlog(["log", "import", "--data-dir", dir], input: Data(generated.stdout.utf8)).status, 0)
        let url = try runCareerlog(["db", "start", "--data-dir", dir])
        XCTAssertEqual(url.status, 0, url.stderr)
        defer { _ = try? runCareerlog(["db", "stop", "--data-dir", dir]) }
        let databaseURL = try runCareerlog(["db", "url", "--data-dir", dir]).stdout.trimmingCharacters(in: .whitespacesAndNewlines)

        var random = SystemRandomNumberGenerator()
        // Before the first run every projection is missing: lag = head each.
        var lagBefore = try statusLag(dir).values.reduce(0, +)
        for _ in 0..<iterations {
            let process = try startCareerlog(["project", "--data-dir", dir, "--batch-events", "700"])
            // Kill once this run has applied something (or everything is
            // applied already), a random moment into its next batches.
            try waitFor("the projector to make progress") {
                let lag = try statusLag(dir).values.reduce(0, +)
                return lag == 0 || lag < lagBefore
            }
            usleep(UInt32.random(in: 0...300_000, using: &random))  // the kill point, not a wait for anything
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
            lagBefore = try statusLag(dir).values.reduce(0, +)
        }
        // Let it finish, then stop it politely.
        let process = try startCareerlog(["project", "--data-dir", dir])
        try waitFor("the projector to catch up") {
            let lags = try statusLag(dir)
            return !lags.isEmpty && lags.values.allSatisfy { $0 == 0 }
        }
        kill(process.processIdentifier, SIGTERM)
        process.waitUntilExit()
        let lags = try statusLag(dir)
        XCTAssertFalse(lags.isEmpty)
        XCTAssertTrue(lags.values.allSatisfy { $0 == 0 }, "not caught up: \(lags)")

        let c = try PostgresConnection(url: databaseURL)
        let schemas = lags.keys.sorted()
        let afterKills = try tableDigests(c, schemas: schemas.map { ($0, $0) })
        let rebuild = try runCareerlog(["projections", "rebuild", "--all", "--data-dir", dir])
        XCTAssertEqual(rebuild.status, 0, rebuild.stderr)
        let clean = try tableDigests(c, schemas: schemas.map { ($0, $0) })
        XCTAssertEqual(afterKills.keys.sorted(), clean.keys.sorted())
        for key in clean.keys.sorted() {
            XCTAssertEqual(afterKills[key], clean[key], "table \(key) differs from a clean rebuild")
        }
        XCTAssertGreaterThan(clean.count, 10, "expected the read model tables: \(clean.keys.sorted())")
    }
}
