import CareerEvents
import Foundation
import Postgres
import TestSupport
import XCTest

/// `careerlog projections status --json` as an operator's script reads it.
final class ProjectionsStatusTests: XCTestCase {
    /// A failure reason can hold anything PostgreSQL or the projector wrote
    /// (newlines, tabs, other controls, quotes, backslashes, U+2028): every
    /// line must still be JSON a strict parser accepts, and give the reason
    /// back unchanged.
    func testStatusJSONCarriesControlCharactersInTheFailureReason() throws {
        let dir = makeTemporaryDirectory()
        addTeardownBlock {
            _ = try? runCareerlog(["db", "stop", "--data-dir", dir])
            try? FileManager.default.removeItem(atPath: dir)
        }
        // Started here, so `projections status` leaves it running for the checks.
        XCTAssertEqual(try runCareerlog(["db", "start", "--data-dir", dir]).status, 0)
        let generated = try runCareerlog(["generate", "--users", "2", "--seed", "5"])
        XCTAssertEqual(try runCareerlog(["log", "import", "--data-dir", dir], input: Data(generated.stdout.utf8)).status, 0)
        // The first status creates the bookkeeping table.
        XCTAssertEqual(try runCareerlog(["projections", "status", "--data-dir", dir, "--json"]).status, 0)
        let url = try runCareerlog(["db", "url", "--data-dir", dir]).stdout.trimmingCharacters(in: .whitespacesAndNewlines)

        let reason = "line one\nline two\ttab \u{01}\u{1F}\u{7F} \"quoted\" back\\slash \u{2028} é"
        let connection = try PostgresConnection(url: url)
        _ = try connection.query("""
            INSERT INTO careerlog.projection_targets (schema_name, projection, role, version, fingerprint, state, failed_seq, failed_reason)
            VALUES ('broken_people', 'people', 'as_of', 1, 'x', 'failed', 7, $1)
            """, [reason])

        let status = try runCareerlog(["projections", "status", "--data-dir", dir, "--json"])
        XCTAssertEqual(status.status, 0, status.stderr)
        var found: JSONObject?
        for line in status.stdout.split(separator: "\n") {
            let value = try JSONParser.parse(String(line))
            guard case .object(let object) = value else { return XCTFail("not an object: \(line)") }
            if object["schema"] == .string("broken_people") { found = object }
        }
        let row = try XCTUnwrap(found, status.stdout)
        XCTAssertEqual(row["failed_reason"], .string(reason))
        XCTAssertEqual(row["failed_seq"], .number(JSONNumber(7)))
        XCTAssertEqual(row["state"], .string("failed"))
    }

    /// A finished as-of build reads `as-of`, not `live`; events/s is the
    /// latest batch's rate only while it is recent, 0 once idle.
    func testAsOfStateAndRecentRate() throws {
        let dir = makeTemporaryDirectory()
        addTeardownBlock {
            _ = try? runCareerlog(["db", "stop", "--data-dir", dir])
            try? FileManager.default.removeItem(atPath: dir)
        }
        XCTAssertEqual(try runCareerlog(["db", "start", "--data-dir", dir]).status, 0)
        XCTAssertEqual(try runCareerlog(["log", "import", "--data-dir", dir], input: Data()).status, 0)
        XCTAssertEqual(try runCareerlog(["projections", "status", "--data-dir", dir, "--json"]).status, 0)
        let url = try runCareerlog(["db", "url", "--data-dir", dir]).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        _ = try PostgresConnection(url: url).query("""
            INSERT INTO careerlog.projection_targets (schema_name, projection, role, version, fingerprint, state, events_per_second, updated_at)
            VALUES ('june_people', 'people', 'as_of', 1, 'x', 'live', 900, now() - interval '1 minute'),
                   ('people', 'people', 'live', 1, 'x', 'live', 700, now())
            """)
        let status = try runCareerlog(["projections", "status", "--data-dir", dir, "--json"])
        XCTAssertEqual(status.status, 0, status.stderr)
        var rows: [String: JSONObject] = [:]
        for line in status.stdout.split(separator: "\n") {
            guard case .object(let object) = try JSONParser.parse(String(line)), case .string(let schema)? = object["schema"] else { continue }
            rows[schema] = object
        }
        XCTAssertEqual(rows["june_people"]?["state"], .string("as-of"))
        XCTAssertEqual(rows["june_people"]?["events_per_second"], .number(JSONNumber(0)), "idle for a minute: 0")
        XCTAssertEqual(rows["people"]?["state"], .string("stale"), "another fingerprint")
        XCTAssertEqual(rows["people"]?["events_per_second"], .number(JSONNumber(700)), "updated now: the batch's rate")
    }
}
