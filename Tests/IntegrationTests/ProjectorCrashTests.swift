import Foundation
import Postgres
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
        for _ in 0..<iterations {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: try careerlogBinary())
            process.arguments = ["project", "--data-dir", dir, "--batch-events", "700"]
            var env = ProcessInfo.processInfo.environment
            env["CAREERLOG_PROJECTIONS_DIR"] = packageRoot + "/Projections"
            process.environment = env
            process.standardError = FileHandle.nullDevice
            try process.run()
            usleep(UInt32.random(in: 200_000...1_500_000, using: &random))
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
        }
        // Let it finish, then stop it politely.
        let process = Process()
        process.executableURL = URL(fileURLWithPath: try careerlogBinary())
        process.arguments = ["project", "--data-dir", dir]
        process.standardError = FileHandle.nullDevice
        try process.run()
        let deadline = Date().addingTimeInterval(120)
        while Date() < deadline, try statusLag(dir).values.contains(where: { $0 != 0 }) || statusLag(dir).isEmpty { usleep(200_000) }
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
