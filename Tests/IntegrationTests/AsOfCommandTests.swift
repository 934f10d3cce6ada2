import Foundation
import Postgres
import TestSupport
import XCTest

/// `replay --as-of-seq N --into PREFIX` must equal the read models of a fresh
/// log holding only the first N events.
final class AsOfCommandTests: XCTestCase {
    func testAsOfSeqEqualsAFreshLogOfThoseEvents() throws {
        let full = makeTemporaryDirectory()
        let partial = makeTemporaryDirectory()
        defer {
            _ = try? runCareerlog(["db", "stop", "--data-dir", full])
            _ = try? runCareerlog(["db", "stop", "--data-dir", partial])
        }
        // Started here, so the commands below leave the clusters running for the checks.
        XCTAssertEqual(try runCareerlog(["db", "start", "--data-dir", full]).status, 0)
        XCTAssertEqual(try runCareerlog(["db", "start", "--data-dir", partial]).status, 0)
        let generated = try runCareerlog(["generate", "--users", "60", "--seed", "5"])
        let lines = generated.stdout.split(separator: "\n", omittingEmptySubsequences: true)
        let cut = lines.count * 2 / 3
        XCTAssertEqual(try runCareerlog(["log", "import", "--data-dir", full], input: Data(generated.stdout.utf8)).status, 0)
        let head = lines[0..<cut].joined(separator: "\n") + "\n"
        XCTAssertEqual(try runCareerlog(["log", "import", "--data-dir", partial], input: Data(head.utf8)).status, 0)

        let asOf = try runCareerlog(["replay", "--data-dir", full, "--as-of-seq", String(cut), "--into", "past"])
        XCTAssertEqual(asOf.status, 0, asOf.stderr)
        let fresh = try runCareerlog(["projections", "rebuild", "--all", "--data-dir", partial])
        XCTAssertEqual(fresh.status, 0, fresh.stderr)

        let projections = try runCareerlog(["projections", "list"]).stdout.split(separator: "\n").dropFirst().map { String($0.split(separator: " ")[0]) }
        XCTAssertGreaterThan(projections.count, 3)
        let fullURL = try runCareerlog(["db", "url", "--data-dir", full]).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        let partialURL = try runCareerlog(["db", "url", "--data-dir", partial]).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        // Nothing the builds made outlives them but their schemas (no batch
        // table holding a copy of the events).
        for url in [fullURL, partialURL] {
            let tables = try PostgresConnection(url: url).query("SELECT tablename FROM pg_tables WHERE schemaname = 'careerlog' ORDER BY 1")
            XCTAssertEqual(tables.map { $0[0] }, ["analyst_roles", "projection_targets"], url)
        }
        let past = try tableDigests(PostgresConnection(url: fullURL), schemas: projections.map { ($0, "past_\($0)") })
        let expected = try tableDigests(PostgresConnection(url: partialURL), schemas: projections.map { ($0, $0) })
        XCTAssertEqual(past.keys.sorted(), expected.keys.sorted())
        for key in expected.keys.sorted() { XCTAssertEqual(past[key], expected[key], key) }

        // Listed by status, removable by drop; the live schemas are untouched.
        let status = try runCareerlog(["projections", "status", "--data-dir", full])
        XCTAssertTrue(status.stdout.contains("past_"), status.stdout)
        XCTAssertEqual(try runCareerlog(["projections", "drop", "--data-dir", full, "past_\(projections[0])"]).status, 0)
    }
}
