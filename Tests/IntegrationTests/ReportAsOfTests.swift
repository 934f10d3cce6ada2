import Foundation
import Postgres
import TestSupport
import XCTest

/// `careerlog report --html FILE --as-of T` inlines exactly the figures
/// `careerlog analytics --format json` prints from an as-of copy built for
/// the same moment, and leaves no schema of its own behind.
final class ReportAsOfTests: XCTestCase {
    private func placementDocument(_ dir: String, schema: String) throws -> String {
        let result = try runCareerlog(["analytics", "placement", "--format", "json", "--schema", schema, "--data-dir", dir])
        XCTAssertEqual(result.status, 0, result.stderr)
        return result.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    func testReportAsOfInlinesTheAsOfFiguresAndDropsItsSchemas() throws {
        let dir = makeTemporaryDirectory()
        defer { _ = try? runCareerlog(["db", "stop", "--data-dir", dir]) }
        XCTAssertEqual(try runCareerlog(["db", "start", "--data-dir", dir]).status, 0)
        let generated = try runCareerlog(["generate", "--users", "60", "--seed", "5"])
        XCTAssertEqual(try runCareerlog(["log", "import", "--data-dir", dir], input: Data(generated.stdout.utf8)).status, 0)

        let moment = "2024-06-30"
        XCTAssertEqual(try runCareerlog(["replay", "--data-dir", dir, "--as-of", moment, "--into", "mid"]).status, 0)
        XCTAssertEqual(try runCareerlog(["replay", "--data-dir", dir, "--as-of", "2099-12-31", "--into", "whole"]).status, 0)
        let expected = try placementDocument(dir, schema: "mid_analytics")
        let whole = try placementDocument(dir, schema: "whole_analytics")
        XCTAssertNotEqual(expected, whole, "the history must change after the moment, or the test proves nothing")

        let path = dir + "/q2.html"
        let report = try runCareerlog(["report", "--html", path, "--as-of", moment, "--data-dir", dir])
        XCTAssertEqual(report.status, 0, report.stderr)
        let page = try String(contentsOfFile: path, encoding: .utf8)
        let inlined = #""placement":"# + expected.replacingOccurrences(of: "<", with: "\\u003c")
        XCTAssertTrue(page.contains(inlined), "the report does not inline the as-of placement figures")
        XCTAssertFalse(page.contains(#""placement":"# + whole.replacingOccurrences(of: "<", with: "\\u003c")))

        let url = try runCareerlog(["db", "url", "--data-dir", dir]).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        let left = try PostgresConnection(url: url).query("SELECT nspname FROM pg_namespace WHERE nspname LIKE 'report\\_%' ORDER BY 1")
        XCTAssertEqual(left.map { $0[0] }, [], "report --as-of left its schemas behind")
        let targets = try PostgresConnection(url: url).query("SELECT count(*) FROM careerlog.projection_targets WHERE schema_name LIKE 'report\\_%'")
        XCTAssertEqual(targets.first?[0], "0")
    }

    func testReportAsOfRefusesASchemaAndABadTime() throws {
        let dir = makeTemporaryDirectory()
        let both = try runCareerlog(["report", "--html", dir + "/x.html", "--as-of", "2024-06-30", "--schema", "mid_analytics", "--data-dir", dir])
        XCTAssertNotEqual(both.status, 0)
        XCTAssertTrue(both.stderr.contains("--as-of builds its own schema"), both.stderr)
        let bad = try runCareerlog(["report", "--html", dir + "/x.html", "--as-of", "last tuesday", "--data-dir", dir])
        XCTAssertNotEqual(bad.status, 0)
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir + "/x.html"))
    }
}
